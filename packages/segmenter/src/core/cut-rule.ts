/**
 * Where a segment ends: at a random access point (a keyframe, or a PES start for audio-only
 * streams) once the segment has lasted at least the target duration (RFC 8216 §6.2.1;
 * HLS-NOTES: cut at the first keyframe at or after the target).
 */
export const shouldCut = (randomAccess: boolean, ticksSinceStart: number, targetTicks: number): boolean =>
  randomAccess && ticksSinceStart >= targetTicks;
