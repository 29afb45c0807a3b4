/**
 * Ordering and concurrency for uploads.
 *
 * Each stream is a lane: its jobs run one after another, strictly in arrival order, so a
 * segment is stored before the playlist that lists it and before the next segment. Lanes run in
 * parallel, but every transfer attempt takes a slot in one shared p-queue of `concurrency`
 * slots — backoff waits happen outside it, so a failing stream never holds a slot while it waits
 * and cannot starve the others.
 */
import PQueue from 'p-queue';
import type { Logger } from '@hlsrelay/log';
import { backoffDelay, validateRetryPolicy, type RetryPolicy } from './retry-policy';
import { PermanentTransferError } from './transfer-target';

export type Job = () => Promise<void>;

export interface UploadQueueOptions {
  concurrency: number;
  retry: RetryPolicy;
  logger: Logger;
  /** Waits between attempts; injected so tests need not wait for real. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

interface Lane {
  /** Jobs not yet started, oldest first. */
  jobs: Job[];
  /** True while a job of this lane runs; at most one does. */
  running: boolean;
}

export class UploadQueue {
  readonly #slots: PQueue;
  readonly #retry: RetryPolicy;
  readonly #logger: Logger;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  /** Lanes with queued or running jobs; a lane is removed once it drains. */
  readonly #lanes = new Map<string, Lane>();
  /** Settled when no lane has work; replaced when work arrives. */
  #idle: { promise: Promise<void>; resolve: () => void } | undefined;
  #retries = 0;

  constructor(options: UploadQueueOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new TypeError(`concurrency must be an integer ≥ 1, got ${options.concurrency}`);
    }
    this.#slots = new PQueue({ concurrency: options.concurrency });
    this.#retry = validateRetryPolicy(options.retry);
    this.#logger = options.logger;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#random = options.random ?? Math.random;
  }

  /** Queues `job` behind every earlier job of `lane`. A job that throws is logged; the lane goes on. */
  enqueue(lane: string, job: Job): void {
    let l = this.#lanes.get(lane);
    if (!l) {
      l = { jobs: [], running: false };
      this.#lanes.set(lane, l);
    }
    l.jobs.push(job);
    if (!l.running) void this.#drain(lane, l);
  }

  /** Jobs of `lane` waiting behind the one running. */
  waiting(lane: string): number {
    return this.#lanes.get(lane)?.jobs.length ?? 0;
  }

  /** Jobs waiting or running, all lanes. */
  get size(): number {
    let n = 0;
    for (const l of this.#lanes.values()) n += l.jobs.length + (l.running ? 1 : 0);
    return n;
  }

  /** Transfer attempts retried since start. */
  get retries(): number {
    return this.#retries;
  }

  /**
   * Runs one transfer in a concurrency slot, retrying with backoff until it succeeds; a higher
   * `priority` takes a free slot before lower ones waiting. Only a
   * PermanentTransferError ends the attempts (it is rethrown); nothing is dropped silently.
   */
  async transfer<T>(what: string, context: Record<string, unknown>, op: () => Promise<T>, priority = 0): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await (this.#slots.add(op, { priority }) as Promise<T>);
      } catch (err) {
        if (err instanceof PermanentTransferError) throw err;
        const delay = backoffDelay(attempt, this.#retry, this.#random);
        this.#retries += 1;
        // Every attempt is logged; the level rises once it is clearly not a blip.
        this.#logger.log(attempt < 5 ? 'warn' : 'error', `${what} failed; retrying`, {
          ...context,
          attempt,
          retryInMs: Math.round(delay),
          error: describe(err),
        });
        await this.#sleep(delay);
      }
    }
  }

  /** Resolves once every queued job of every lane has finished. */
  onIdle(): Promise<void> {
    if (this.#lanes.size === 0) return Promise.resolve();
    if (!this.#idle) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#idle = { promise, resolve };
    }
    return this.#idle.promise;
  }

  async #drain(name: string, lane: Lane): Promise<void> {
    lane.running = true;
    for (let job = lane.jobs.shift(); job; job = lane.jobs.shift()) {
      try {
        await job();
      } catch (err) {
        this.#logger.error('upload job failed', { stream: name, error: describe(err) });
      }
    }
    lane.running = false;
    this.#lanes.delete(name);
    if (this.#lanes.size === 0 && this.#idle) {
      this.#idle.resolve();
      this.#idle = undefined;
    }
  }
}

export function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${err.name}: ${err.message}${typeof code === 'string' && !err.message.includes(code) ? ` (${code})` : ''}`;
  }
  return String(err);
}
