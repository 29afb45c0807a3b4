/**
 * Where a segment ends: at a random access point (a keyframe, or a PES start for audio-only
 * streams) once the segment has lasted at least the target duration (RFC 8216 §6.2.1;
 * HLS-NOTES: cut at the first keyframe at or after the target). The first random access point
 * opens the first segment, and after a discontinuity (a timestamp jump or a new program) the
 * next one opens a segment at once, so no segment spans two timelines.
 */
export interface CutPoint {
  /** A decoder can start here: a keyframe, or any PES start of an audio-only stream. */
  randomAccess: boolean;
  /** A segment is open (false before the first random access point). */
  inSegment: boolean;
  /** The timeline broke since the open segment started (EXT-X-DISCONTINUITY follows). */
  discontinuityPending: boolean;
  /** 90 kHz ticks from the open segment's first PTS to this point's PTS. */
  ticksSinceStart: number;
}

export const shouldCut = (p: CutPoint, targetTicks: number): boolean =>
  p.randomAccess && (!p.inSegment || p.discontinuityPending || p.ticksSinceStart >= targetTicks);
