/** AAC in ADTS (ISO/IEC 13818-7 §6.2): the fixed header fields HLS needs. */

export const ADTS_SAMPLE_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** syncword: 12 bits, all ones. */
export const isAdtsSync = (b: Uint8Array, o: number): boolean => b[o] === 0xff && (b[o + 1] & 0xf6) === 0xf0;
/** profile: 2 bits, byte 2 bits 7–6; the MPEG-4 audio object type is profile + 1. */
export const adtsProfile = (b: Uint8Array, o: number): number => b[o + 2] >> 6;
/** sampling_frequency_index: 4 bits, byte 2 bits 5–2. */
export const adtsSampleRateIndex = (b: Uint8Array, o: number): number => (b[o + 2] >> 2) & 0x0f;
/** channel_configuration: 3 bits across bytes 2–3. */
export const adtsChannels = (b: Uint8Array, o: number): number => ((b[o + 2] & 0x01) << 2) | (b[o + 3] >> 6);
/** aac_frame_length: 13 bits across bytes 3–5, header included. */
export const adtsFrameLength = (b: Uint8Array, o: number): number =>
  ((b[o + 3] & 0x03) << 11) | (b[o + 4] << 3) | (b[o + 5] >> 5);

export interface AdtsHeader {
  objectType: number;
  sampleRate: number;
  channels: number;
  frameLength: number;
}

/** The ADTS header at `o`, or null when there is none. */
export function parseAdtsHeader(b: Uint8Array, o = 0): AdtsHeader | null {
  if (b.length - o < 7 || !isAdtsSync(b, o)) return null;
  const sampleRate = ADTS_SAMPLE_RATES[adtsSampleRateIndex(b, o)];
  if (sampleRate === undefined) return null;
  return { objectType: adtsProfile(b, o) + 1, sampleRate, channels: adtsChannels(b, o), frameLength: adtsFrameLength(b, o) };
}

/** RFC 6381: `mp4a.40.<audio object type>` (2 = AAC-LC, 5 = HE-AAC). */
export const aacCodecString = (h: Pick<AdtsHeader, 'objectType'>): string => `mp4a.40.${h.objectType}`;
