/**
 * A media playlist read back from storage (RFC 8216 §4.3), the inverse of renderMediaPlaylist
 * for the tags it writes: how an uploader that lost its state (no journal, a new machine) finds
 * where a stream stood. Pure; unknown tags are skipped, as §4.1 tells clients to.
 */
import type { MediaPlaylist, MediaSegment, SegmentKey } from './media-playlist';

/** The playlist in `text`, or undefined when it is not one (no `#EXTM3U`, no target duration). */
export function parseMediaPlaylist(text: string): MediaPlaylist | undefined {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  if (lines[0] !== '#EXTM3U') return undefined;
  const p: MediaPlaylist = { version: 1, targetDuration: 0, mediaSequence: 0, independentSegments: false, segments: [], endList: false };
  let next: Partial<MediaSegment> = {};
  // EXT-X-KEY and EXT-X-MAP apply to every segment after them until the next one (§4.3.2.4, §4.3.2.5).
  let key: SegmentKey | undefined;
  let initUri: string | undefined;
  for (const line of lines.slice(1)) {
    const [tag, value = ''] = splitTag(line);
    switch (tag) {
      case '#EXT-X-VERSION':
        p.version = integer(value) ?? p.version;
        break;
      case '#EXT-X-TARGETDURATION':
        p.targetDuration = integer(value) ?? 0;
        break;
      case '#EXT-X-MEDIA-SEQUENCE':
        p.mediaSequence = integer(value) ?? 0;
        break;
      case '#EXT-X-DISCONTINUITY-SEQUENCE':
        p.discontinuitySequence = integer(value);
        break;
      case '#EXT-X-PLAYLIST-TYPE':
        if (value === 'EVENT' || value === 'VOD') p.playlistType = value;
        break;
      case '#EXT-X-INDEPENDENT-SEGMENTS':
        p.independentSegments = true;
        break;
      case '#EXT-X-DISCONTINUITY':
        next.discontinuity = true;
        break;
      case '#EXT-X-PROGRAM-DATE-TIME': {
        const t = new Date(value);
        if (!Number.isNaN(t.getTime())) next.programDateTime = t;
        break;
      }
      case '#EXTINF':
        next.duration = Number(value.split(',')[0]);
        break;
      case '#EXT-X-KEY':
        key = parseKey(value);
        break;
      case '#EXT-X-MAP':
        initUri = /(?:^|,)URI="([^"]*)"/.exec(value)?.[1];
        break;
      case '#EXT-X-ENDLIST':
        p.endList = true;
        break;
      default:
        if (!line.startsWith('#')) {
          // A URI line ends the segment its tags described (§4.3.2).
          p.segments.push({ duration: Number.isFinite(next.duration) ? next.duration! : 0, ...next, ...(key ? { key } : {}), ...(initUri !== undefined ? { initUri } : {}), uri: line });
          next = {};
        }
    }
  }
  return p.targetDuration > 0 ? p : undefined;
}

/** The media sequence number the next segment after `p` gets. */
export function nextMediaSequence(p: Pick<MediaPlaylist, 'mediaSequence' | 'segments'>): number {
  return p.mediaSequence + p.segments.length;
}

/**
 * Of several stored copies of one playlist (mirrors), the one furthest along: a mirror that lagged
 * holds an older one, and continuing from that would move the others' media sequence back.
 */
export function newestPlaylistText(copies: string[]): string {
  let best = copies[0];
  let bestNext = -1;
  for (const text of copies) {
    const p = parseMediaPlaylist(text);
    const n = p === undefined ? -1 : nextMediaSequence(p);
    if (n > bestNext) {
      best = text;
      bestNext = n;
    }
  }
  return best;
}

/** The attributes of `METHOD=AES-128,URI="…",IV=0x…`; undefined for METHOD=NONE (or one this uploader does not write). */
function parseKey(value: string): SegmentKey | undefined {
  const method = /(?:^|,)METHOD=([A-Z0-9-]+)/.exec(value)?.[1];
  const uri = /(?:^|,)URI="([^"]*)"/.exec(value)?.[1];
  if (method !== 'AES-128' || uri === undefined) return undefined;
  const iv = /(?:^|,)IV=(0[xX][0-9a-fA-F]{32})(?:,|$)/.exec(value)?.[1];
  return iv === undefined ? { uri } : { uri, iv };
}

function splitTag(line: string): [string, string?] {
  const colon = line.indexOf(':');
  return colon < 0 || !line.startsWith('#') ? [line] : [line.slice(0, colon), line.slice(colon + 1)];
}

function integer(value: string): number | undefined {
  return /^\d+$/.test(value) ? Number(value) : undefined;
}
