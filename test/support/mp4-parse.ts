/**
 * Reads fMP4 bytes with mp4box.js (the JavaScript port of GPAC's MP4Box), a parser independent
 * of ours. Not a test file itself.
 */
import { createFile, MP4BoxBuffer } from 'mp4box';

export interface ParsedSample {
  dts: number;
  cts: number;
  duration: number;
  sync: boolean;
  size: number;
  /** sample_flags is_leading: 0 unknown, 1 leading and not decodable from the I picture, 2 not leading, 3 leading, decodable. */
  leading: number;
}

export interface ParsedTrack {
  id: number;
  codec: string;
  timescale: number;
  samples: ParsedSample[];
}

export interface ParsedMp4 {
  brands: string[];
  fragmented: boolean;
  tracks: ParsedTrack[];
}

export function parseMp4(bytes: Uint8Array): ParsedMp4 {
  const file = createFile();
  let error: unknown = null;
  file.onError = (module: string, message: string) => {
    error = new Error(`mp4box: ${module}: ${message}`);
  };
  const copy = bytes.slice();
  file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(copy.buffer, 0));
  file.flush();
  if (error) throw error;
  const info = file.getInfo();
  if (!info.hasMoov) throw new Error('mp4box found no moov');
  return {
    brands: info.brands,
    fragmented: info.isFragmented,
    tracks: info.tracks.map((t) => ({
      id: t.id,
      codec: t.codec,
      timescale: t.timescale,
      samples: file.getTrackById(t.id).samples.map((s) => ({ dts: s.dts, cts: s.cts, duration: s.duration, sync: s.is_sync, size: s.size, leading: s.is_leading })),
    })),
  };
}
