/**
 * The benchmark's child processes — the latency store and the uploader daemon as users run it —
 * and what the kernel says they cost (/proc/<pid>/stat and status: CPU of every thread, resident
 * memory), so a figure includes GC, the libuv thread pool and the kernel's work for the process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { LoopDelay } from './loop-delay';

const ROOT = path.resolve(__dirname, '..', '..');
/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on Linux everywhere that matters). */
const USER_HZ = 100;

/** CPU time (user + system, all threads) of a process so far, ms. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / USER_HZ;
}

/** CPU time every process on the machine has used so far (all cores, user + system + steal), ms: /proc/stat's first line. */
export function machineBusyMs(): number {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = ticks.map(Number);
  return ((user + nice + system + irq + softirq + steal) * 1000) / USER_HZ;
}

/** The flags and environment that make a child process write its loop delays (loop-delay.ts) to `file`. */
export function loopDelayWatch(file: string | undefined): { flags: string[]; env: Record<string, string> } {
  if (!file) return { flags: [], env: {} };
  // The compiled preload (npx tsc -b builds scripts/ too): ts-node in the daemon would add its own start-up and memory.
  const preload = path.join(ROOT, 'build', 'scripts', 'bench', 'loop-delay.js');
  if (!existsSync(preload)) return { flags: [], env: {} };
  return { flags: ['-r', preload], env: { BENCH_LOOP_DELAY_FILE: file } };
}

/** A loop-delay file a child wrote at its exit, or undefined. */
export function readLoopDelay(file: string | undefined): LoopDelay | undefined {
  try {
    return file ? (JSON.parse(readFileSync(file, 'utf8')) as LoopDelay) : undefined;
  } catch {
    return undefined;
  }
}

/** Resident set size of a process, MB. */
export function processRssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

export interface StoreCounts {
  PUT: number;
  GET: number;
  HEAD: number;
  DELETE: number;
  POST: number;
  bytes: number;
}

export type StoredPlaylist = [key: string, lastSegment: number, atMs: number];

export class LatencyStore {
  readonly child: ChildProcess;
  readonly endpoint: string;
  #onStored: (batch: StoredPlaylist[]) => void = () => {};

  private constructor(child: ChildProcess, port: number) {
    this.child = child;
    this.endpoint = `http://127.0.0.1:${port}`;
    child.on('message', (m: { stored?: StoredPlaylist[] }) => {
      if (m.stored) this.#onStored(m.stored);
    });
  }

  /** `loopDelayFile`: where the store writes its event loop's delays when it exits. */
  static async start(delayMs: number, loopDelayFile?: string): Promise<LatencyStore> {
    const watch = loopDelayWatch(loopDelayFile);
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', ...watch.flags, path.join(__dirname, 'latency-store.ts'), String(delayMs)], {
      cwd: ROOT,
      env: { ...process.env, ...watch.env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m: { ready?: number }) => (m.ready ? resolve(m.ready) : reject(new Error('store did not start'))));
      child.once('exit', (c) => reject(new Error(`latency store exited with ${c}`)));
    });
    return new LatencyStore(child, port);
  }

  onStored(listener: (batch: StoredPlaylist[]) => void): void {
    this.#onStored = listener;
  }

  counts(): Promise<StoreCounts> {
    return new Promise((resolve) => {
      const on = (m: { counts?: StoreCounts }) => {
        if (!m.counts) return;
        this.child.off('message', on);
        resolve(m.counts);
      };
      this.child.on('message', on);
      this.child.send({ counts: true });
    });
  }

  cpuMs(): number {
    return processCpuMs(this.child.pid!);
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.disconnect();
    await exited;
  }
}

export interface DaemonOptions {
  endpoint: string;
  allowDir: string;
  concurrency: number;
  /** Extra flags, e.g. `--cpu-prof` goes in nodeFlags. */
  nodeFlags?: string[];
  cwd?: string;
  /** Where the daemon writes its event loop's delays when it exits (loop-delay.ts). */
  loopDelayFile?: string;
  /** `--state-dir` (default: the daemon's own default, in $HOME). */
  stateDir?: string;
}

/** The uploader daemon (packages/uploader/bin/uploader.js), on 127.0.0.1 with a port from the OS. */
export class UploaderDaemon {
  readonly child: ChildProcess;
  readonly port: number;

  private constructor(child: ChildProcess, port: number) {
    this.child = child;
    this.port = port;
  }

  static async start(o: DaemonOptions): Promise<UploaderDaemon> {
    const watch = loopDelayWatch(o.loopDelayFile);
    const args = [
      ...(o.nodeFlags ?? []),
      ...watch.flags,
      path.join(ROOT, 'packages/uploader/bin/uploader.js'),
      '--listen', '127.0.0.1:0',
      '--target', 's3:',
      '--s3-endpoint', o.endpoint,
      '--s3-path-style',
      '--s3-region', 'us-east-1',
      '--acl', 'public-read',
      '--concurrency', String(o.concurrency),
      '--window', '5',
      '--allow-dir', o.allowDir,
      '--log-level', 'info',
      '--log-json',
      ...(o.stateDir ? ['--state-dir', o.stateDir] : []),
    ];
    const child = spawn(process.execPath, args, {
      cwd: o.cwd ?? ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: 'BENCHKEY',
        AWS_SECRET_ACCESS_KEY: 'BENCHSECRET',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        AWS_EC2_METADATA_DISABLED: 'true',
        ...watch.env,
      },
    });
    const port = await new Promise<number>((resolve, reject) => {
      let err = '';
      const onData = (d: Buffer) => {
        err += d.toString();
        for (const line of err.split('\n')) {
          if (!line.includes('listening for segmenters')) continue;
          const address = (JSON.parse(line) as { address: string }).address;
          child.stderr!.off('data', onData);
          // Warnings and errors during the run go to the benchmark's stderr.
          child.stderr!.on('data', (x: Buffer) => {
            const lines = x.toString().split('\n').filter((l) => l !== '' && !l.includes('"level":"info"'));
            if (lines.length > 0) process.stderr.write(lines.join('\n') + '\n');
          });
          resolve(Number(address.split(':').at(-1)));
          return;
        }
      };
      child.stderr!.on('data', onData);
      child.once('exit', (c) => reject(new Error(`uploader exited with ${c}: ${err}`)));
    });
    return new UploaderDaemon(child, port);
  }

  cpuMs(): number {
    return processCpuMs(this.child.pid!);
  }

  rssMB(): number {
    return processRssMB(this.child.pid!);
  }

  /** SIGTERM: the daemon finishes what it queued and exits. */
  async stop(): Promise<number | null> {
    const exited = new Promise<number | null>((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    return exited;
  }
}
