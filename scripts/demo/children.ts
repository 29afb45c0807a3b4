/** Child processes of the demo: started with a name, stopped with a deadline, never left behind. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
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

/**
 * The port a child daemon reports in its JSON log line `message` (an `address` field
 * host:port), once it listens on the port the OS gave it (it was started with port 0).
 */
export function loggedPort(child: Child, message: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let partial = '';
    const stderr = child.process.stderr!;
    const done = (result: number | Error): void => {
      clearTimeout(timer);
      stderr.removeListener('data', onData);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const timer = setTimeout(() => done(new Error(`${child.name} did not log "${message}" within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (!line.includes(`"${message}"`)) continue;
        const address = String((JSON.parse(line) as { address?: unknown }).address);
        const port = Number(address.slice(address.lastIndexOf(':') + 1));
        if (port > 0) return done(port);
      }
    };
    stderr.on('data', onData);
    void child.exited.then((code) => done(new Error(`${child.name} exited (${code}) before it was listening`)));
  });
}

/** Whether `port` on 127.0.0.1 can be listened on right now. */
export async function portIsFree(port: number): Promise<boolean> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
