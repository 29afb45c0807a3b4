/** Child processes of the demo: started with a name, stopped with a deadline, never left behind. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';

export interface Child {
  name: string;
  process: ChildProcess;
  /** Resolves with the exit code (or signal name) when the process has exited. */
  exited: Promise<number | string>;
}

/** Every child carries this variable, so a leftover process of a demo run can be found. */
export const DEMO_MARK_VARIABLE = 'HLSRELAY_DEMO_RUN';

export function startChild(name: string, command: string, args: string[], options: SpawnOptions & { mark: string }): Child {
  // Each child in its own process group: Ctrl-C in the terminal reaches only the demo, which
  // stops the children in order (source, segmenters, uploader) so the last segment is published.
  const proc = spawn(command, args, { ...options, detached: true, env: { ...(options.env ?? process.env), [DEMO_MARK_VARIABLE]: options.mark } });
  const exited = new Promise<number | string>((resolve) => {
    proc.once('error', (err) => {
      process.stderr.write(`${name}: could not start ${command}: ${err.message}\n`);
      resolve('error');
    });
    proc.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  return { name, process: proc, exited };
}

/**
 * Sends `signal` (at once, or after `waitMs` if the child has not exited by itself by then),
 * then SIGKILL if the child is still there `graceMs` later.
 */
export async function stopChild(child: Child, signal: NodeJS.Signals, graceMs: number, waitMs = 0): Promise<number | string> {
  const running = () => child.process.exitCode === null && child.process.signalCode === null;
  const signalTimer = setTimeout(() => running() && child.process.kill(signal), waitMs);
  const killTimer = setTimeout(() => child.process.kill('SIGKILL'), waitMs + graceMs);
  try {
    return await child.exited;
  } finally {
    clearTimeout(signalTimer);
    clearTimeout(killTimer);
  }
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Whether `port` on 127.0.0.1 can be listened on right now. */
export async function portIsFree(port: number): Promise<boolean> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Waits until something accepts TCP connections on host:port. */
export async function waitForPort(host: string, port: number, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (!alive()) throw new Error(`the process meant to listen on ${host}:${port} has exited`);
    if (Date.now() > deadline) throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
