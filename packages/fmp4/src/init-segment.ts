/** The initialization segment: `ftyp` + `moov` (ISO/IEC 14496-12 §8.2) with `mvex` (§8.8.1). */
import { createHash } from 'node:crypto';
import { BoxWriter } from './box-writer';
import { writeFtyp } from './file-type';
import { writeTrak, writeUnityMatrix } from './track-box';
import { codecString, configFingerprint, type TrackConfig } from './track-config';

export interface InitTrack {
  /** track_ID (1-based), stable for the life of a remuxer. */
  id: number;
  config: TrackConfig;
}

export interface InitSegment {
  bytes: Uint8Array;
  tracks: InitTrack[];
  /** CODECS values in track order, e.g. ['avc1.64001f', 'mp4a.40.2']. */
  codecs: string[];
  /**
   * Names the configuration, not the file: equal for inits that decode alike, different when any
   * parameter set or audio setting differs. The caller chooses file names.
   */
  identity: string;
}

/** mvhd timescale: only the (zero) movie duration is counted in it. */
const MOVIE_TIMESCALE = 1000;

export function buildInitSegment(tracks: InitTrack[]): InitSegment {
  if (tracks.length === 0) throw new RangeError('an init segment needs at least one track');
  const w = new BoxWriter(1024);
  writeFtyp(w, tracks.length);
  w.box('moov', () => {
    w.fullBox('mvhd', 0, 0, () => {
      w.u32(0); // creation_time
      w.u32(0); // modification_time
      w.u32(MOVIE_TIMESCALE); // timescale
      w.u32(0); // duration: unknown (live, fragmented)
      w.u32(0x00010000); // rate: 1.0
      w.u16(0x0100); // volume: 1.0
      w.u16(0); // reserved
      w.zeros(8); // reserved[2]
      writeUnityMatrix(w); // matrix
      w.zeros(24); // pre_defined[6]
      w.u32(Math.max(...tracks.map((t) => t.id)) + 1); // next_track_ID
    });
    for (const t of tracks) writeTrak(w, t.id, t.config);
    w.box('mvex', () => {
      for (const t of tracks) {
        w.fullBox('trex', 0, 0, () => {
          w.u32(t.id); // track_ID
          w.u32(1); // default_sample_description_index
          w.u32(0); // default_sample_duration: every trun gives its own
          w.u32(0); // default_sample_size
          w.u32(0); // default_sample_flags
        });
      }
    });
  });
  return { bytes: w.bytes(), tracks, codecs: tracks.map((t) => codecString(t.config)), identity: initIdentity(tracks) };
}

/** InitSegment.identity: a digest of every track's id and configuration fingerprint. */
export function initIdentity(tracks: InitTrack[]): string {
  const fingerprint = tracks.map((t) => `${t.id}=${configFingerprint(t.config)}`).join(';');
  return createHash('sha256').update(fingerprint).digest('hex').slice(0, 16);
}
