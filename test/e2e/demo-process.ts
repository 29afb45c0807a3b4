/** Starts `npm run demo` (its script, through ts-node) for the player tests, and stops it like Ctrl-C. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../support/paths';
import { tempDir } from '../support/temp-dir';

export interface RunningDemo {
  process: ChildProcess;
  dataDir: string;
  pageUrl: string;
  /** The master playlist every rendition joins. */
  masterUrl: string;
  playlistUrls: string[];
  output: () => string;
  /** Ctrl-C (SIGINT to the process group), then the exit code. */
  interrupt(): Promise<number | null>;
}

export async function startDemo(extraArgs: string[] = []): Promise<RunningDemo> {
  const dataDir = tempDir('demo');
  const tsNode = path.join(ROOT, 'node_modules/.bin/ts-node');
  const child = spawn(tsNode, ['--transpile-only', 'scripts/demo.ts', '--port', '0', '--data-dir', dataDir, ...extraArgs], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, like a terminal's foreground job
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const deadline = Date.now() + 60_000;
  while (!/Player page:\s+(\S+)/.test(out)) {
    if (child.exitCode !== null) throw new Error(`demo exited early (${child.exitCode}):\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`demo printed no player URL in 60 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    process: child,
    dataDir,
    pageUrl: /Player page:\s+(\S+)/.exec(out)![1],
    masterUrl: /Master:\s+(\S+)/.exec(out)?.[1] ?? '',
    playlistUrls: [...out.matchAll(/Playlist:\s+(\S+)/g)].map((m) => m[1]),
    output: () => out,
    async interrupt() {
      // Ctrl-C in a terminal signals the whole foreground process group.
      process.kill(-child.pid!, 'SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Waits until `url` answers 200 with a body that satisfies `ready`. */
export async function waitForBody(url: string, ready: (body: string) => boolean, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      last = `HTTP ${res.status}`;
      if (res.ok) {
        const body = await res.text();
        if (ready(body)) return body;
        last = body;
      }
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms; last: ${last}`);
}
