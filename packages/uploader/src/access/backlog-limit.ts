/**
 * How many messages the uploader holds in memory, accepted and not yet stored, before it stops
 * reading from segmenters (connection-guard.ts): past the limit, a session's lines wait unread in
 * the socket, its segmenter gets no OK and keeps the messages in its spool, on disk, instead of
 * this process keeping them all in memory while the store is slow or the machine busy. Reading
 * resumes as the uploads catch up. A 2009 segmenter's one-shot message (no line end, then EOF)
 * is still taken at once: it waits for no answer, and its open connection would cost more memory
 * than the message.
 */
import { REAL_GUARD_TIMERS, type GuardTimers, type IntakeRoom } from './connection-guard';

/** Messages held before reading stops: a few MB of memory (~1 KB each), minutes of a busy uploader's work. */
export const DEFAULT_MAX_QUEUED_MESSAGES = 4096;
/** How often a full uploader looks whether there is room again. */
const POLL_MS = 20;

export class BacklogLimit implements IntakeRoom {
  readonly #queued: () => number;
  readonly #limit: number;
  readonly #timers: GuardTimers;
  /** Connections waiting for room, oldest first. */
  #waiting: Array<() => void> = [];
  #polling = false;

  /** `queued`: the messages accepted and not yet handled (the upload queue's size). */
  constructor(queued: () => number, limit = DEFAULT_MAX_QUEUED_MESSAGES, timers: GuardTimers = REAL_GUARD_TIMERS) {
    if (!Number.isInteger(limit) || limit < 1) throw new TypeError(`the queued-message limit must be a whole number ≥ 1, got ${limit}`);
    this.#queued = queued;
    this.#limit = limit;
    this.#timers = timers;
  }

  hasRoom(): boolean {
    return this.#queued() < this.#limit;
  }

  whenRoom(fn: () => void): void {
    this.#waiting.push(fn);
    if (this.#polling) return;
    this.#polling = true;
    this.#timers.after(POLL_MS, () => this.#poll());
  }

  /** Connections waiting for room. */
  get waiting(): number {
    return this.#waiting.length;
  }

  #poll(): void {
    if (!this.hasRoom()) {
      this.#timers.after(POLL_MS, () => this.#poll());
      return;
    }
    this.#polling = false;
    // Oldest first; each looks again before every line, so the first to fill the room sends the rest back to wait.
    const ready = this.#waiting;
    this.#waiting = [];
    for (const fn of ready) fn();
  }
}
