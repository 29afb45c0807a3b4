/** MPEG audio frame headers (ISO/IEC 11172-3 §2.4.2.3, 13818-3): enough to name the codec. */

const SAMPLE_RATES: Record<number, number[]> = {
  3: [44100, 48000, 32000], // MPEG-1
  2: [22050, 24000, 16000], // MPEG-2
  0: [11025, 12000, 8000], // MPEG-2.5
};

/** frame sync: 11 bits, all ones. */
export const isMpegAudioSync = (b: Uint8Array, o: number): boolean => b[o] === 0xff && (b[o + 1] & 0xe0) === 0xe0;
/** version ID: 2 bits, byte 1 bits 4–3 (3 MPEG-1, 2 MPEG-2, 0 MPEG-2.5, 1 reserved). */
export const mpegAudioVersion = (b: Uint8Array, o: number): number => (b[o + 1] >> 3) & 0x03;
/** layer: 2 bits, byte 1 bits 2–1 (1 = layer III, 2 = II, 3 = I, 0 reserved). */
export const mpegAudioLayerBits = (b: Uint8Array, o: number): number => (b[o + 1] >> 1) & 0x03;
/** sampling_frequency: 2 bits, byte 2 bits 3–2. */
export const mpegAudioSampleRateIndex = (b: Uint8Array, o: number): number => (b[o + 2] >> 2) & 0x03;

export interface MpegAudioHeader {
  /** 1 (MPEG-1), 2 (MPEG-2) or 2.5. */
  version: number;
  /** 1, 2 or 3. */
  layer: number;
  sampleRate: number;
}

export function parseMpegAudioHeader(b: Uint8Array, o = 0): MpegAudioHeader | null {
  if (b.length - o < 4 || !isMpegAudioSync(b, o)) return null;
  const v = mpegAudioVersion(b, o);
  const layerBits = mpegAudioLayerBits(b, o);
  const sampleRate = SAMPLE_RATES[v]?.[mpegAudioSampleRateIndex(b, o)];
  if (layerBits === 0 || sampleRate === undefined) return null;
  return { version: v === 3 ? 1 : v === 2 ? 2 : 2.5, layer: 4 - layerBits, sampleRate };
}

/**
 * RFC 6381 name: `mp4a.40.34` (MPEG-4 audio object type 34, layer III) is what Apple's HLS
 * authoring spec lists for MP3; layers I/II use the older MPEG-4 OTI form (`mp4a.6B` for
 * MPEG-1, `mp4a.69` for MPEG-2).
 */
export function mpegAudioCodecString(h: MpegAudioHeader): string {
  if (h.layer === 3) return 'mp4a.40.34';
  return h.version === 1 ? 'mp4a.6B' : 'mp4a.69';
}
