/**
 * Elementary-stream access units into MP4 sample data: Annex B video loses its start codes (the
 * muxer adds 4-byte lengths) and its parameter sets and delimiters, which go out of band into
 * avcC/hvcC (ISO/IEC 14496-15 §5.3.2, §8.3.2); ADTS audio loses its headers (ISO/IEC 14496-14 §3.1).
 */
import * as mpegts from '@hlsrelay/mpegts';
import type { AdtsHeader } from '@hlsrelay/mpegts';
import { LEADING_DECODABLE, LEADING_NOT, LEADING_NOT_DECODABLE, LEADING_UNKNOWN } from './sample-flags';

// Bound once: each use of a name re-exported by @hlsrelay/mpegts's index is a getter call, and
// these run for every NAL unit and audio frame (the TS core binds its packet readers alike).
const { indexOfStartCode, trimTrailingZero, h264NalType, H264Nal, h265NalType, H265Nal, isH264Vcl, isH265Irap, isH265Vcl, parseAdtsHeader, adtsSampleRateIndex } = mpegts;

/** What the remuxer takes, per track: one access unit (video) or one PES of ADTS frames (audio). */
export interface TimedAccessUnit {
  /** 33-bit PTS, 90 kHz. */
  pts: number;
  /** 33-bit DTS, 90 kHz (equal to pts when the stream has none). */
  dts: number;
  /** The unit is a random access point (IDR / IRAP). */
  keyframe: boolean;
  /** Annex B bytes for video; one or more ADTS frames for AAC. */
  data: Uint8Array;
  /**
   * Video: `splitVideoAccessUnit(codec, data)` when the caller has it already (it read the
   * keyframe from it), so the unit's start codes are scanned once.
   */
  parts?: VideoSampleParts;
}

/** A lookup by NAL unit type: 1 for the types listed (a table, looked up for every NAL unit). */
function typeTable(size: number, types: number[]): Uint8Array {
  const t = new Uint8Array(size);
  for (const type of types) t[type] = 1;
  return t;
}

/** H.264 NAL unit types (5 bits) that never go into an avc1 sample (Table 7-1). */
const H264_OUT_OF_BAND = typeTable(32, [
  H264Nal.SPS,
  H264Nal.PPS,
  H264Nal.AUD,
  10, // end of sequence
  11, // end of stream
  12, // filler data
  13, // SPS extension
]);
/** H.265 NAL unit types (6 bits) that never go into an hvc1 sample (Table 7-1). */
const H265_OUT_OF_BAND = typeTable(64, [
  H265Nal.VPS,
  H265Nal.SPS,
  H265Nal.PPS,
  H265Nal.AUD,
  36, // EOS_NUT
  37, // EOB_NUT
  38, // FD_NUT (filler)
]);

export interface VideoSampleParts {
  /** NAL units that stay in the sample (slices, SEI), views into the access unit. */
  nals: Uint8Array[];
  /** Parameter sets the unit carries, views into it; to be read only (a unit without any shares one empty list). */
  vps: Uint8Array[];
  sps: Uint8Array[];
  pps: Uint8Array[];
  /** False when the picture is known to be a non-reference one (H.264 nal_ref_idc = 0). */
  referenced: boolean;
  /** Bytes of the VCL NAL units: 0 means the unit held no picture. */
  vclBytes: number;
  /** The picture is IDR (H.264) or IRAP (H.265): where a decoder can start. */
  irap: boolean;
  /** sample_flags is_leading (sample-flags.ts): known for H.265 from the NAL type (RASL, RADL), unknown for H.264. */
  leading: number;
  /**
   * Offset in the unit where a second access unit begins (a PES that carries more than one
   * picture), -1 when it holds one: the parts describe only the first.
   */
  next: number;
}

/**
 * H.265 RADL_N, RADL_R (leading, decodable from the CRA on) and RASL_N, RASL_R (leading, they
 * reference pictures before the CRA: skipped when decoding starts there), Table 7-1.
 */
const H265_RADL = new Set([6, 7]);
const H265_RASL = new Set([8, 9]);

/**
 * After a picture's slices, these NAL unit types begin the next access unit (H.264 §7.4.1.2.3:
 * AUD, SPS, PPS, SEI, 14–18; H.265 §7.4.2.4.4: AUD, VPS, SPS, PPS, prefix SEI, 41–44, 48–55), and
 * so does a slice that is the first of its picture (first_mb_in_slice 0: ue(v) '1', the bit after
 * the 1-byte H.264 header; first_slice_segment_in_pic_flag, the bit after the 2-byte H.265 one).
 */
function startsAccessUnit(codec: 'h264' | 'h265', b: Uint8Array, o: number): boolean {
  if (codec === 'h264') {
    const type = h264NalType(b, o);
    if (isH264Vcl(type)) return (b[o + 1] & 0x80) !== 0;
    return type === H264Nal.AUD || type === H264Nal.SPS || type === H264Nal.PPS || type === H264Nal.SEI || (type >= 14 && type <= 18);
  }
  const type = h265NalType(b, o);
  if (isH265Vcl(type)) return (b[o + 2] & 0x80) !== 0;
  return (type >= H265Nal.VPS && type <= H265Nal.AUD) || type === 39 || (type >= 41 && type <= 44) || (type >= 48 && type <= 55);
}

/** The list of no NAL units, shared (frozen: nothing may add to it). */
const NO_NALS = Object.freeze([]) as unknown as Uint8Array[];

/** `list` with `nal` at its end: a new list when `list` is NO_NALS. */
function added(list: Uint8Array[], nal: Uint8Array): Uint8Array[] {
  if (list === NO_NALS) return [nal];
  list.push(nal);
  return list;
}

/**
 * Splits an Annex B access unit of `codec` (views, no copies); see `next` for a PES of several.
 * One pass over its bytes: each start code is found once (natively), and only the NAL units
 * that stay in the sample or describe its configuration get a view.
 */
export function splitVideoAccessUnit(codec: 'h264' | 'h265', au: Uint8Array): VideoSampleParts {
  // Parameter sets come with keyframes only: their lists stay the shared empty one until one is found.
  const out: VideoSampleParts = { nals: [], vps: NO_NALS, sps: NO_NALS, pps: NO_NALS, referenced: true, vclBytes: 0, irap: false, leading: LEADING_UNKNOWN, next: -1 };
  const h264 = codec === 'h264';
  let firstVcl = true;
  let lastEnd = 0;
  let code = indexOfStartCode(au, 0);
  while (code >= 0) {
    const start = code + 3;
    code = indexOfStartCode(au, start);
    const end = code < 0 ? au.length : trimTrailingZero(au, start, code);
    if (end <= start) continue;
    if (!firstVcl && startsAccessUnit(codec, au, start)) {
      out.next = lastEnd;
      break;
    }
    lastEnd = end;
    if (h264) {
      const type = h264NalType(au, start);
      if (type === H264Nal.SPS) out.sps = added(out.sps, au.subarray(start, end));
      else if (type === H264Nal.PPS) out.pps = added(out.pps, au.subarray(start, end));
      if (H264_OUT_OF_BAND[type] === 1) continue;
      if (isH264Vcl(type)) {
        out.vclBytes += end - start;
        if (firstVcl) {
          // nal_ref_idc: 2 bits of the header byte; 0 = no other picture predicts from this one.
          out.referenced = ((au[start] >> 5) & 0x03) !== 0;
          out.irap = type === H264Nal.IDR;
        }
        firstVcl = false;
      }
    } else {
      const type = h265NalType(au, start);
      if (type === H265Nal.VPS) out.vps = added(out.vps, au.subarray(start, end));
      else if (type === H265Nal.SPS) out.sps = added(out.sps, au.subarray(start, end));
      else if (type === H265Nal.PPS) out.pps = added(out.pps, au.subarray(start, end));
      if (H265_OUT_OF_BAND[type] === 1) continue;
      if (isH265Vcl(type)) {
        out.vclBytes += end - start;
        if (firstVcl) {
          out.irap = isH265Irap(type);
          out.leading = H265_RASL.has(type) ? LEADING_NOT_DECODABLE : H265_RADL.has(type) ? LEADING_DECODABLE : LEADING_NOT;
        }
        firstVcl = false;
      }
    }
    out.nals.push(au.subarray(start, end));
  }
  return out;
}

export interface AdtsFrame {
  header: AdtsHeader;
  /** sampling_frequency_index, which the AudioSpecificConfig repeats. */
  sampleRateIndex: number;
  /** The raw_data_block, header and CRC removed (a view). */
  raw: Uint8Array;
}

/** protection_absent: 1 bit, byte 1 bit 0 — 0 means a 16-bit CRC follows the 7-byte header (ISO/IEC 13818-7 §6.2.1). */
const adtsHeaderLength = (b: Uint8Array, o: number): number => ((b[o + 1] & 0x01) === 1 ? 7 : 9);

/**
 * The ADTS frames of a PES payload. Stops at the first byte that is not a frame start or a frame
 * that runs past the end, and says how many bytes it could not use.
 */
export function splitAdtsFrames(data: Uint8Array): { frames: AdtsFrame[]; skipped: number } {
  const frames: AdtsFrame[] = [];
  let o = 0;
  while (o < data.length) {
    const header = parseAdtsHeader(data, o);
    const hl = adtsHeaderLength(data, o);
    if (!header || header.frameLength <= hl || o + header.frameLength > data.length) break;
    frames.push({ header, sampleRateIndex: adtsSampleRateIndex(data, o), raw: data.subarray(o + hl, o + header.frameLength) });
    o += header.frameLength;
  }
  return { frames, skipped: data.length - o };
}
