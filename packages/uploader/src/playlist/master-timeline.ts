/**
 * One master playlist's wall-clock timeline: RFC 8216 §6.2.4 wants every variant of a master to
 * give the same media timestamp the same EXT-X-PROGRAM-DATE-TIME. Each segment's first PTS
 * (`pts=` in its message) is mapped to wall time from an anchor — a (PTS, wall time) pair taken
 * from the first segment the master saw — so renditions cut by different segmenters, started at
 * different moments or on machines whose clocks differ, agree to the millisecond:
 *
 *     program date-time (ms) = anchor wall ms + floor((pts − anchor pts) / 90)
 *
 * Integer ticks in, integer milliseconds out: the same PTS gives the same date-time in every
 * variant, in every playlist version, before and after a restart.
 *
 * The segmenter's own guess (`pdt=`, its clock at its first cut plus PTS elapsed) decides which
 * anchor a segment belongs to: a segment whose PTS-derived time is more than `TIMELINE_TOLERANCE_MS`
 * from its guess is not on that anchor's timeline (a restarted encoder whose PTS started again, or
 * an encoder that does not share the others' PTS). Such a segment starts a new anchor. A master
 * keeps its newest few anchors, so renditions restarted one after the other all land on the
 * same new anchor, and a rendition still finishing on the old timeline keeps it.
 *
 * Pure bookkeeping: no I/O, no clock; the owner persists `snapshot()` when `place` says it changed.
 */
import { PTS_MODULUS } from '@hlsrelay/protocol';

/** PTS ticks per millisecond (90 kHz). */
const TICKS_PER_MS = 90;
/** Farther than this from its segmenter's own clock, a PTS-derived time is on another timeline. */
export const TIMELINE_TOLERANCE_MS = 5_000;
/** Another anchor used this recently (by its derived wall time) means two timelines are live at once. */
export const CONCURRENT_TIMELINE_MS = 60_000;
/** Anchors kept per master, newest first. */
export const MAX_ANCHORS = 8;
/**
 * An anchor moves forward by this many ticks once a segment is that far past it, so signed PTS
 * differences stay far from the ±2^32 where 33-bit wrap-around makes them ambiguous. A whole
 * number of milliseconds (90 × 23 860 929 ≈ 6.6 h): moving changes no date-time by a single ms.
 */
export const ANCHOR_STEP_TICKS = TICKS_PER_MS * 23_860_929;

export interface TimelineAnchor {
  /** PTS (90 kHz, 33-bit) of the instant `wallMs` names. */
  pts: number;
  /** Wall time in ms since the epoch (whole milliseconds). */
  wallMs: number;
}

/** What the state directory keeps of a master's timeline. */
export interface TimelineSnapshot {
  /** Newest first. */
  anchors: TimelineAnchor[];
}

export interface Placement {
  /** The segment's program date-time, ms since the epoch. */
  ms: number;
  /** The segment matched no anchor and starts a new one. */
  anchored: boolean;
  /** It started a new anchor while another anchor of this master was in use: two timelines at once. */
  concurrent: boolean;
  /** Offset of the segment's guess from the newest older anchor's mapping, ms (when `anchored` and one existed). */
  offsetMs?: number;
  /** The anchors changed (a new one, or one moved forward): persist `snapshot()`. */
  changed: boolean;
}

/** `to − from` in ticks, across the 33-bit wrap: in [−2^32, 2^32). */
export function signedPtsDelta(from: number, to: number): number {
  const d = (((to - from) % PTS_MODULUS) + PTS_MODULUS) % PTS_MODULUS;
  return d >= PTS_MODULUS / 2 ? d - PTS_MODULUS : d;
}

interface LiveAnchor extends TimelineAnchor {
  /** Newest derived wall time of a segment on it in this run (not persisted). */
  lastUsedMs?: number;
}

export class MasterTimeline {
  /** Newest first, at most MAX_ANCHORS. */
  #anchors: LiveAnchor[];

  constructor(snapshot?: TimelineSnapshot) {
    this.#anchors = (snapshot?.anchors ?? []).slice(0, MAX_ANCHORS).map((a) => ({ pts: a.pts, wallMs: a.wallMs }));
  }

  /**
   * Where a segment starting at `pts`, which its segmenter dates `guessMs`, stands on this
   * master's timeline: on the newest anchor that maps it within the tolerance of its guess,
   * else on a new anchor taken from it.
   */
  place(pts: number, guessMs: number): Placement {
    for (const anchor of this.#anchors) {
      let d = signedPtsDelta(anchor.pts, pts);
      const ms = anchor.wallMs + Math.floor(d / TICKS_PER_MS);
      if (Math.abs(ms - guessMs) > TIMELINE_TOLERANCE_MS) continue;
      let changed = false;
      while (d > ANCHOR_STEP_TICKS) {
        anchor.pts = (anchor.pts + ANCHOR_STEP_TICKS) % PTS_MODULUS;
        anchor.wallMs += ANCHOR_STEP_TICKS / TICKS_PER_MS;
        d -= ANCHOR_STEP_TICKS;
        changed = true;
      }
      anchor.lastUsedMs = Math.max(anchor.lastUsedMs ?? ms, ms);
      return { ms, anchored: false, concurrent: false, changed };
    }
    const previous = this.#anchors[0];
    const concurrent = this.#anchors.some((a) => a.lastUsedMs !== undefined && Math.abs(a.lastUsedMs - guessMs) <= CONCURRENT_TIMELINE_MS);
    const ms = Math.round(guessMs);
    this.#anchors.unshift({ pts, wallMs: ms, lastUsedMs: ms });
    this.#anchors.length = Math.min(this.#anchors.length, MAX_ANCHORS);
    const placement: Placement = { ms, anchored: true, concurrent, changed: true };
    if (previous) placement.offsetMs = ms - (previous.wallMs + Math.floor(signedPtsDelta(previous.pts, pts) / TICKS_PER_MS));
    return placement;
  }

  snapshot(): TimelineSnapshot {
    return { anchors: this.#anchors.map(({ pts, wallMs }) => ({ pts, wallMs })) };
  }
}
