/**
 * `mp4a` with an `esds` (ISO/IEC 14496-14 §5.6) holding the ES_Descriptor of ISO/IEC 14496-1
 * §7.2.6.5 and the AudioSpecificConfig of ISO/IEC 14496-3 §1.6.2.1, built from the ADTS header.
 */
import type { BoxWriter } from './box-writer';
import { writeAudioSampleEntry } from './sample-entry';
import type { AacConfig } from './track-config';

/** Descriptor tags (ISO/IEC 14496-1 Table 1). */
const ES_DESCR_TAG = 0x03;
const DECODER_CONFIG_DESCR_TAG = 0x04;
const DEC_SPECIFIC_INFO_TAG = 0x05;
const SL_CONFIG_DESCR_TAG = 0x06;
/** objectTypeIndication 0x40: Audio ISO/IEC 14496-3 (Table 5). */
const OTI_MPEG4_AUDIO = 0x40;
/** streamType 0x05: AudioStream (Table 6). */
const STREAM_TYPE_AUDIO = 0x05;

/** AudioSpecificConfig: audioObjectType(5) samplingFrequencyIndex(4) channelConfiguration(4) GASpecificConfig(3). */
export function audioSpecificConfig(c: AacConfig): Uint8Array {
  return Uint8Array.from([
    (c.objectType << 3) | (c.sampleRateIndex >> 1), // audioObjectType, samplingFrequencyIndex bits 3–1
    ((c.sampleRateIndex & 1) << 7) | (c.channels << 3), // samplingFrequencyIndex bit 0, channelConfiguration,
    // frameLengthFlag = 0 (1024 samples), dependsOnCoreCoder = 0, extensionFlag = 0
  ]);
}

/** A descriptor: tag(8), sizeOfInstance in one byte (every descriptor here is < 128 bytes), body. */
function descriptor(w: BoxWriter, tag: number, size: number, body: () => void): void {
  w.u8(tag);
  w.u8(size);
  const before = w.length;
  body();
  if (w.length - before !== size) throw new Error(`descriptor 0x${tag.toString(16)} wrote ${w.length - before} bytes, declared ${size}`);
}

export function writeEsds(w: BoxWriter, c: AacConfig, trackId: number): void {
  const asc = audioSpecificConfig(c);
  // Body sizes: each descriptor adds its 2 header bytes to its parent.
  const decoderConfigBody = 13 + 2 + asc.length;
  const slConfigBody = 1;
  w.fullBox('esds', 0, 0, () => {
    descriptor(w, ES_DESCR_TAG, 3 + 2 + decoderConfigBody + 2 + slConfigBody, () => {
      w.u16(trackId); // ES_ID
      w.u8(0); // streamDependenceFlag, URL_Flag, OCRstreamFlag = 0, streamPriority = 0
      descriptor(w, DECODER_CONFIG_DESCR_TAG, decoderConfigBody, () => {
        w.u8(OTI_MPEG4_AUDIO); // objectTypeIndication
        w.u8((STREAM_TYPE_AUDIO << 2) | 0x01); // streamType(6), upStream(1) = 0, reserved(1) = 1
        w.u24(0); // bufferSizeDB: unknown
        w.u32(0); // maxBitrate: unknown
        w.u32(0); // avgBitrate: variable / unknown
        descriptor(w, DEC_SPECIFIC_INFO_TAG, asc.length, () => w.bytesField(asc)); // AudioSpecificConfig
      });
      descriptor(w, SL_CONFIG_DESCR_TAG, slConfigBody, () => w.u8(0x02)); // predefined = 2: reserved for MP4 files
    });
  });
}

export function writeAacSampleEntry(w: BoxWriter, c: AacConfig, trackId: number): void {
  writeAudioSampleEntry(w, 'mp4a', c.channels, c.sampleRate, () => writeEsds(w, c, trackId));
}
