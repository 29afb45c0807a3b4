/**
 * The one place where 33-bit MPEG-TS timestamps (ISO/IEC 13818-1 §2.4.3.7, wrapping every
 * 2^33 ticks ≈ 26.5 h) become the unbounded decode times that `tfdt` needs (ISO/IEC 14496-12
 * §8.8.12: 64-bit, never wrapping). All tracks of a stream share one clock, so audio and video
 * unwrap alike even when their first timestamps sit on either side of a wrap.
 */
import { CLOCK_HZ, ptsDelta, PTS_MODULO } from '@hlsrelay/mpegts';

/** Ticks per second of MPEG-TS timestamps, and of video tracks' media timescale. */
export const TS_TIMESCALE = CLOCK_HZ;
/** The span after which a 33-bit timestamp repeats. */
export const TIMESTAMP_WRAP = PTS_MODULO;

export class DecodeClock {
  /** Last raw (33-bit) timestamp seen and what it unwrapped to; -1 before the first. */
  #lastRaw = -1;
  #lastUnwrapped = 0;

  /**
   * Unbounded 90 kHz time of a raw timestamp: the first maps to itself (so fMP4 times match the
   * TS times players and logs already know), each later one to the nearest time that is equal
   * to it modulo 2^33 — a timestamp just after a wrap lands just after the one before it.
   */
  unwrap(raw: number): number {
    if (!(raw >= 0 && raw < TIMESTAMP_WRAP)) throw new RangeError(`timestamp must be in [0, 2^33), got ${raw}`);
    const t = this.#lastRaw < 0 ? raw : this.#lastUnwrapped + ptsDelta(this.#lastRaw, raw);
    this.#lastRaw = raw;
    this.#lastUnwrapped = t;
    return t;
  }
}

/** A 90 kHz duration in another timescale, rounded to the nearest tick. */
export const rescale = (ticks90k: number, timescale: number): number => Math.round((ticks90k * timescale) / TS_TIMESCALE);

/** Defaults of TrackTimeline: the TS segmenter's discontinuity threshold (10 s), and 1 s back. */
export const JUMP_FORWARD_TICKS = 10 * TS_TIMESCALE;
export const JUMP_BACK_TICKS = TS_TIMESCALE;

/**
 * One track's decode times across timestamp jumps: a new encoder, a source switch, a backwards
 * step. `tfdt` cannot go back (and a 64-bit unsigned field cannot hold a negative time), so a jump
 * is spliced out: the track's times run on from where they were by one step, offset from then on.
 * The playlist still says EXT-X-DISCONTINUITY before the first segment after the jump (the TS
 * core decides that, as for TS segments); the decode times just never break. Each track splices
 * on its own, so a jump that reaches audio and video at different packets moves both alike.
 */
export class TrackTimeline {
  readonly #forward: number;
  readonly #back: number;
  /** Last time handed out; NaN before the first. */
  #last = Number.NaN;
  #offset = 0;
  #jumps = 0;

  constructor(forwardTicks = JUMP_FORWARD_TICKS, backTicks = JUMP_BACK_TICKS) {
    this.#forward = forwardTicks;
    this.#back = backTicks;
  }

  /** Jumps spliced out so far. */
  get jumps(): number {
    return this.#jumps;
  }

  /**
   * The track's time for unwrapped (DecodeClock) time `t`. `step`: how far after the last time a
   * unit that follows it without a jump would sit (a frame) — where a jump lands. The same `t`
   * twice gives the same time.
   */
  map(t: number, step: number): number {
    if (!Number.isNaN(this.#last)) {
      const d = t + this.#offset - this.#last;
      if (d > this.#forward || d < -this.#back) {
        this.#offset = this.#last + step - t;
        this.#jumps++;
      }
    }
    this.#last = t + this.#offset;
    return this.#last;
  }
}
