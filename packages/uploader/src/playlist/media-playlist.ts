/**
 * The live media playlist (RFC 8216 §4.3) as a model whose fields name the tags they produce,
 * and one pure renderer. No other code in the uploader writes m3u8 text.
 */

/** `#EXT-X-VERSION` of every playlist the uploader writes: 3, for decimal EXTINF durations (RFC 8216 §7). */
export const PLAYLIST_VERSION = 3;
/** `#EXT-X-VERSION` of a playlist that uses EXT-X-MAP (fMP4 segments): 6 (RFC 8216 §4.3.2.5, §7). */
export const MAP_PLAYLIST_VERSION = 6;

/** The lowest version the segments' tags need: declare no higher one (HLS-NOTES). */
export function playlistVersion(segments: readonly MediaSegment[]): number {
  return segments.some((s) => s.initUri !== undefined) ? MAP_PLAYLIST_VERSION : PLAYLIST_VERSION;
}

/** The segmenter cuts every segment at a keyframe, so each decodes on its own: `#EXT-X-INDEPENDENT-SEGMENTS`. */
export const INDEPENDENT_SEGMENTS = true;

/** RFC 8216 §6.2.2 / Apple: caches keep a live playlist for at most half a target duration. */
export function playlistMaxAgeSeconds(p: Pick<MediaPlaylist, 'targetDuration'>): number {
  return Math.floor(p.targetDuration / 2);
}

/** `#EXT-X-KEY:METHOD=AES-128,URI="…"[,IV=0x…]` (RFC 8216 §4.3.2.4): how a segment is encrypted. */
export interface SegmentKey {
  /** Where players fetch the 16 key bytes. */
  uri: string;
  /** `0x` + 32 hex digits; without it the IV is the segment's media sequence number. */
  iv?: string;
}

export interface MediaSegment {
  /** The URI line: absolute (`<http prefix><file>`) or relative to the playlist. */
  uri: string;
  /** `#EXTINF:<seconds>,` — the real duration, rendered with millisecond precision. */
  duration: number;
  /** `#EXT-X-DISCONTINUITY` before this segment: timestamps or encoder changed. */
  discontinuity?: boolean;
  /** `#EXT-X-PROGRAM-DATE-TIME` — wall-clock time of the segment's first frame. */
  programDateTime?: Date;
  /**
   * fMP4: the init section this segment needs. `#EXT-X-MAP:URI="…"` is written before the first
   * segment and again wherever the init changes or a discontinuity resets the player (RFC 8216 §4.3.2.5).
   */
  initUri?: string;
  /**
   * AES-128: the key it is encrypted with. `#EXT-X-KEY` is written before the first segment and
   * wherever the key changes; an fMP4 segment's EXT-X-MAP follows it again, since EXT-X-KEY
   * applies to the init section after it (§4.3.2.5). A segment without one after one with one
   * gets `METHOD=NONE`.
   */
  key?: SegmentKey;
}

export interface MediaPlaylist {
  /** `#EXT-X-VERSION` — 3: decimal EXTINF durations; 6 with EXT-X-MAP (RFC 8216 §7; playlistVersion). */
  version: number;
  /** `#EXT-X-TARGETDURATION` — integer ≥ every EXTINF rounded; fixed for the life of a stream. */
  targetDuration: number;
  /** `#EXT-X-MEDIA-SEQUENCE` — sequence number of the first listed segment. */
  mediaSequence: number;
  /** `#EXT-X-DISCONTINUITY-SEQUENCE` — discontinuities that left the window; omitted when undefined. */
  discontinuitySequence?: number;
  /** `#EXT-X-PLAYLIST-TYPE` — `EVENT` for an archive that only grows (RFC 8216 §4.3.3.5); omitted for a live window. */
  playlistType?: 'EVENT' | 'VOD';
  /** `#EXT-X-INDEPENDENT-SEGMENTS` — every segment starts with a keyframe. */
  independentSegments: boolean;
  segments: MediaSegment[];
  /** `#EXT-X-ENDLIST` — the stream ended. */
  endList: boolean;
}

/** Renders the playlist text, `\n` line ends, ending in a newline. */
export function renderMediaPlaylist(p: MediaPlaylist): string {
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${p.version}`, `#EXT-X-TARGETDURATION:${p.targetDuration}`];
  lines.push(`#EXT-X-MEDIA-SEQUENCE:${p.mediaSequence}`);
  if (p.discontinuitySequence !== undefined) lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${p.discontinuitySequence}`);
  if (p.playlistType !== undefined) lines.push(`#EXT-X-PLAYLIST-TYPE:${p.playlistType}`);
  if (p.independentSegments) lines.push('#EXT-X-INDEPENDENT-SEGMENTS');
  let mapped: string | undefined;
  let keyed: SegmentKey | undefined;
  for (const s of p.segments) {
    if (s.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
    const rekeyed = s.key?.uri !== keyed?.uri || s.key?.iv !== keyed?.iv;
    if (rekeyed) lines.push(keyTag(s.key));
    keyed = s.key;
    if (s.initUri !== undefined && (s.initUri !== mapped || s.discontinuity || (rekeyed && s.key !== undefined))) {
      if (/["\r\n]/.test(s.initUri)) throw new RangeError(`EXT-X-MAP URI cannot carry quotes or line breaks: ${JSON.stringify(s.initUri)}`);
      lines.push(`#EXT-X-MAP:URI="${s.initUri}"`);
    }
    mapped = s.initUri;
    if (s.programDateTime) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${formatProgramDateTime(s.programDateTime)}`);
    lines.push(`#EXTINF:${formatDuration(s.duration)},`, s.uri);
  }
  if (p.endList) lines.push('#EXT-X-ENDLIST');
  return lines.join('\n') + '\n';
}

/** One EXT-X-KEY line; METHOD=NONE for clear segments after encrypted ones. */
function keyTag(key: SegmentKey | undefined): string {
  if (key === undefined) return '#EXT-X-KEY:METHOD=NONE';
  if (/["\r\n]/.test(key.uri)) throw new RangeError(`EXT-X-KEY URI cannot carry quotes or line breaks: ${JSON.stringify(key.uri)}`);
  if (key.iv !== undefined && !/^0x[0-9a-f]{32}$/i.test(key.iv)) throw new RangeError(`EXT-X-KEY IV must be 0x and 32 hex digits, got ${JSON.stringify(key.iv)}`);
  return `#EXT-X-KEY:METHOD=AES-128,URI="${key.uri}"${key.iv === undefined ? '' : `,IV=${key.iv}`}`;
}

/** Seconds with three decimals: enough for 90 kHz timestamps rounded to the millisecond. */
export function formatDuration(seconds: number): string {
  return seconds.toFixed(3);
}

/** ISO 8601 with milliseconds and a zone (`Z`), as RFC 8216 §4.3.2.6 asks. */
export function formatProgramDateTime(t: Date): string {
  return t.toISOString();
}

/** The largest EXTINF that still rounds to `targetDuration` (RFC 8216 §4.3.3.1 rounds to the nearest integer). */
export function longestDurationFor(targetDuration: number): number {
  return targetDuration + 0.499;
}

/** The target duration a segment of `seconds` needs. */
export function targetDurationFor(seconds: number): number {
  return Math.max(1, Math.round(seconds));
}
