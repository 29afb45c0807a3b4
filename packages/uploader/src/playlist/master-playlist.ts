/**
 * The master (multivariant) playlist (RFC 8216 §4.3.4.2) as a model whose fields name the
 * attributes they produce, and one pure renderer. No other code in the uploader writes its text.
 */

export interface VariantStream {
  /** The URI line: the rendition's media playlist, relative to the master. */
  uri: string;
  /** `BANDWIDTH` — peak segment bitrate in bits/s (required). */
  bandwidth: number;
  /** `AVERAGE-BANDWIDTH` — average bitrate in bits/s over the segments seen. */
  averageBandwidth?: number;
  /** `CODECS` — RFC 6381 list, e.g. `avc1.4d401f,mp4a.40.2`. */
  codecs?: string;
  /** `RESOLUTION` — `WIDTHxHEIGHT`. */
  resolution?: string;
  /** `FRAME-RATE` — frames per second, three decimals. */
  frameRate?: number;
}

export interface MasterPlaylist {
  /** `#EXT-X-VERSION` — 3, as the media playlists it points to. */
  version: number;
  /** `#EXT-X-INDEPENDENT-SEGMENTS` — every segment of every variant starts with a keyframe. */
  independentSegments: boolean;
  /** One `#EXT-X-STREAM-INF` each, in the order given. */
  variants: VariantStream[];
}

/** Renders the playlist text, `\n` line ends, ending in a newline. No `PROGRAM-ID` (gone since protocol version 6). */
export function renderMasterPlaylist(p: MasterPlaylist): string {
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${p.version}`];
  if (p.independentSegments) lines.push('#EXT-X-INDEPENDENT-SEGMENTS');
  for (const v of p.variants) {
    if (!Number.isFinite(v.bandwidth) || v.bandwidth <= 0) throw new RangeError(`BANDWIDTH of ${v.uri} must be > 0 bits/s, got ${v.bandwidth}`);
    if (/[\r\n]/.test(v.uri) || v.uri === '') throw new RangeError(`variant URI must be one non-empty line, got ${JSON.stringify(v.uri)}`);
    const attrs = [`BANDWIDTH=${Math.round(v.bandwidth)}`];
    if (v.averageBandwidth !== undefined) attrs.push(`AVERAGE-BANDWIDTH=${Math.round(v.averageBandwidth)}`);
    // Quoted-string attributes may not contain a double quote (RFC 8216 §4.2).
    if (v.codecs !== undefined && !v.codecs.includes('"')) attrs.push(`CODECS="${v.codecs}"`);
    if (v.resolution !== undefined && /^\d+x\d+$/.test(v.resolution)) attrs.push(`RESOLUTION=${v.resolution}`);
    if (v.frameRate !== undefined && v.frameRate > 0) attrs.push(`FRAME-RATE=${v.frameRate.toFixed(3)}`);
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, v.uri);
  }
  return lines.join('\n') + '\n';
}
