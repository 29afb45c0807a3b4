/**
 * One master playlist's state: the renditions that name it, what each measured so far, and
 * what was last uploaded — so the master is stored again only when it changes meaningfully.
 *
 * Pure bookkeeping: no I/O, no clock. The uploader reports each stored segment and each stored
 * rendition playlist; a rendition is listed only once its own playlist is stored, so a player
 * never follows the master to a missing playlist.
 */
import type { IndexMessage } from '@hlsrelay/protocol';
import type { MasterPlaylist, VariantStream } from './master-playlist';
import { INDEPENDENT_SEGMENTS, PLAYLIST_VERSION } from './media-playlist';

/** A measured bitrate that moved by more than this fraction is worth a new master. */
export const BANDWIDTH_CHANGE = 0.1;

/**
 * Bitrates of one rendition from its segments: bytes × 8 / real duration.
 *
 * The peak (`BANDWIDTH`) ignores segments shorter than half the target: the last segment of a
 * stream, or one cut early by a discontinuity, carries a keyframe in a fraction of the time and
 * would claim a rate no full segment ever needs. Until a full segment was seen, the short ones
 * count. The peak is never below the average: a player must be able to sustain the average.
 */
/** What a meter measured, for the journal: a restart continues the figures instead of starting over. */
export interface MeterSnapshot {
  peakFull: number;
  peakAny: number;
  bytes: number;
  seconds: number;
  segments: number;
}

export class RenditionMeter {
  #peakFull = 0;
  #peakAny = 0;
  #bytes = 0;
  #seconds = 0;
  #segments = 0;

  constructor(from?: MeterSnapshot) {
    if (!from) return;
    this.#peakFull = from.peakFull;
    this.#peakAny = from.peakAny;
    this.#bytes = from.bytes;
    this.#seconds = from.seconds;
    this.#segments = from.segments;
  }

  snapshot(): MeterSnapshot {
    return { peakFull: this.#peakFull, peakAny: this.#peakAny, bytes: this.#bytes, seconds: this.#seconds, segments: this.#segments };
  }

  observe(bytes: number, seconds: number, targetSeconds: number): void {
    if (!(seconds > 0) || !(bytes >= 0)) return;
    const rate = (bytes * 8) / seconds;
    if (seconds >= targetSeconds / 2) this.#peakFull = Math.max(this.#peakFull, rate);
    this.#peakAny = Math.max(this.#peakAny, rate);
    this.#bytes += bytes;
    this.#seconds += seconds;
    this.#segments += 1;
  }

  get segments(): number {
    return this.#segments;
  }

  /** Bits/s over everything seen; undefined before the first segment. */
  get average(): number | undefined {
    return this.#seconds > 0 ? (this.#bytes * 8) / this.#seconds : undefined;
  }

  /** Peak bits/s of a (full) segment; undefined before the first segment. */
  get peak(): number | undefined {
    const average = this.average;
    if (average === undefined) return undefined;
    return Math.max(this.#peakFull > 0 ? this.#peakFull : this.#peakAny, average);
  }
}

/** One rendition's part of a master, as the journal keeps it with the rendition's stream. */
export interface RenditionSnapshot {
  uri: string;
  meter: MeterSnapshot;
  codecs?: string;
  resolution?: string;
  frameRate?: number;
}

interface Rendition {
  /** The rendition's playlist, relative to the master (they share bucket and key prefix). */
  uri: string;
  meter: RenditionMeter;
  codecs?: string;
  resolution?: string;
  frameRate?: number;
  /** Its playlist is stored: it may be listed. */
  stored: boolean;
}

export class MasterState {
  readonly bucket: string;
  /** Object key of the master playlist. */
  readonly key: string;
  readonly #renditions = new Map<string, Rendition>();
  #published: MasterPlaylist | undefined;
  /** A rendition ended since the last upload: the next one carries the exact figures. */
  #exact = false;

  constructor(bucket: string, key: string) {
    this.bucket = bucket;
    this.key = key;
  }

  /** A segment of a rendition naming this master was stored. */
  observeSegment(uri: string, m: IndexMessage): void {
    const r = this.#rendition(uri);
    if (m.ext.size !== undefined && m.ext.duration !== undefined) r.meter.observe(m.ext.size, m.ext.duration, m.segmentDuration);
    if (m.ext.codecs !== undefined) r.codecs = m.ext.codecs;
    if (m.ext.resolution !== undefined) r.resolution = m.ext.resolution;
    if (m.ext.frameRate !== undefined) r.frameRate = m.ext.frameRate;
  }

  /** The rendition's playlist is stored (and readable) from now on. */
  playlistStored(uri: string, ended: boolean): void {
    this.#rendition(uri).stored = true;
    if (ended) this.#exact = true;
  }

  /**
   * The master as it stands: every stored, measured rendition, lowest bandwidth first (players
   * sort anyway; a stable order keeps uploads comparable).
   */
  playlist(): MasterPlaylist {
    const variants: VariantStream[] = [];
    for (const r of this.#renditions.values()) {
      const bandwidth = r.meter.peak;
      if (!r.stored || bandwidth === undefined) continue;
      const v: VariantStream = { uri: r.uri, bandwidth: Math.round(bandwidth), averageBandwidth: Math.round(r.meter.average!) };
      if (r.codecs !== undefined) v.codecs = r.codecs;
      if (r.resolution !== undefined) v.resolution = r.resolution;
      if (r.frameRate !== undefined) v.frameRate = r.frameRate;
      variants.push(v);
    }
    variants.sort((a, b) => a.bandwidth - b.bandwidth || a.uri.localeCompare(b.uri));
    return { version: PLAYLIST_VERSION, independentSegments: INDEPENDENT_SEGMENTS, variants };
  }

  /** Whether `next` differs enough from what was last stored to upload it. */
  needsUpload(next: MasterPlaylist): boolean {
    if (next.variants.length === 0) return false;
    const last = this.#published;
    if (!last) return true;
    if (this.#exact) return JSON.stringify(last) !== JSON.stringify(next);
    if (last.variants.length !== next.variants.length) return true;
    const before = new Map(last.variants.map((v) => [v.uri, v]));
    return next.variants.some((v) => {
      const b = before.get(v.uri);
      return (
        !b ||
        b.codecs !== v.codecs ||
        b.resolution !== v.resolution ||
        b.frameRate !== v.frameRate ||
        moved(b.bandwidth, v.bandwidth) ||
        moved(b.averageBandwidth, v.averageBandwidth)
      );
    });
  }

  /** What this master knows of one rendition, for the journal; undefined before its first segment. */
  renditionSnapshot(uri: string): RenditionSnapshot | undefined {
    const r = this.#renditions.get(uri);
    if (!r) return undefined;
    const { codecs, resolution, frameRate } = r;
    return { uri, meter: r.meter.snapshot(), ...(codecs !== undefined ? { codecs } : {}), ...(resolution !== undefined ? { resolution } : {}), ...(frameRate !== undefined ? { frameRate } : {}) };
  }

  /** After a restart: a rendition as the journal kept it; `stored` when its playlist was stored. */
  restoreRendition(snapshot: RenditionSnapshot, stored: boolean): void {
    const { uri, meter, ...facts } = snapshot;
    this.#renditions.set(uri, { uri, meter: new RenditionMeter(meter), ...facts, stored });
  }

  /** `p` is stored. */
  published(p: MasterPlaylist): void {
    this.#published = structuredClone(p);
    this.#exact = false;
  }

  #rendition(uri: string): Rendition {
    let r = this.#renditions.get(uri);
    if (!r) {
      r = { uri, meter: new RenditionMeter(), stored: false };
      this.#renditions.set(uri, r);
    }
    return r;
  }
}

function moved(before: number | undefined, after: number | undefined): boolean {
  if (before === undefined || after === undefined) return before !== after;
  return Math.abs(after - before) > BANDWIDTH_CHANGE * before;
}
