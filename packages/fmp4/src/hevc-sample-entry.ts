/** `hvc1` with its HEVCDecoderConfigurationRecord `hvcC` (ISO/IEC 14496-15 §8.3.3.1, §8.4.1). */
import { H265Nal } from '@hlsrelay/mpegts';
import type { BoxWriter } from './box-writer';
import { NAL_LENGTH_SIZE } from './avc-sample-entry';
import { writeVisualSampleEntry } from './sample-entry';
import type { HevcConfig } from './track-config';

export function writeHvcC(w: BoxWriter, c: HevcConfig): void {
  const s = c.sps;
  w.box('hvcC', () => {
    w.u8(1); // configurationVersion
    w.u8((s.profileSpace << 6) | (s.tierFlag << 5) | s.profileIdc); // general_profile_space(2) general_tier_flag(1) general_profile_idc(5)
    w.u32(s.compatibilityFlags); // general_profile_compatibility_flags
    for (const b of s.constraintBytes) w.u8(b); // general_constraint_indicator_flags (48 bits)
    w.u8(s.levelIdc); // general_level_idc
    w.u16(0xf000); // reserved '1111', min_spatial_segmentation_idc = 0 (not signalled)
    w.u8(0xfc); // reserved '111111', parallelismType = 0 (unknown)
    w.u8(0xfc | s.chromaFormatIdc); // reserved '111111', chromaFormat
    w.u8(0xf8 | (s.bitDepthLuma - 8)); // reserved '11111', bitDepthLumaMinus8
    w.u8(0xf8 | (s.bitDepthChroma - 8)); // reserved '11111', bitDepthChromaMinus8
    w.u16(0); // avgFrameRate: unspecified
    // constantFrameRate(2) = 0 unknown, numTemporalLayers(3), temporalIdNested(1), lengthSizeMinusOne(2)
    w.u8(((s.temporalLayers & 0x07) << 3) | (s.temporalIdNesting << 2) | (NAL_LENGTH_SIZE - 1));
    const arrays: Array<[number, Uint8Array[]]> = [
      [H265Nal.VPS, c.vpsNals],
      [H265Nal.SPS, c.spsNals],
      [H265Nal.PPS, c.ppsNals],
    ];
    w.u8(arrays.length); // numOfArrays
    for (const [type, nals] of arrays) {
      // array_completeness = 1: hvc1 keeps every parameter set here, none in the samples (§8.4.1.1.1).
      w.u8(0x80 | type); // array_completeness(1) reserved(1) NAL_unit_type(6)
      w.u16(nals.length); // numNalus
      for (const nal of nals) w.u16(nal.length).bytesField(nal); // nalUnitLength, nalUnit
    }
  });
}

/** `hvc1` (not `hev1`): the form Apple devices play (HLS authoring spec). */
export function writeHevcSampleEntry(w: BoxWriter, c: HevcConfig): void {
  writeVisualSampleEntry(w, 'hvc1', c.sps.width, c.sps.height, () => writeHvcC(w, c));
}
