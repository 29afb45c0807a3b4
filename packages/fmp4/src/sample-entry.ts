/** The codec-independent parts of sample entries (ISO/IEC 14496-12 §8.5.2, §12.1.3, §12.2.3). */
import type { BoxWriter } from './box-writer';

/** 72 dpi in 16.16 fixed point: horizresolution / vertresolution (§12.1.3.2). */
const DPI_72 = 0x00480000;

function sampleEntryHeader(w: BoxWriter): void {
  w.zeros(6); // SampleEntry reserved[6]
  w.u16(1); // data_reference_index: the first (only) dref entry
}

/** VisualSampleEntry (§12.1.3.2) around the codec's configuration box. */
export function writeVisualSampleEntry(w: BoxWriter, type: string, width: number, height: number, config: (w: BoxWriter) => void): void {
  w.box(type, () => {
    sampleEntryHeader(w);
    w.u16(0); // pre_defined
    w.u16(0); // reserved
    w.zeros(12); // pre_defined[3]
    w.u16(width); // width
    w.u16(height); // height
    w.u32(DPI_72); // horizresolution
    w.u32(DPI_72); // vertresolution
    w.u32(0); // reserved
    w.u16(1); // frame_count: one frame per sample
    w.zeros(32); // compressorname: length byte 0, no name
    w.u16(0x0018); // depth: colour, no alpha
    w.i16(-1); // pre_defined
    config(w);
  });
}

/** AudioSampleEntry (§12.2.3.2) around the codec's configuration box. */
export function writeAudioSampleEntry(w: BoxWriter, type: string, channels: number, sampleRate: number, config: (w: BoxWriter) => void): void {
  w.box(type, () => {
    sampleEntryHeader(w);
    w.zeros(8); // reserved[2]
    w.u16(channels); // channelcount
    w.u16(16); // samplesize
    w.u16(0); // pre_defined
    w.u16(0); // reserved
    // samplerate: 16.16 fixed point; rates above 65535 Hz do not fit and the decoder config rules (§12.2.3.3).
    w.u32(sampleRate <= 0xffff ? sampleRate * 0x10000 : 0);
    config(w);
  });
}
