/**
 * Test driver: an MPEG-TS file through the PES demuxer and the fMP4 remuxer, cut at the first
 * keyframe at or after `targetSeconds` (the segmenter's cut rule), as the live segmenter will.
 * Not a test file itself.
 */
import { isVideoKind, PesDemuxer, probeAccessUnit, ptsDelta, secondsToTicks, type ElementaryStream, type PesUnit } from '@hlsrelay/mpegts';
import { Fmp4Remuxer, type InitSegment, type MediaSegment, type RemuxOutput } from '@hlsrelay/fmp4';

export interface RemuxResult {
  streams: ElementaryStream[];
  inits: InitSegment[];
  segments: MediaSegment[];
  /** Access units given to the remuxer per track index (video: frames; audio: PES). */
  units: number[];
}

export function remuxTs(ts: Uint8Array, targetSeconds = 1, chunk = 64 * 1024): RemuxResult {
  const result: RemuxResult = { streams: [], inits: [], segments: [], units: [] };
  let remuxer: Fmp4Remuxer | null = null;
  const pids: number[] = [];
  let clockIndex = 0;
  let segmentStart = -1;
  const take = (outputs: RemuxOutput[]): void => {
    for (const o of outputs) {
      if (o.type === 'init') result.inits.push(o.init);
      else result.segments.push(o.segment);
    }
  };
  const demuxer = new PesDemuxer({
    program(streams) {
      if (remuxer) throw new Error('program change: not expected in these fixtures');
      result.streams = streams;
      const media = streams.filter((s) => s.kind !== 'other');
      for (const s of media) pids.push(s.pid);
      remuxer = new Fmp4Remuxer({ tracks: media.map((s) => s.kind) });
      result.units = media.map(() => 0);
      clockIndex = Math.max(0, media.findIndex((s) => isVideoKind(s.kind)));
    },
    unit(u: PesUnit) {
      const index = pids.indexOf(u.pid);
      if (!remuxer || index < 0) return;
      const video = u.kind === 'h264' || u.kind === 'h265';
      const keyframe = video ? probeAccessUnit(u.kind as 'h264' | 'h265', u.data, true).kind === 'key' : true;
      if (index === clockIndex && keyframe) {
        if (segmentStart >= 0 && ptsDelta(segmentStart, u.pts) >= secondsToTicks(targetSeconds)) {
          take(remuxer.flush(new Map([[index, u.dts]])));
          segmentStart = -1;
        }
        if (segmentStart < 0) segmentStart = u.pts;
      }
      result.units[index]++;
      take(remuxer.push(index, { pts: u.pts, dts: u.dts, keyframe, data: u.data }));
    },
  });
  for (let o = 0; o < ts.length; o += chunk) demuxer.push(ts.subarray(o, o + chunk));
  demuxer.finish();
  if (remuxer) take((remuxer as Fmp4Remuxer).flush());
  return result;
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
