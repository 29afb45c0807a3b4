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
import { backoffDelay, DEFAULT_RETRY_POLICY, validateRetryPolicy, type RetryPolicy } from './retry-policy';
import { storeErrorCode, storeRefused } from './target-check';
import { GaveUpTransferError, PermanentTransferError } from './transfer-target';

export type Job = () => Promise<void>;

export interface UploadQueueOptions {
  concurrency: number;
  /** Default DEFAULT_RETRY_POLICY. */
  retry?: RetryPolicy;
  logger: Logger;
  /** Waits between attempts; injected so tests need not wait for real. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /**
   * Milliseconds after its first attempt at which a transfer started with `giveUp` stops being
   * retried and fails with GaveUpTransferError; 0 (default) retries for ever.
   */
  giveUpAfterMs?: number;
  /** Milliseconds since some epoch, for the give-up time; only differences are used. */
  now?: () => number;
}

/** A transfer waiting to be tried again, for an operator asking what shutdown waits for. */
export interface FailingTransfer {
  what: string;
  context: Record<string, unknown>;
  attempts: number;
  error: string;
}

/** What the queue still has to do. */
export interface QueueBacklog {
  /** Lanes (streams, master playlists) with jobs waiting or running. */
  lanes: string[];
  jobs: number;
  /** Transfers that failed and wait for their next attempt. */
  failing: FailingTransfer[];
  /** The most recent failed attempt, if any. */
  lastFailure?: FailingTransfer;
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
  readonly #giveUpAfterMs: number;
  readonly #now: () => number;
  /** Lanes with queued or running jobs; a lane is removed once it drains. */
  readonly #lanes = new Map<string, Lane>();
  /** Jobs waiting or running, all lanes (consulted before every line a segmenter sends). */
  #jobs = 0;
  /** Settled when no lane has work; replaced when work arrives. */
  #idle: { promise: Promise<void>; resolve: () => void } | undefined;
  #retries = 0;
  /** Transfers between a failed attempt and their next one (or their end). */
  readonly #failing = new Set<FailingTransfer>();
  #lastFailure: FailingTransfer | undefined;

  constructor(options: UploadQueueOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new TypeError(`concurrency must be an integer ≥ 1, got ${options.concurrency}`);
    }
    this.#slots = new PQueue({ concurrency: options.concurrency });
    this.#retry = validateRetryPolicy(options.retry ?? DEFAULT_RETRY_POLICY);
    this.#logger = options.logger;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#random = options.random ?? Math.random;
    this.#giveUpAfterMs = options.giveUpAfterMs ?? 0;
    if (!(this.#giveUpAfterMs >= 0) || !Number.isFinite(this.#giveUpAfterMs)) {
      throw new TypeError(`giveUpAfterMs must be a number ≥ 0, got ${options.giveUpAfterMs}`);
    }
    this.#now = options.now ?? (() => performance.now());
  }

  /** Queues `job` behind every earlier job of `lane`. A job that throws is logged; the lane goes on. */
  enqueue(lane: string, job: Job): void {
    let l = this.#lanes.get(lane);
    if (!l) {
      l = { jobs: [], running: false };
      this.#lanes.set(lane, l);
    }
    l.jobs.push(job);
    this.#jobs += 1;
    if (!l.running) void this.#drain(lane, l);
  }

  /** Jobs of `lane` waiting behind the one running. */
  waiting(lane: string): number {
    return this.#lanes.get(lane)?.jobs.length ?? 0;
  }

  /** Jobs waiting or running, all lanes. */
  get size(): number {
    return this.#jobs;
  }

  /** Transfer attempts retried since start. */
  get retries(): number {
    return this.#retries;
  }

  /**
   * Runs one transfer in a concurrency slot, retrying with backoff until it succeeds; a higher
   * `priority` takes a free slot before lower ones waiting. Only a
   * PermanentTransferError ends the attempts (it is rethrown); nothing is dropped silently.
   * With `giveUp` and a give-up time set, a transfer still failing that long after its first
   * attempt ends with GaveUpTransferError carrying the last error.
   */
  async transfer<T>(what: string, context: Record<string, unknown>, op: () => Promise<T>, priority = 0, giveUp = false): Promise<T> {
    const deadline = giveUp && this.#giveUpAfterMs > 0 ? this.#now() + this.#giveUpAfterMs : Infinity;
    const failing: FailingTransfer = { what, context, attempts: 0, error: '' };
    try {
      return await this.#attempts(failing, deadline, op, priority);
    } finally {
      this.#failing.delete(failing);
    }
  }

  /** What is left to do: lanes with work, transfers failing and the last error. */
  backlog(): QueueBacklog {
    return { lanes: [...this.#lanes.keys()], jobs: this.size, failing: [...this.#failing].map((f) => ({ ...f })), lastFailure: this.#lastFailure && { ...this.#lastFailure } };
  }

  async #attempts<T>(failing: FailingTransfer, deadline: number, op: () => Promise<T>, priority: number): Promise<T> {
    const { what, context } = failing;
    for (let attempt = 1; ; attempt++) {
      try {
        return await (this.#slots.add(op, { priority }) as Promise<T>);
      } catch (err) {
        Object.assign(failing, { attempts: attempt, error: describe(err) });
        this.#lastFailure = { ...failing };
        if (err instanceof PermanentTransferError) throw err;
        const left = deadline - this.#now();
        if (left <= 0) {
          throw new GaveUpTransferError(`${what} still failing after ${attempt} attempts over ${this.#giveUpAfterMs / 1000} s; given up: ${describe(err)}`, err);
        }
        // The last wait ends at the give-up time, not a whole backoff step past it.
        const delay = Math.min(backoffDelay(attempt, this.#retry, this.#random), left);
        this.#retries += 1;
        this.#failing.add(failing);
        // Every attempt is logged; the level rises once it is clearly not a blip, or at once when
        // the store refused (a missing bucket or permission: an operator must act).
        this.#logger.log(attempt < 5 && !storeRefused(err) ? 'warn' : 'error', `${what} failed; retrying`, {
          ...context,
          attempt,
          retryInMs: Math.round(delay),
          code: storeErrorCode(err),
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
      this.#jobs -= 1;
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
