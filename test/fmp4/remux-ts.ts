/**
 * Test driver: an MPEG-TS file through TsRemuxer, cut at the first keyframe at or after
 * `targetSeconds` (the segmenter's cut rule). Not a test file itself.
 */
import { secondsToTicks, type ElementaryStream } from '@hlsrelay/mpegts';
import { TsRemuxer, type InitSegment, type MediaSegment } from '@hlsrelay/fmp4';

export interface RemuxResult {
  streams: ElementaryStream[];
  inits: InitSegment[];
  segments: MediaSegment[];
  /** Access units given to the remuxer per track index (video: frames; audio: PES). */
  units: number[];
}

export function remuxTs(ts: Uint8Array, targetSeconds = 1, chunk = 64 * 1024): RemuxResult {
  const inits: InitSegment[] = [];
  const segments: MediaSegment[] = [];
  const target = secondsToTicks(targetSeconds);
  const remuxer = new TsRemuxer({
    wantsCut: (ticks) => ticks >= target,
    output: (o) => (o.type === 'init' ? inits.push(o.init) : segments.push(o.segment)),
  });
  for (let o = 0; o < ts.length; o += chunk) remuxer.push(ts.subarray(o, o + chunk));
  remuxer.finish();
  return { streams: remuxer.streams, inits, segments, units: remuxer.units };
}

/** Init, then its segments, as one file (what a player fetches, laid end to end). */
export function concatenated(r: RemuxResult): Uint8Array {
  const parts: Uint8Array[] = [];
  let init: InitSegment | null = null;
  for (const s of r.segments) {
    if (s.init !== init) {
      parts.push(s.init.bytes);
      init = s.init;
    }
    parts.push(s.bytes);
  }
  return Buffer.concat(parts);
}
