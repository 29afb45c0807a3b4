/**
 * Is this video access unit a keyframe? Decided from its NAL units, not from the
 * random_access_indicator, which encoders set inconsistently. x264 writes a long SEI before
 * the first IDR, so the answer can need several TS packets of the PES.
 */
import { h264NalType, H264Nal, isH264Vcl } from './h264';
import { h265NalType, isH265Irap, isH265Vcl, H265Nal } from './h265';
import { nextNalUnit } from './nal';

export type AccessUnitKind = 'key' | 'delta' | 'unknown';

export interface AccessUnitProbe {
  /** 'unknown' when no slice has been seen yet in the bytes given. */
  kind: AccessUnitKind;
  /** The SPS NAL unit (header included) when the bytes hold a complete one. */
  sps?: Uint8Array;
}

/**
 * Classifies the elementary-stream bytes at the start of a video PES. `complete` says whether
 * more bytes of the unit may still come (a truncated last NAL unit is not trusted for the SPS).
 */
export function probeAccessUnit(codec: 'h264' | 'h265', es: Uint8Array, complete: boolean): AccessUnitProbe {
  const probe: AccessUnitProbe = { kind: 'unknown' };
  // One unit at a time: the answer is at the first slice, and the slice data after it is never scanned.
  for (let u = nextNalUnit(es, 0); u; u = nextNalUnit(es, u.end)) {
    if (u.start >= u.end) continue;
    // The last unit: no start code after it (a truncated one is not trusted for the SPS).
    const isLast = u.end === es.length;
    if (codec === 'h264') {
      const type = h264NalType(es, u.start);
      if (type === H264Nal.SPS && (!isLast || complete)) probe.sps = es.subarray(u.start, u.end);
      if (isH264Vcl(type)) {
        probe.kind = type === H264Nal.IDR ? 'key' : 'delta';
        return probe;
      }
    } else {
      const type = h265NalType(es, u.start);
      if (type === H265Nal.SPS && (!isLast || complete)) probe.sps = es.subarray(u.start, u.end);
      if (isH265Vcl(type)) {
        probe.kind = isH265Irap(type) ? 'key' : 'delta';
        return probe;
      }
    }
  }
  return probe;
}
