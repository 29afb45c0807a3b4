/**
 * H.264 (ITU-T H.264): NAL unit types (Table 7-1), keyframes, and the sequence parameter set
 * fields HLS needs (RFC 6381 codecs string, resolution, frame rate).
 */
import { BitReader } from './bit-reader';
import { plausiblePictureSize, toRbsp } from './nal';

export const H264Nal = {
  SLICE: 1,
  SLICE_PARTITION_A: 2,
  SLICE_PARTITION_B: 3,
  SLICE_PARTITION_C: 4,
  /** Coded slice of an IDR picture: where a decoder can start. */
  IDR: 5,
  SEI: 6,
  SPS: 7,
  PPS: 8,
  AUD: 9,
} as const;

/** nal_unit_type: 5 bits of the NAL header byte. */
export const h264NalType = (b: Uint8Array, o: number): number => b[o] & 0x1f;
export const isH264Vcl = (type: number): boolean => type >= H264Nal.SLICE && type <= H264Nal.IDR;

export interface H264Sps {
  profileIdc: number;
  /** constraint_set0..5 flags and reserved bits: the byte after profile_idc. */
  constraintFlags: number;
  levelIdc: number;
  /** chroma_format_idc (1 = 4:2:0 unless a High profile SPS says otherwise); avcC carries it. */
  chromaFormatIdc: number;
  /** bit_depth_luma_minus8 + 8 (8 unless a High profile SPS says otherwise). */
  bitDepthLuma: number;
  /** bit_depth_chroma_minus8 + 8. */
  bitDepthChroma: number;
  width: number;
  height: number;
  /** From VUI timing (time_scale / 2·num_units_in_tick), when present. */
  frameRate?: number;
}

// Profiles whose SPS carries chroma format and bit depth (§7.3.2.1.1).
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Parses an SPS NAL unit (header byte included); null when it is truncated or malformed. */
export function parseH264Sps(nal: Uint8Array): H264Sps | null {
  if (nal.length < 4 || h264NalType(nal, 0) !== H264Nal.SPS) return null;
  try {
    const r = new BitReader(toRbsp(nal.subarray(1)));
    const profileIdc = r.u(8);
    const constraintFlags = r.u(8);
    const levelIdc = r.u(8);
    r.ue(); // seq_parameter_set_id
    let chromaFormatIdc = 1;
    let separateColourPlane = 0;
    let bitDepthLuma = 8;
    let bitDepthChroma = 8;
    if (HIGH_PROFILES.has(profileIdc)) {
      chromaFormatIdc = r.ue();
      if (chromaFormatIdc === 3) separateColourPlane = r.flag();
      bitDepthLuma = r.ue() + 8; // bit_depth_luma_minus8
      bitDepthChroma = r.ue() + 8; // bit_depth_chroma_minus8
      r.flag(); // qpprime_y_zero_transform_bypass_flag
      if (r.flag()) {
        // seq_scaling_matrix_present_flag: skip each list that is present.
        for (let i = 0; i < (chromaFormatIdc === 3 ? 12 : 8); i++) {
          if (r.flag()) skipScalingList(r, i < 6 ? 16 : 64);
        }
      }
    }
    r.ue(); // log2_max_frame_num_minus4
    const pocType = r.ue();
    if (pocType === 0) {
      r.ue(); // log2_max_pic_order_cnt_lsb_minus4
    } else if (pocType === 1) {
      r.flag(); // delta_pic_order_always_zero_flag
      r.se(); // offset_for_non_ref_pic
      r.se(); // offset_for_top_to_bottom_field
      const cycle = r.ue();
      for (let i = 0; i < cycle; i++) r.se();
    }
    r.ue(); // max_num_ref_frames
    r.flag(); // gaps_in_frame_num_value_allowed_flag
    const widthMbs = r.ue() + 1;
    const heightMapUnits = r.ue() + 1;
    const frameMbsOnly = r.flag();
    if (!frameMbsOnly) r.flag(); // mb_adaptive_frame_field_flag
    r.flag(); // direct_8x8_inference_flag
    let cropLeft = 0;
    let cropRight = 0;
    let cropTop = 0;
    let cropBottom = 0;
    if (r.flag()) {
      cropLeft = r.ue();
      cropRight = r.ue();
      cropTop = r.ue();
      cropBottom = r.ue();
    }
    // Crop units (§7.4.2.1.1, Table 6-1): chroma subsampling, doubled vertically for field coding.
    const chroma = separateColourPlane ? 0 : chromaFormatIdc;
    const cropUnitX = chroma === 0 || chroma === 3 ? 1 : 2;
    const cropUnitY = (chroma === 1 ? 2 : 1) * (2 - frameMbsOnly);
    const sps: H264Sps = {
      profileIdc,
      constraintFlags,
      levelIdc,
      chromaFormatIdc,
      bitDepthLuma,
      bitDepthChroma,
      width: widthMbs * 16 - cropUnitX * (cropLeft + cropRight),
      height: (2 - frameMbsOnly) * heightMapUnits * 16 - cropUnitY * (cropTop + cropBottom),
    };
    if (!plausiblePictureSize(sps.width, sps.height)) return null;
    if (r.flag()) {
      const fps = vuiFrameRate(r);
      if (fps !== undefined) sps.frameRate = fps;
    }
    return sps;
  } catch (e) {
    if (e instanceof RangeError) return null;
    throw e;
  }
}

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

// VUI (Annex E.1.1) up to timing_info.
function vuiFrameRate(r: BitReader): number | undefined {
  if (r.flag()) {
    // aspect_ratio_info_present_flag; 255 = Extended_SAR with explicit 16+16 bits.
    if (r.u(8) === 255) r.skip(32);
  }
  if (r.flag()) r.flag(); // overscan_info_present_flag → overscan_appropriate_flag
  if (r.flag()) {
    r.skip(4); // video_format, video_full_range_flag
    if (r.flag()) r.skip(24); // colour_primaries, transfer_characteristics, matrix_coefficients
  }
  if (r.flag()) {
    r.ue(); // chroma_sample_loc_type_top_field
    r.ue(); // chroma_sample_loc_type_bottom_field
  }
  if (!r.flag()) return undefined; // timing_info_present_flag
  const numUnitsInTick = r.u(32);
  const timeScale = r.u(32);
  if (numUnitsInTick === 0 || timeScale === 0) return undefined;
  // One frame is two ticks (§E.2.1, frame-coded pictures).
  const fps = timeScale / (2 * numUnitsInTick);
  // Outside this the timing is corrupt (and would round to 0 fps in a message, or claim millions).
  return fps >= MIN_FRAME_RATE && fps <= MAX_FRAME_RATE ? fps : undefined;
}

/** Frame rates a VUI may claim: one frame in 1000 s (time-lapse) to 1000 frames a second. */
export const MIN_FRAME_RATE = 0.001;
export const MAX_FRAME_RATE = 1000;

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/** RFC 6381 `avc1.PPCCLL`: profile_idc, constraint byte, level_idc in hex. */
export function h264CodecString(sps: Pick<H264Sps, 'profileIdc' | 'constraintFlags' | 'levelIdc'>): string {
  return `avc1.${hex2(sps.profileIdc)}${hex2(sps.constraintFlags)}${hex2(sps.levelIdc)}`;
}
