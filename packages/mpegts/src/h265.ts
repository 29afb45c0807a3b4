/**
 * H.265 (ITU-T H.265): NAL unit types (Table 7-1), IRAP keyframes, and the sequence parameter
 * set fields HLS needs (ISO/IEC 14496-15 Annex E codecs string, resolution).
 */
import { BitReader } from './bit-reader';
import { plausiblePictureSize, toRbsp } from './nal';

export const H265Nal = {
  /** BLA_W_LP … CRA_NUT plus reserved 22–23: intra random access point pictures. */
  IRAP_FIRST: 16,
  IRAP_LAST: 23,
  IDR_W_RADL: 19,
  IDR_N_LP: 20,
  CRA: 21,
  /** Highest VCL type (reserved non-IRAP VCL types end at 31). */
  VCL_LAST: 31,
  VPS: 32,
  SPS: 33,
  PPS: 34,
  AUD: 35,
} as const;

/** nal_unit_type: 6 bits, bits 6–1 of the first NAL header byte. */
export const h265NalType = (b: Uint8Array, o: number): number => (b[o] >> 1) & 0x3f;
export const isH265Vcl = (type: number): boolean => type <= H265Nal.VCL_LAST;
export const isH265Irap = (type: number): boolean => type >= H265Nal.IRAP_FIRST && type <= H265Nal.IRAP_LAST;

export interface H265Sps {
  profileSpace: number;
  tierFlag: number;
  profileIdc: number;
  /** general_profile_compatibility_flag[0..31] as read, flag 0 in the top bit. */
  compatibilityFlags: number;
  /** The 48 bits of general constraint flags as 6 bytes. */
  constraintBytes: number[];
  levelIdc: number;
  /** sps_max_sub_layers_minus1 + 1: hvcC numTemporalLayers. */
  temporalLayers: number;
  /** sps_temporal_id_nesting_flag: hvcC temporalIdNested. */
  temporalIdNesting: number;
  chromaFormatIdc: number;
  /** bit_depth_luma_minus8 + 8. */
  bitDepthLuma: number;
  /** bit_depth_chroma_minus8 + 8. */
  bitDepthChroma: number;
  width: number;
  height: number;
}

/** Parses an SPS NAL unit (2-byte header included); null when truncated or malformed. */
export function parseH265Sps(nal: Uint8Array): H265Sps | null {
  if (nal.length < 16 || h265NalType(nal, 0) !== H265Nal.SPS) return null;
  try {
    const r = new BitReader(toRbsp(nal.subarray(2)));
    r.skip(4); // sps_video_parameter_set_id
    const maxSubLayersMinus1 = r.u(3);
    const temporalIdNesting = r.u(1); // sps_temporal_id_nesting_flag
    // profile_tier_level(1, sps_max_sub_layers_minus1), §7.3.3
    const profileSpace = r.u(2);
    const tierFlag = r.u(1);
    const profileIdc = r.u(5);
    const compatibilityFlags = r.u(32);
    const constraintBytes: number[] = [];
    for (let i = 0; i < 6; i++) constraintBytes.push(r.u(8));
    const levelIdc = r.u(8);
    const subProfile: number[] = [];
    const subLevel: number[] = [];
    for (let i = 0; i < maxSubLayersMinus1; i++) {
      subProfile.push(r.flag());
      subLevel.push(r.flag());
    }
    if (maxSubLayersMinus1 > 0) r.skip(2 * (8 - maxSubLayersMinus1)); // reserved_zero_2bits
    for (let i = 0; i < maxSubLayersMinus1; i++) {
      if (subProfile[i]) r.skip(88);
      if (subLevel[i]) r.skip(8);
    }
    r.ue(); // sps_seq_parameter_set_id
    const chromaFormatIdc = r.ue();
    let separateColourPlane = 0;
    if (chromaFormatIdc === 3) separateColourPlane = r.flag();
    let width = r.ue(); // pic_width_in_luma_samples
    let height = r.ue(); // pic_height_in_luma_samples
    if (r.flag()) {
      // conformance_window offsets are in chroma units (Table 6-1).
      const chroma = separateColourPlane ? 0 : chromaFormatIdc;
      const subWidth = chroma === 1 || chroma === 2 ? 2 : 1;
      const subHeight = chroma === 1 ? 2 : 1;
      const left = r.ue();
      const right = r.ue();
      const top = r.ue();
      const bottom = r.ue();
      width -= subWidth * (left + right);
      height -= subHeight * (top + bottom);
    }
    if (!plausiblePictureSize(width, height)) return null;
    const bitDepthLuma = r.ue() + 8; // bit_depth_luma_minus8
    const bitDepthChroma = r.ue() + 8; // bit_depth_chroma_minus8
    return {
      profileSpace,
      tierFlag,
      profileIdc,
      compatibilityFlags,
      constraintBytes,
      levelIdc,
      temporalLayers: maxSubLayersMinus1 + 1,
      temporalIdNesting,
      chromaFormatIdc,
      bitDepthLuma,
      bitDepthChroma,
      width,
      height,
    };
  } catch (e) {
    if (e instanceof RangeError) return null;
    throw e;
  }
}

/**
 * ISO/IEC 14496-15 Annex E: `hvc1.<space><profile>.<compat, bit-reversed hex>.<L|H><level>[.<constraint bytes>]`,
 * trailing zero constraint bytes left out — e.g. `hvc1.1.6.L93.B0`.
 */
export function h265CodecString(
  sps: Pick<H265Sps, 'profileSpace' | 'tierFlag' | 'profileIdc' | 'compatibilityFlags' | 'constraintBytes' | 'levelIdc'>,
): string {
  const space = ['', 'A', 'B', 'C'][sps.profileSpace];
  let reversed = 0;
  for (let i = 0; i < 32; i++) {
    if (Math.floor(sps.compatibilityFlags / 2 ** (31 - i)) % 2 === 1) reversed += 2 ** i;
  }
  const constraints = [...sps.constraintBytes];
  while (constraints.length > 0 && constraints[constraints.length - 1] === 0) constraints.pop();
  const parts = [
    'hvc1',
    `${space}${sps.profileIdc}`,
    reversed.toString(16).toUpperCase(),
    `${sps.tierFlag ? 'H' : 'L'}${sps.levelIdc}`,
    ...constraints.map((b) => b.toString(16).toUpperCase()),
  ];
  return parts.join('.');
}
