/**
 * The real `uploader` command in a child process, with JSON log lines collected from stderr and
 * the ports it bound read from them (it is always started on port 0).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { until } from './until';
import { UPLOADER_BIN } from './paths';
import { tempDir } from './temp-dir';

export const STORE_ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

export interface UploaderProcess {
  child: ChildProcess;
  /** The index port segmenters connect to. */
  port: number;
  /** The status port, when `--status-listen` was given. */
  statusPort?: number;
  /** Parsed JSON log lines so far. */
  lines: Array<Record<string, unknown>>;
  stderr(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

export async function startUploader(args: string[], env: Record<string, string> = {}): Promise<UploaderProcess> {
  const child = spawn(process.execPath, [UPLOADER_BIN, '--listen', '127.0.0.1:0', '--log-json', ...args], {
    env: { ...process.env, ...STORE_ENV, ...freshStateHome(args, env), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let text = '';
  const lines: Array<Record<string, unknown>> = [];
  let exited: number | null | undefined;
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve((exited = code))));
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    const start = text.lastIndexOf('\n') + 1;
    text += d;
    for (const line of text.slice(start).split('\n').slice(0, -1)) {
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not JSON: kept in stderr() for the failure message
      }
    }
  });
  const wantStatus = args.includes('--status-listen');
  const addressOf = (message: string) => lines.find((l) => l.message === message)?.address as string | undefined;
  try {
    await until(() => {
      if (exited !== undefined) throw new Error(`uploader exited ${exited}: ${text}`);
      return addressOf('listening for segmenters') !== undefined && (!wantStatus || addressOf('status listening') !== undefined);
    });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const portOf = (message: string) => {
    const a = addressOf(message);
    return a === undefined ? undefined : Number(a.slice(a.lastIndexOf(':') + 1));
  };
  return {
    child,
    port: portOf('listening for segmenters')!,
    statusPort: portOf('status listening'),
    lines,
    stderr: () => text,
    async stop() {
      if (exited === undefined) child.kill('SIGTERM');
      return exit;
    },
  };
}

/** The uploader bin run until it exits by itself (a start-up that fails): its exit code and JSON log lines. */
export async function runUploaderToExit(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; lines: Array<Record<string, unknown>>; stderr: string }> {
  const child = spawn(process.execPath, [UPLOADER_BIN, '--listen', '127.0.0.1:0', '--log-json', ...args], {
    env: { ...process.env, ...STORE_ENV, ...freshStateHome(args, env), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (stderr += d));
  let code: number | null | undefined;
  child.once('exit', (c) => (code = c));
  try {
    await until(() => code !== undefined && child.stderr!.readableEnded, 30_000, `uploader ${args.join(' ')} to exit`);
  } finally {
    if (code === undefined) child.kill('SIGKILL');
  }
  const lines = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code: code ?? null, lines, stderr };
}

/**
 * Each uploader a test starts is a machine of its own: unless the test names a state directory
 * (or the environment that picks the default), its default journal lives in a fresh directory,
 * so one test's streams never continue in the next test's uploader.
 */
function freshStateHome(args: readonly string[], env: Record<string, string>): Record<string, string> {
  if (args.includes('--state-dir') || env.XDG_STATE_HOME !== undefined || env.STATE_DIRECTORY !== undefined) return {};
  return { XDG_STATE_HOME: tempDir('uploader-state') };
}
