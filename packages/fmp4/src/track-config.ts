/**
 * What an init segment says about one track: the codec configuration taken from the stream's
 * parameter sets or ADTS header. Two configurations with the same fingerprint decode alike; any
 * other value (new SPS/PPS/VPS bytes, another sample rate or channel layout) needs a new init.
 */
import { aacCodecString, h264CodecString, h265CodecString, type H264Sps, type H265Sps } from '@hlsrelay/mpegts';

export interface AvcConfig {
  codec: 'h264';
  sps: H264Sps;
  /** NAL units, header byte included, no start codes. */
  spsNals: Uint8Array[];
  ppsNals: Uint8Array[];
}

export interface HevcConfig {
  codec: 'h265';
  sps: H265Sps;
  vpsNals: Uint8Array[];
  spsNals: Uint8Array[];
  ppsNals: Uint8Array[];
}

export interface AacConfig {
  codec: 'aac';
  /** MPEG-4 audio object type (ADTS profile + 1; 2 = AAC-LC). */
  objectType: number;
  sampleRateIndex: number;
  sampleRate: number;
  channels: number;
}

export type VideoConfig = AvcConfig | HevcConfig;
export type TrackConfig = VideoConfig | AacConfig;

export const isVideoConfig = (c: TrackConfig): c is VideoConfig => c.codec !== 'aac';

const hex = (nals: Uint8Array[]): string => nals.map((n) => Buffer.from(n.buffer, n.byteOffset, n.length).toString('hex')).join(',');

/** Equal for configurations an init segment cannot tell apart. */
export function configFingerprint(c: TrackConfig): string {
  switch (c.codec) {
    case 'h264':
      return `avc1:${hex(c.spsNals)}/${hex(c.ppsNals)}`;
    case 'h265':
      return `hvc1:${hex(c.vpsNals)}/${hex(c.spsNals)}/${hex(c.ppsNals)}`;
    case 'aac':
      return `mp4a:${c.objectType}/${c.sampleRateIndex}/${c.channels}`;
  }
}

/** RFC 6381 CODECS value, built by the mpegts package's functions (one home for each string). */
export function codecString(c: TrackConfig): string {
  switch (c.codec) {
    case 'h264':
      return h264CodecString(c.sps);
    case 'h265':
      return h265CodecString(c.sps);
    case 'aac':
      return aacCodecString(c);
  }
}

/** The track's media timescale (mdhd): 90 kHz for video, the sample rate for audio (one AAC sample = one tick). */
export const timescaleOf = (c: TrackConfig): number => (c.codec === 'aac' ? c.sampleRate : 90_000);
