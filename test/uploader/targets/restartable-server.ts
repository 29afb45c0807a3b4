/**
 * What the FTP and SFTP test servers show their tests: the port (kept across restarts), the
 * logins accepted so far, and stop/start on the same port.
 */
export interface RestartableServer {
  readonly port: number;
  /** Logins accepted since the first start (all restarts). */
  readonly logins: number;
  stop(): Promise<void>;
  /** Starts again on the same port after stop(). */
  start(): Promise<void>;
}

/** The handle over a server's live `state`, which its start() and login handler update. */
export function restartableServer(state: { port: number; logins: number }, start: () => Promise<void>, stop: () => Promise<void>): RestartableServer {
  return {
    get port() {
      return state.port;
    },
    get logins() {
      return state.logins;
    },
    stop,
    start,
  };
}
