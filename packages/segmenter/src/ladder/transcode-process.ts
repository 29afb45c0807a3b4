/**
 * The ladder's ffmpeg as a child process: its rendition pipes (fd 3, 4, …) are handed chunk by
 * chunk to the caller, its stderr goes to the log, and stopping it is a SIGINT — ffmpeg then
 * flushes every encoder and closes the pipes, so each segmenter still sees its last frames.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Logger } from '@hlsrelay/log';
import { FIRST_OUTPUT_FD } from './transcode-args';

export interface TranscodeProcessOptions {
  ffmpegPath: string;
  args: string[];
  /** Number of rendition pipes the args write to. */
  outputs: number;
  /** Bytes from rendition `index`'s pipe. Called synchronously, in order per pipe. */
  onOutput: (index: number, chunk: Buffer) => void;
  /** Piped into ffmpeg's stdin (input `-`); otherwise stdin is closed. */
  stdin?: NodeJS.ReadableStream;
  logger?: Logger;
  /** After stop(), how long ffmpeg may take to flush before it is killed. Default 10 s. */
  stopTimeoutMs?: number;
}

export interface TranscodeExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when ffmpeg could not be started at all (e.g. not found). */
  error?: Error;
  /** Last lines ffmpeg wrote on stderr, for the error message. */
  stderrTail: string[];
}

export class TranscodeProcess {
  readonly #child: ChildProcess;
  readonly #stopTimeoutMs: number;
  readonly #stderrTail: string[] = [];
  #killTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Resolves once ffmpeg exited and every rendition pipe was read to its end. */
  readonly done: Promise<TranscodeExit>;

  constructor(options: TranscodeProcessOptions) {
    this.#stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
    const outputs = Array.from({ length: options.outputs }, () => 'pipe' as const);
    this.#child = spawn(options.ffmpegPath, options.args, {
      stdio: [options.stdin ? 'pipe' : 'ignore', 'ignore', 'pipe', ...outputs],
    });
    const child = this.#child;
    let spawnError: Error | undefined;
    const exited = new Promise<void>((resolve) => {
      child.once('error', (e) => {
        spawnError = e;
        resolve();
      });
      child.once('exit', () => resolve());
    });
    const pipesEnded = Array.from({ length: options.outputs }, (_, i) => {
      const pipe = child.stdio[FIRST_OUTPUT_FD + i] as Readable | null;
      if (!pipe) return Promise.resolve();
      pipe.on('data', (chunk: Buffer) => options.onOutput(i, chunk));
      return new Promise<void>((resolve) => {
        pipe.once('close', () => resolve());
        pipe.once('error', () => resolve());
      });
    });
    if (options.stdin && child.stdin) {
      options.stdin.pipe(child.stdin);
      // ffmpeg gone before the source ended: nothing more to write, its exit says why.
      child.stdin.on('error', () => {});
    }
    let partial = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        this.#stderrTail.push(line);
        if (this.#stderrTail.length > 20) this.#stderrTail.shift();
        options.logger?.warn('ffmpeg says', { line });
      }
    });
    this.done = Promise.all([exited, ...pipesEnded]).then(() => {
      clearTimeout(this.#killTimer);
      return { code: child.exitCode, signal: child.signalCode, error: spawnError, stderrTail: [...this.#stderrTail] };
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Asks ffmpeg to finish (SIGINT); kills it if it has not within the stop timeout. */
  stop(): void {
    if (this.#stopped || this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#stopped = true;
    this.#child.kill('SIGINT');
    this.#killTimer = setTimeout(() => this.#child.kill('SIGKILL'), this.#stopTimeoutMs);
  }

  /** True once stop() was called (an exit then is expected, whatever its code). */
  get stopped(): boolean {
    return this.#stopped;
  }
}
