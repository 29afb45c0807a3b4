/**
 * The segmenter's sense of time, from the PTS of one elementary stream (the video, else the
 * first audio stream): where the open segment started, how long it has lasted, when the timeline
 * broke (a discontinuity), the wall-clock time of each segment start (EXT-X-PROGRAM-DATE-TIME,
 * RFC 8216 §4.3.2.6) and how long the last segment's final unit lasts when nothing follows it.
 */
import type { Logger } from '@hlsrelay/log';
import { ptsDelta, ticksToSeconds } from '@hlsrelay/mpegts';
import type { CutPoint } from './cut-rule';

/** B-frame reordering moves PTS back by a few frames, never by this much. */
const REORDER_TOLERANCE_TICKS = 90_000;

export interface SegmentClockOptions {
  /** A PTS step (forward or back) larger than this many ticks breaks the timeline. */
  discontinuityTicks: number;
  /** Wall clock in ms. */
  now: () => number;
  logger?: Logger;
}

/** Timing of one segment as it opens. */
export interface SegmentStart {
  /** PTS (90 kHz, 33-bit) of the segment's first keyframe or audio PES. */
  startPts: number;
  /** Wall-clock time of the first frame: the anchor's wall time plus PTS elapsed since. */
  programDateTime: Date;
  /** Timestamps jumped (or went back), or the program changed, before this segment. */
  discontinuity: boolean;
}

/** Timing of one segment as it closes. */
export interface ClosedTiming extends SegmentStart {
  /** Seconds: up to the next segment's first PTS, or estimated from the last unit seen. */
  duration: number;
  /** Frames per second counted over the segment, when the clock is video and it had two frames. */
  measuredFps?: number;
}

export class SegmentClock {
  readonly #discontinuityTicks: number;
  readonly #now: () => number;
  readonly #logger?: Logger;

  #lastPts = -1;
  /** Smallest step between consecutive clock PTS: one video frame (or the shortest audio PES). */
  #frameTicks = 0;
  /** Payload bytes of the current audio PES on the clock PID, and the ticks one byte lasted before. */
  #pesBytes = 0;
  #ticksPerByte = 0;
  /** PTS and wall time that program date-times count from; set again after each discontinuity. */
  #anchorPts = -1;
  #anchorWallMs = 0;
  #discontinuityPending = false;

  #inSegment = false;
  #segment: SegmentStart = { startPts: 0, programDateTime: new Date(0), discontinuity: false };
  #segMaxPts = 0;
  #segFrames = 0;
  /** The clock jumped inside this segment: its duration is estimated from before the jump. */
  #segBroken = false;

  constructor(options: SegmentClockOptions) {
    this.#discontinuityTicks = options.discontinuityTicks;
    this.#now = options.now;
    this.#logger = options.logger;
  }

  get inSegment(): boolean {
    return this.#inSegment;
  }

  /** A segment has ever started. */
  get started(): boolean {
    return this.#anchorPts >= 0;
  }

  /** The last clock PTS seen, or -1. */
  get lastPts(): number {
    return this.#lastPts;
  }

  /** Where `pts` stands for the cut rule. */
  cutPoint(randomAccess: boolean, pts: number): CutPoint {
    return {
      randomAccess,
      inSegment: this.#inSegment,
      discontinuityPending: this.#discontinuityPending,
      ticksSinceStart: ptsDelta(this.#segment.startPts, pts),
    };
  }

  /** A video access unit started (on any video PID: frames are counted for the measured rate). */
  countFrame(): void {
    this.#segFrames++;
  }

  /** The next segment starts a new timeline (the program changed). */
  breakTimeline(): void {
    this.#discontinuityPending = true;
  }

  /** An audio PES with `payloadBytes` in its first packet started at `pts` on the clock PID. */
  observeAudioPes(pid: number, pts: number, payloadBytes: number): void {
    // Audio PES carry a varying number of frames: remember ticks per byte to size the last one.
    if (this.#lastPts >= 0 && this.#pesBytes > 0) {
      const step = ptsDelta(this.#lastPts, pts);
      if (step > 0 && step <= this.#discontinuityTicks) this.#ticksPerByte = step / this.#pesBytes;
    }
    this.#pesBytes = payloadBytes;
    this.observe(pid, pts);
  }

  /** More payload of the current audio PES on the clock PID. */
  countPayload(bytes: number): void {
    this.#pesBytes += bytes;
  }

  observe(pid: number, pts: number): void {
    if (this.#lastPts >= 0) {
      const step = ptsDelta(this.#lastPts, pts);
      // Forward beyond the threshold, or backward beyond what frame reordering can explain.
      if (step > this.#discontinuityTicks || step < -Math.min(this.#discontinuityTicks, REORDER_TOLERANCE_TICKS)) {
        this.#logger?.warn('timestamp discontinuity', { pid, from: this.#lastPts, to: pts, seconds: ticksToSeconds(step) });
        this.#discontinuityPending = true;
        if (this.#inSegment) this.#segBroken = true;
      } else if (step !== 0 && (this.#frameTicks === 0 || Math.abs(step) < this.#frameTicks)) {
        // Smallest step either way: with B-frames, decode order moves PTS back by single frames.
        this.#frameTicks = Math.abs(step);
      }
    }
    this.#lastPts = pts;
    if (this.#inSegment && !this.#segBroken && ptsDelta(this.#segMaxPts, pts) > 0) this.#segMaxPts = pts;
  }

  /** A segment opens at `pts` (the open one, if any, was closed first). */
  open(pts: number): SegmentStart {
    const discontinuity = this.#discontinuityPending;
    if (this.#anchorPts < 0 || discontinuity) {
      this.#anchorPts = pts;
      this.#anchorWallMs = this.#now();
    }
    this.#discontinuityPending = false;
    this.#inSegment = true;
    this.#segMaxPts = pts;
    this.#segBroken = false;
    this.#segFrames = 1; // the unit that opens the segment
    const programDateTime = new Date(this.#anchorWallMs + ticksToSeconds(ptsDelta(this.#anchorPts, pts)) * 1000);
    this.#segment = { startPts: pts, programDateTime, discontinuity };
    return this.#segment;
  }

  /**
   * The open segment closes where the next opens (`nextPts`), or, with nextPts < 0 (input
   * ended), after the last unit seen. `videoClock`: frames are counted for the measured rate.
   */
  close(nextPts: number, videoClock: boolean): ClosedTiming {
    const start = this.#segment.startPts;
    const ticks =
      nextPts >= 0 && !this.#segBroken ? ptsDelta(start, nextPts) : ptsDelta(start, this.#segMaxPts) + this.#lastUnitTicks(videoClock);
    const duration = Math.max(0, ticksToSeconds(ticks));
    const frames = videoClock ? this.#segFrames - (nextPts >= 0 ? 1 : 0) : 0;
    const measuredFps = frames > 1 && duration > 0 ? Math.round((frames / duration) * 1000) / 1000 : undefined;
    this.#inSegment = false;
    return { ...this.#segment, duration, measuredFps };
  }

  /** How long the last unit seen lasts: a frame for video, bytes × ticks-per-byte for audio. */
  #lastUnitTicks(videoClock: boolean): number {
    if (!videoClock && this.#ticksPerByte > 0 && this.#pesBytes > 0) return Math.round(this.#pesBytes * this.#ticksPerByte);
    return this.#frameTicks;
  }
}
