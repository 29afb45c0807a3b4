/**
 * Hand-built H.264 and AAC elementary-stream bytes for the golden box tests, every field named.
 * Not a test file itself.
 */

/** Bytes from a string of '0'/'1' (spaces ignored), padded with the RBSP stop bit and zeros. */
export function rbsp(bits: string): number[] {
  const b = bits.replace(/\s+/g, '') + '1'; // rbsp_stop_one_bit
  const padded = b.padEnd(Math.ceil(b.length / 8) * 8, '0'); // rbsp_alignment_zero_bits
  const out: number[] = [];
  for (let i = 0; i < padded.length; i += 8) out.push(parseInt(padded.slice(i, i + 8), 2));
  return out;
}

/** H.264 SPS, Constrained Baseline level 3.0, 160x128, no VUI (ITU-T H.264 §7.3.2.1.1). */
export const SPS = [
  0x67, // forbidden_zero_bit 0, nal_ref_idc 3, nal_unit_type 7 (SPS)
  0x42, // profile_idc 66 (Baseline)
  0xc0, // constraint_set0_flag 1, constraint_set1_flag 1, others 0
  0x1e, // level_idc 30
  ...rbsp(
    '1' + // seq_parameter_set_id ue(0)
      '1' + // log2_max_frame_num_minus4 ue(0)
      '011' + // pic_order_cnt_type ue(2)
      '010' + // max_num_ref_frames ue(1)
      '0' + // gaps_in_frame_num_value_allowed_flag
      '0001010' + // pic_width_in_mbs_minus1 ue(9): 10 macroblocks = 160
      '0001000' + // pic_height_in_map_units_minus1 ue(7): 8 macroblocks = 128
      '1' + // frame_mbs_only_flag
      '1' + // direct_8x8_inference_flag
      '0' + // frame_cropping_flag
      '0', // vui_parameters_present_flag
  ),
];

/** H.264 PPS: ids 0, CAVLC, one slice group (§7.3.2.2); its exact bits do not matter to the muxer. */
export const PPS = [0x68, 0xce, 0x38, 0x80];
/** Access unit delimiter: primary_pic_type 0 (I) (§7.3.2.4). */
export const AUD = [0x09, 0x10];
/** An IDR slice NAL unit: nal_ref_idc 3, type 5; the slice data is opaque to the muxer. */
export const IDR = [0x65, 0x88, 0x80, 0x40];
/** A non-reference P slice: nal_ref_idc 0, type 1. */
export const P_NONREF = [0x01, 0x9a, 0x02];

/** Annex B: each NAL unit behind a 4-byte start code. */
export const annexB = (...nals: number[][]): Uint8Array => Uint8Array.from(nals.flatMap((n) => [0, 0, 0, 1, ...n]));

/** One ADTS frame (ISO/IEC 13818-7 §6.2): AAC-LC, 48 kHz, stereo, no CRC, with `raw` as its payload. */
export function adtsFrame(raw: number[]): Uint8Array {
  const length = 7 + raw.length;
  return Uint8Array.from([
    0xff, // syncword bits 11–4
    0xf1, // syncword bits 3–0, ID 0 (MPEG-4), layer 00, protection_absent 1
    0x4c, // profile 01 (LC: object type 2), sampling_frequency_index 0011 (48 kHz), private_bit 0, channel_configuration bit 2 = 0
    0x80 | ((length >> 11) & 0x03), // channel_configuration bits 1–0 = 10 (2), original/copy 0, home 0, copyright bits 0, frame_length bits 12–11
    (length >> 3) & 0xff, // aac_frame_length bits 10–3
    ((length & 0x07) << 5) | 0x1f, // aac_frame_length bits 2–0, adts_buffer_fullness bits 10–6 (0x7FF: VBR)
    0xfc, // adts_buffer_fullness bits 5–0, number_of_raw_data_blocks_in_frame 0
    ...raw,
  ]);
}
