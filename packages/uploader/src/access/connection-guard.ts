/**
 * One connection's watchdog: the line deadline (slowloris), the idle timeout and the message rate
 * of ConnectionLimits, for the index server to consult as bytes and lines arrive.
 *
 * Too fast is slowed, not refused: lines past the rate wait here while the socket stops being
 * read, so TCP flow control pushes back on the sender and nothing it sent is lost. Too slow is
 * ended: a line unfinished `lineTimeoutMs` after its first byte (or a first line unfinished that
 * long after connecting), or no byte at all for `idleTimeoutMs`, calls `onExpired`.
 *
 * A full uploader pushes back the same way: while its `room` says no (more messages accepted and
 * not yet stored than it keeps in memory), lines wait and the socket is not read, so a session's
 * segmenter gets no OK and keeps its messages in its spool; reading resumes once there is room.
 */
import type { ConnectionLimits } from './connection-limits';

/** The part of a socket the guard drives. */
export interface PausableSource {
  pause(): unknown;
  resume(): unknown;
}

/** Whether the uploader takes more messages now (backlog-limit.ts); shared by every connection. */
export interface IntakeRoom {
  hasRoom(): boolean;
  /** Calls `fn` once, when there may be room again (never synchronously). */
  whenRoom(fn: () => void): void;
}

/** A pending callback of GuardTimers. */
export interface GuardTimer {
  cancel(): void;
  /** Starts its wait again from now, as if just set. */
  refresh(): void;
}

/**
 * The clock and timers a guard waits on; injected so tests move time themselves instead of
 * racing a loaded machine. Timers must not keep the process alive.
 */
export interface GuardTimers {
  now(): number;
  after(ms: number, fn: () => void): GuardTimer;
}

export const REAL_GUARD_TIMERS: GuardTimers = {
  now: () => performance.now(),
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t), refresh: () => void t.refresh() };
  },
};

/** A token bucket: `perSecond` tokens a second, holding at most `burst`. */
export class MessageRate {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #clock: () => number;
  #tokens: number;
  #at: number;

  constructor(perSecond: number, burst: number, clock: () => number = () => performance.now()) {
    this.#perMs = perSecond / 1000;
    this.#burst = burst;
    this.#clock = clock;
    this.#tokens = burst;
    this.#at = clock();
  }

  /** Takes a token and returns 0, or returns the ms until one is there (nothing taken). */
  take(): number {
    const now = this.#clock();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#perMs);
    this.#at = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.#tokens) / this.#perMs));
  }
}

export interface ConnectionGuardOptions {
  limits: ConnectionLimits;
  socket: PausableSource;
  /** A deadline passed: the reason, to log and answer before the connection is ended. */
  onExpired: (reason: string) => void;
  /** A line had to wait for the rate (for counters). */
  onThrottled?: () => void;
  /** Default: the real clock and timers. */
  timers?: GuardTimers;
  /** Lines wait while this says there is no room; without one, only the rate holds them. */
  room?: IntakeRoom;
}

export class ConnectionGuard {
  readonly #limits: ConnectionLimits;
  readonly #socket: PausableSource;
  readonly #onExpired: (reason: string) => void;
  readonly #onThrottled: (() => void) | undefined;
  readonly #rate: MessageRate;
  readonly #timers: GuardTimers;
  /** Lines received but held back by the rate; only ever one read's worth (reading stops meanwhile). */
  #queue: string[] = [];
  #queueAt = 0;
  #handle: ((line: string) => void) | undefined;
  #lineTimer: GuardTimer | undefined;
  #idleTimer: GuardTimer | undefined;
  #rateTimer: GuardTimer | undefined;
  readonly #room: IntakeRoom | undefined;
  /** A wait for room is pending (its callback drains). */
  #awaitingRoom = false;
  /** Bytes of an unfinished line the decoder held after the last read. */
  #pending = 0;
  #throttled = false;
  #closed = false;
  /** Lines held back by the rate (or for room) since the connection opened. */
  throttledLines = 0;

  constructor(options: ConnectionGuardOptions) {
    this.#limits = options.limits;
    this.#socket = options.socket;
    this.#onExpired = options.onExpired;
    this.#onThrottled = options.onThrottled;
    this.#timers = options.timers ?? REAL_GUARD_TIMERS;
    this.#room = options.room;
    this.#rate = new MessageRate(options.limits.messagesPerSecond, options.limits.messageBurst, () => this.#timers.now());
    // The first line is due from the moment of connecting: a silent connection is a held socket.
    this.#startLineDeadline();
    this.#startIdle();
  }

  /** Bytes arrived: `completedLines` lines ended in them and `pendingBytes` of a next line remain. */
  received(completedLines: number, pendingBytes: number): void {
    if (this.#closed) return;
    this.#idleTimer?.refresh();
    if (completedLines > 0) this.#stopLineDeadline();
    this.#pending = pendingBytes;
    // Started by the line's first byte, never pushed back by later ones.
    if (pendingBytes > 0 && !this.#lineTimer && !this.#throttled) this.#startLineDeadline();
  }

  /** Hands `lines` to `handle` in order, no faster than the message rate. Blank lines are no messages and cost nothing. */
  deliver(lines: readonly string[], handle: (line: string) => void): void {
    this.#handle = handle;
    for (const line of lines) if (line.trim() !== '') this.#queue.push(line);
    this.#drain();
  }

  /** The connection closed: lines already received are still handled, timers stop. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#lineTimer?.cancel();
    this.#idleTimer?.cancel();
    this.#rateTimer?.cancel();
    const rest = this.#queue.slice(this.#queueAt);
    this.#queue = [];
    this.#queueAt = 0;
    for (const line of rest) this.#handle?.(line);
  }

  #drain(): void {
    this.#rateTimer = undefined;
    while (this.#queueAt < this.#queue.length && !this.#closed) {
      if (this.#room && !this.#room.hasRoom()) {
        this.#hold();
        if (!this.#awaitingRoom) {
          this.#awaitingRoom = true;
          this.#room.whenRoom(() => {
            this.#awaitingRoom = false;
            this.#drain();
          });
        }
        return;
      }
      const wait = this.#rate.take();
      if (wait > 0) {
        this.#hold();
        this.throttledLines += 1;
        this.#onThrottled?.();
        this.#rateTimer = this.#timers.after(wait, () => this.#drain());
        return;
      }
      this.#handle?.(this.#queue[this.#queueAt++]);
    }
    this.#queue = [];
    this.#queueAt = 0;
    if (this.#throttled && !this.#closed) {
      this.#throttled = false;
      this.#startIdle();
      if (this.#pending > 0) this.#startLineDeadline();
      this.#socket.resume();
    }
  }

  /** Stops reading until the held lines are handed over. */
  #hold(): void {
    if (this.#throttled) return;
    this.#throttled = true;
    this.#socket.pause();
    // Not reading is our doing: the peer's deadlines wait with it.
    this.#stopLineDeadline();
    this.#idleTimer?.cancel();
    this.#idleTimer = undefined;
  }

  #startLineDeadline(): void {
    const ms = this.#limits.lineTimeoutMs;
    this.#lineTimer = this.#timers.after(ms, () => {
      this.#lineTimer = undefined;
      this.#expire(`no complete line within ${ms / 1000} s`);
    });
  }

  #stopLineDeadline(): void {
    this.#lineTimer?.cancel();
    this.#lineTimer = undefined;
  }

  #startIdle(): void {
    const ms = this.#limits.idleTimeoutMs;
    this.#idleTimer = this.#timers.after(ms, () => this.#expire(`idle for ${ms / 1000} s`));
  }

  #expire(reason: string): void {
    if (this.#closed) return;
    this.#onExpired(reason);
  }
}
