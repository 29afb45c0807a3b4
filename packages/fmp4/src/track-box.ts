/**
 * One `trak` of the init segment (ISO/IEC 14496-12 §8.3–§8.7): header, media, handler, and a
 * sample table with no samples — in a fragmented file every sample lives in a `moof` (§8.8.1).
 */
import type { BoxWriter } from './box-writer';
import { writeAacSampleEntry } from './aac-sample-entry';
import { writeAvcSampleEntry } from './avc-sample-entry';
import { writeHevcSampleEntry } from './hevc-sample-entry';
import { isVideoConfig, timescaleOf, type TrackConfig } from './track-config';

/** tkhd flags (§8.3.2.3): track_enabled | track_in_movie. */
const TRACK_ENABLED_IN_MOVIE = 0x000003;
/** ISO 639-2/T 'und' packed as three 5-bit letters minus 0x60 (§8.4.2.3). */
const LANGUAGE_UND = (('u'.charCodeAt(0) - 0x60) << 10) | (('n'.charCodeAt(0) - 0x60) << 5) | ('d'.charCodeAt(0) - 0x60);
/** dref `url ` flags = 1: the media data is in this file (§8.7.2.3). */
const SELF_CONTAINED = 0x000001;

/** The unity transformation matrix of mvhd and tkhd (§8.2.2.3): {1,0,0, 0,1,0, 0,0,1} in 16.16 / 2.30. */
export function writeUnityMatrix(w: BoxWriter): void {
  for (const v of [0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000]) w.u32(v);
}

export function writeTrak(w: BoxWriter, trackId: number, c: TrackConfig): void {
  const video = isVideoConfig(c);
  w.box('trak', () => {
    w.fullBox('tkhd', 0, TRACK_ENABLED_IN_MOVIE, () => {
      w.u32(0); // creation_time
      w.u32(0); // modification_time
      w.u32(trackId); // track_ID
      w.u32(0); // reserved
      w.u32(0); // duration: unknown, the fragments carry it
      w.zeros(8); // reserved[2]
      w.i16(0); // layer
      w.i16(0); // alternate_group
      w.i16(video ? 0 : 0x0100); // volume: 1.0 for audio, 0 for video
      w.u16(0); // reserved
      writeUnityMatrix(w); // matrix
      w.u32(video ? c.sps.width * 0x10000 : 0); // width, 16.16
      w.u32(video ? c.sps.height * 0x10000 : 0); // height, 16.16
    });
    w.box('mdia', () => {
      w.fullBox('mdhd', 0, 0, () => {
        w.u32(0); // creation_time
        w.u32(0); // modification_time
        w.u32(timescaleOf(c)); // timescale
        w.u32(0); // duration
        w.u16(LANGUAGE_UND); // pad(1) = 0, language(15)
        w.u16(0); // pre_defined
      });
      w.fullBox('hdlr', 0, 0, () => {
        w.u32(0); // pre_defined
        w.fourcc(video ? 'vide' : 'soun'); // handler_type
        w.zeros(12); // reserved[3]
        const name = video ? 'VideoHandler' : 'SoundHandler';
        w.bytesField(Buffer.from(`${name}\0`, 'ascii')); // name, null-terminated UTF-8
      });
      w.box('minf', () => {
        if (video) {
          // vmhd flags = 1 (§12.1.2.2); graphicsmode 0 = copy, opcolor unused
          w.fullBox('vmhd', 0, 1, () => w.u16(0).u16(0).u16(0).u16(0));
        } else {
          w.fullBox('smhd', 0, 0, () => w.i16(0).u16(0)); // balance = centre, reserved
        }
        w.box('dinf', () => {
          w.fullBox('dref', 0, 0, () => {
            w.u32(1); // entry_count
            w.fullBox('url ', 0, SELF_CONTAINED);
          });
        });
        w.box('stbl', () => {
          w.fullBox('stsd', 0, 0, () => {
            w.u32(1); // entry_count
            if (c.codec === 'h264') writeAvcSampleEntry(w, c);
            else if (c.codec === 'h265') writeHevcSampleEntry(w, c);
            else writeAacSampleEntry(w, c, trackId);
          });
          w.fullBox('stts', 0, 0, () => w.u32(0)); // entry_count
          w.fullBox('stsc', 0, 0, () => w.u32(0)); // entry_count
          w.fullBox('stsz', 0, 0, () => w.u32(0).u32(0)); // sample_size (0: per sample), sample_count
          w.fullBox('stco', 0, 0, () => w.u32(0)); // entry_count
        });
      });
    });
  });
}
