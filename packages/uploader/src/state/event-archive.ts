/**
 * The archive playlist of a live event (`--archive`): every segment the stream ever listed, in
 * order, as `EXT-X-PLAYLIST-TYPE:EVENT` while the stream grows and with `EXT-X-ENDLIST` once it
 * ends — so a finished live stream is instantly watchable as a recording.
 *
 * With a state directory its entries are also appended (fsync'd) to `archives/<stream hash>.log`
 * before the journal records the playlist as published; after a restart the archive continues
 * from there. A crash between the two appends at most one entry twice; names dedupe it.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { RecordLog } from '@hlsrelay/protocol';
import { INDEPENDENT_SEGMENTS, playlistVersion, type MediaPlaylist } from '../playlist/media-playlist';
import type { ListedSegment } from '../streams/stream-state';
import { keyedForSequence } from '../playlist/segment-keys';

export const DEFAULT_ARCHIVE_PATTERN = '%s-archive.m3u8';

/** The archive playlist's name for a live playlist name: `%s` is the name without `.m3u8`. */
export function archiveName(pattern: string, index: string): string {
  return pattern.replaceAll('%s', index.replace(/\.m3u8$/i, ''));
}

export class EventArchive {
  readonly #segments: ListedSegment[] = [];
  readonly #names = new Set<string>();
  readonly #log: RecordLog | undefined;

  /** `dir` (the state directory) makes it durable; without it the archive lives in memory. */
  constructor(streamId: string, dir?: string) {
    if (dir !== undefined) {
      const folder = path.join(dir, 'archives');
      mkdirSync(folder, { recursive: true });
      this.#log = new RecordLog(path.join(folder, createHash('sha1').update(streamId).digest('hex') + '.log'));
      const { payloads, ignoredBytes } = this.#log.read();
      for (const p of payloads) this.#remember(JSON.parse(p, reviveDates) as ListedSegment);
      // Cut a torn tail so the next append starts on a record boundary.
      if (ignoredBytes > 0) this.#log.replace(payloads);
    }
  }

  /** Adds segments (oldest first) that a just-stored live playlist lists for the first time. */
  add(segments: readonly ListedSegment[]): void {
    const fresh = segments.filter((s) => !this.#names.has(s.name ?? s.uri));
    if (fresh.length === 0) return;
    if (this.#log) {
      this.#log.appendSync(fresh.map((s) => JSON.stringify(s)));
      // One descriptor per stream would stay open for its whole life otherwise.
      this.#log.close();
    }
    for (const s of fresh) this.#remember(s);
  }

  /** Forgets every entry (a new run of an ended stream starts a new archive; publish/ended-run.ts). */
  clear(): void {
    this.#segments.length = 0;
    this.#names.clear();
    this.#log?.replace([]);
  }

  get length(): number {
    return this.#segments.length;
  }

  /** Object names of every archived segment: retention must never delete them. */
  has(name: string): boolean {
    return this.#names.has(name);
  }

  model(targetDuration: number, ended: boolean, independentSegments = INDEPENDENT_SEGMENTS): MediaPlaylist {
    // Encrypted segments keep the numbers their IVs came from: the archive numbers from its first.
    const first = this.#segments[0]?.sequence ?? 0;
    const segments = keyedForSequence(this.#segments, first).map(({ number: _n, name: _name, initName: _init, keyName: _key, sequence: _sequence, ...segment }) => segment);
    return {
      version: playlistVersion(segments),
      targetDuration,
      mediaSequence: first,
      playlistType: 'EVENT',
      independentSegments,
      segments,
      endList: ended,
    };
  }

  #remember(s: ListedSegment): void {
    const id = s.name ?? s.uri;
    if (this.#names.has(id)) return;
    this.#names.add(id);
    this.#segments.push(s);
  }
}

function reviveDates(key: string, value: unknown): unknown {
  return key === 'programDateTime' && typeof value === 'string' ? new Date(value) : value;
}
