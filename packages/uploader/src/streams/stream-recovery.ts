/**
 * A stream the uploader does not know — no journal, a lost state disk, a new machine — whose
 * playlist storage already holds: its state rebuilt from that playlist, so the restarted uploader
 * never moves the media sequence back (players would stall or replay) and never overwrites a
 * stored segment (CDN caches keep segments `immutable`).
 *
 * The stored window is listed on, the next segment follows behind an EXT-X-DISCONTINUITY (what
 * came between is unknown), and this run's segments are stored under a run of object names no
 * listed segment uses: `<output prefix>-r<N>-%05u.ts` with N above every run the playlist shows
 * (segment-name.ts). Why that is enough: runs only go up within an uploader's life, so the
 * newest stored playlist shows the highest run any stored playlist ever listed, and no name a
 * player could have been sent is reused. Only a run whose first playlist never got stored can
 * have used run N already; its objects were never listed, so no player or cache holds them.
 */
import type { MediaPlaylist } from '../playlist/media-playlist';
import type { ListedSegment, StreamSnapshot } from './stream-state';

export interface RecoveredStream {
  snapshot: StreamSnapshot;
  /** The run number this uploader's segments are stored under. */
  epoch: number;
}

export function recoverStream(p: MediaPlaylist, outputPrefix: string): RecoveredStream {
  const window: ListedSegment[] = p.segments.map((s) => {
    const name = objectNameOf(s.uri);
    return { ...s, name, number: segmentNumberOf(name) };
  });
  const epoch = highestRun(window.map((s) => s.name!), outputPrefix) + 1;
  return {
    epoch,
    snapshot: {
      window,
      mediaSequence: p.mediaSequence,
      discontinuitySequence: p.discontinuitySequence ?? 0,
      discontinuitySeen: p.discontinuitySequence !== undefined || window.some((s) => s.discontinuity === true),
      targetDuration: p.targetDuration,
      // The first message of this run sets it, and fixes nothing else: the stored target stays.
      configuredDuration: undefined,
      lastSegment: undefined,
      ended: p.endList,
      epoch,
    },
  };
}

/** The last path segment of a URI line (absolute, or relative to the playlist), without a query. */
function objectNameOf(uri: string): string {
  const path = uri.replace(/[?#].*$/, '');
  return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
}

/** The `%05u` of `<prefix>-%05u.ts`; -1 when the name has none. */
function segmentNumberOf(name: string): number {
  const m = /-(\d+)\.ts$/.exec(name);
  return m ? Number(m[1]) : -1;
}

/** The highest run N of `<prefix>-r<N>-%05u.ts` among `names`; 0 when only first-run names (`<prefix>-%05u.ts`) or none. */
export function highestRun(names: readonly string[], outputPrefix: string): number {
  const escaped = outputPrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const run = new RegExp(`^${escaped}-r(\\d+)-\\d+\\.ts$`);
  let highest = 0;
  for (const name of names) {
    const m = run.exec(name);
    if (m) highest = Math.max(highest, Number(m[1]));
  }
  return highest;
}
