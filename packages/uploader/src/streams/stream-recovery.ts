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
import type { ListedSegment, StoredInit, StreamSnapshot } from './stream-state';

export interface RecoveredStream {
  snapshot: StreamSnapshot;
  /** The run number this uploader's segments are stored under. */
  epoch: number;
}

export function recoverStream(p: MediaPlaylist, outputPrefix: string): RecoveredStream {
  const inits = new Map<string, StoredInit>();
  const window: ListedSegment[] = p.segments.map((s) => {
    const name = objectNameOf(s.uri);
    const segment: ListedSegment = { ...s, name, number: segmentNumberOf(name) };
    // An init beside the segment is this stream's: named, so it is retired once no listed segment needs it.
    if (s.initUri !== undefined && directoryOf(s.initUri) === directoryOf(s.uri)) {
      const initName = objectNameOf(s.initUri);
      segment.initName = initName;
      // Its bytes are not known here: no init of this run matches it, so none is listed under it by mistake.
      inits.set(initName, { file: initName, digest: '', name: initName, epoch: -1 });
    }
    return segment;
  });
  const epoch = highestRun([...window.map((s) => s.name!), ...inits.keys()], outputPrefix) + 1;
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
      ...(inits.size > 0 ? { inits: [...inits.values()], initNames: [...inits.keys()] } : {}),
    },
  };
}

/** A URI without its last path segment and query: segments and inits beside each other share it. */
function directoryOf(uri: string): string {
  const path = uri.replace(/[?#].*$/, '');
  return path.slice(0, path.lastIndexOf('/') + 1);
}

/** The last path segment of a URI line (absolute, or relative to the playlist), without a query. */
function objectNameOf(uri: string): string {
  const path = uri.replace(/[?#].*$/, '');
  return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
}

/** The `%05u` of `<prefix>-%05u.ts` (or `.m4s`); -1 when the name has none. */
function segmentNumberOf(name: string): number {
  const m = /-(\d+)\.(?:ts|m4s)$/.exec(name);
  return m ? Number(m[1]) : -1;
}

/**
 * The highest run N among `names`: segments `<prefix>-r<N>-%05u.ts` or `.m4s`, inits
 * `<prefix>-r<N>-….mp4` or `r<N>-….mp4` (segment-name.ts); 0 when only first-run names or none.
 */
export function highestRun(names: readonly string[], outputPrefix: string): number {
  const escaped = outputPrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const run = new RegExp(`^(?:${escaped}-r(\\d+)-\\d+\\.(?:ts|m4s)|(?:${escaped}-)?r(\\d+)-.*\\.mp4)$`);
  let highest = 0;
  for (const name of names) {
    const m = run.exec(name);
    if (m) highest = Math.max(highest, Number(m[1] ?? m[2]));
  }
  return highest;
}
