/**
 * Test driver: an MPEG-TS file through TsRemuxer, cut at the first keyframe at or after
 * `targetSeconds` (the segmenter's cut rule). Not a test file itself.
 */
import { secondsToTicks, type ElementaryStream } from '@hlsrelay/mpegts';
import { TsRemuxer, type InitSegment, type MediaSegment, type RemuxOutput } from '@hlsrelay/fmp4';

/** A segment with its fragments' bytes laid end to end (what the segmenter writes to its file). */
export interface RemuxedSegment extends MediaSegment {
  bytes: Uint8Array;
}

export interface RemuxResult {
  streams: ElementaryStream[];
  inits: InitSegment[];
  segments: RemuxedSegment[];
  /** Access units given to the remuxer per track index (video: frames; audio: PES). */
  units: number[];
}

export function remuxTs(ts: Uint8Array, targetSeconds = 1, chunk = 64 * 1024, fragmentBytes?: number): RemuxResult {
  const target = secondsToTicks(targetSeconds);
  const collector = new OutputCollector();
  const remuxer = new TsRemuxer({ wantsCut: (ticks) => ticks >= target, output: (o) => collector.add(o), fragmentBytes });
  for (let o = 0; o < ts.length; o += chunk) remuxer.push(ts.subarray(o, o + chunk));
  remuxer.finish();
  return { streams: remuxer.streams, inits: collector.inits, segments: collector.segments, units: remuxer.units };
}

/** Remuxer outputs gathered: inits, and each segment with the bytes of the fragments before it. */
export class OutputCollector {
  readonly inits: InitSegment[] = [];
  readonly segments: RemuxedSegment[] = [];
  /** Output types in order ('init', 'fragment', 'segment'). */
  readonly types: string[] = [];
  #parts: Uint8Array[] = [];

  add(o: RemuxOutput): void {
    this.types.push(o.type);
    if (o.type === 'init') this.inits.push(o.init);
    else if (o.type === 'fragment') this.#parts.push(Buffer.concat(o.parts)); // copied now: the views are valid only during the call
    else {
      const bytes = Buffer.concat(this.#parts);
      this.#parts = [];
      if (bytes.length !== o.segment.size) throw new Error(`segment size ${o.segment.size} but its fragments hold ${bytes.length} bytes`);
      this.segments.push({ ...o.segment, bytes });
    }
  }
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
