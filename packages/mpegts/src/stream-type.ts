/**
 * stream_type values from the PMT (ISO/IEC 13818-1 Table 2-34, and ATSC/ITU-T H.222 amendments)
 * that a live HLS stream can carry.
 */
export const StreamType = {
  /** ISO/IEC 11172-3, MPEG-1 audio (MP3 is layer III). */
  MPEG1_AUDIO: 0x03,
  /** ISO/IEC 13818-3, MPEG-2 audio (MP3 at lower sample rates). */
  MPEG2_AUDIO: 0x04,
  /** ISO/IEC 13818-7, AAC in ADTS. */
  AAC_ADTS: 0x0f,
  /** ITU-T H.264 | ISO/IEC 14496-10. */
  H264: 0x1b,
  /** ITU-T H.265 | ISO/IEC 23008-2. */
  H265: 0x24,
} as const;

export type MediaKind = 'h264' | 'h265' | 'aac' | 'mp3' | 'other';

export function mediaKind(streamType: number): MediaKind {
  switch (streamType) {
    case StreamType.H264:
      return 'h264';
    case StreamType.H265:
      return 'h265';
    case StreamType.AAC_ADTS:
      return 'aac';
    case StreamType.MPEG1_AUDIO:
    case StreamType.MPEG2_AUDIO:
      return 'mp3';
    default:
      return 'other';
  }
}

export const isVideoKind = (k: MediaKind): k is 'h264' | 'h265' => k === 'h264' || k === 'h265';
export const isAudioKind = (k: MediaKind): k is 'aac' | 'mp3' => k === 'aac' || k === 'mp3';
