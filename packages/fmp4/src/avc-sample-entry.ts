/** `avc1` with its AVCDecoderConfigurationRecord `avcC` (ISO/IEC 14496-15 §5.3.3.1, §5.4.2). */
import type { BoxWriter } from './box-writer';
import { writeVisualSampleEntry } from './sample-entry';
import type { AvcConfig } from './track-config';

/** Samples carry 4-byte NAL unit lengths: lengthSizeMinusOne = 3. */
export const NAL_LENGTH_SIZE = 4;

// Profiles whose avcC carries chroma format and bit depths (§5.3.3.1.1).
const EXTENDED_AVCC_PROFILES = new Set([100, 110, 122, 144]);

export function writeAvcC(w: BoxWriter, c: AvcConfig): void {
  w.box('avcC', () => {
    w.u8(1); // configurationVersion
    w.u8(c.sps.profileIdc); // AVCProfileIndication
    w.u8(c.sps.constraintFlags); // profile_compatibility
    w.u8(c.sps.levelIdc); // AVCLevelIndication
    w.u8(0xfc | (NAL_LENGTH_SIZE - 1)); // reserved '111111', lengthSizeMinusOne
    w.u8(0xe0 | c.spsNals.length); // reserved '111', numOfSequenceParameterSets
    for (const sps of c.spsNals) w.u16(sps.length).bytesField(sps); // sequenceParameterSetLength, NAL unit
    w.u8(c.ppsNals.length); // numOfPictureParameterSets
    for (const pps of c.ppsNals) w.u16(pps.length).bytesField(pps); // pictureParameterSetLength, NAL unit
    if (EXTENDED_AVCC_PROFILES.has(c.sps.profileIdc)) {
      w.u8(0xfc | c.sps.chromaFormatIdc); // reserved '111111', chroma_format
      w.u8(0xf8 | (c.sps.bitDepthLuma - 8)); // reserved '11111', bit_depth_luma_minus8
      w.u8(0xf8 | (c.sps.bitDepthChroma - 8)); // reserved '11111', bit_depth_chroma_minus8
      w.u8(0); // numOfSequenceParameterSetExt
    }
  });
}

/** `avc1`: parameter sets only in the sample entry, never required in samples (§5.4.2.1). */
export function writeAvcSampleEntry(w: BoxWriter, c: AvcConfig): void {
  writeVisualSampleEntry(w, 'avc1', c.sps.width, c.sps.height, () => writeAvcC(w, c));
}
