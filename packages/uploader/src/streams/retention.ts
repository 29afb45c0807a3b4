/**
 * When a segment that left the live playlist may be deleted from storage.
 *
 * RFC 8216 §6.2.2: a segment removed from the playlist must stay available for its own duration
 * plus the duration of the longest playlist that listed it — a player that fetched that
 * playlist just before the change may still be working through it. So the plan remembers, for
 * each listed segment, the longest playlist it appeared in; when the playlist that no longer
 * lists it is stored, it becomes due at that moment plus the grace. Pure: times come in as
 * arguments (wall-clock ms, so the plan survives a restart), deletions go out as a list.
 */
import type { ListedSegment } from './stream-state';

export interface Retiring {
  bucket: string;
  key: string;
  /** Wall-clock ms from which deleting it is safe. */
  dueAt: number;
}

/** What the journal keeps of a plan. */
export interface RetentionSnapshot {
  /** Longest playlist duration (s) that listed each segment still listed, by object name. */
  longest: Record<string, number>;
  retiring: Retiring[];
}

/** Where a content key is stored under the stream's key prefix (stream-encryption.ts names it). */
export function keyObjectName(name: string): string {
  return `keys/${name}`;
}

export function graceMs(segmentSeconds: number, longestPlaylistSeconds: number): number {
  return Math.ceil((segmentSeconds + longestPlaylistSeconds) * 1000);
}

export class RetentionPlan {
  readonly #s: RetentionSnapshot;

  constructor(snapshot?: RetentionSnapshot) {
    this.#s = snapshot ? structuredClone(snapshot) : { longest: {}, retiring: [] };
  }

  /**
   * A playlist listing `listed` was stored at `now`; `left` are the segments it no longer lists.
   * `keyOf` gives a segment's bucket and object key.
   */
  published(
    listed: readonly ListedSegment[],
    left: readonly ListedSegment[],
    now: number,
    keyOf: (name: string) => { bucket: string; key: string },
    releasedInits: readonly string[] = [],
    releasedKeys: readonly string[] = [],
  ): void {
    const total = listed.reduce((sum, s) => sum + s.duration, 0);
    /** An fMP4 init stays as long as the last segment that needs it (HLS-NOTES: segment grace). */
    const initDue = new Map<string, number>(releasedInits.map((name) => [name, now + graceMs(0, total)]));
    /** So does a content key (its object name is the key's): a player may still fetch it for a cached segment. */
    const keyDue = new Map<string, number>(releasedKeys.map((name) => [name, now + graceMs(0, total)]));
    for (const seg of left) {
      if (seg.name === undefined) continue;
      // Never in a stored playlist (it came and went within one deferred publish): no reader saw it.
      const longest = this.#s.longest[seg.name] ?? 0;
      delete this.#s.longest[seg.name];
      const dueAt = now + graceMs(seg.duration, longest);
      this.#s.retiring.push({ ...keyOf(seg.name), dueAt });
      const init = seg.initName;
      if (init !== undefined && initDue.has(init)) initDue.set(init, Math.max(initDue.get(init)!, dueAt));
      const key = seg.keyName === undefined ? undefined : keyObjectName(seg.keyName);
      if (key !== undefined && keyDue.has(key)) keyDue.set(key, Math.max(keyDue.get(key)!, dueAt));
    }
    for (const [name, dueAt] of [...initDue, ...keyDue]) this.#s.retiring.push({ ...keyOf(name), dueAt });
    for (const seg of listed) {
      if (seg.name !== undefined) this.#s.longest[seg.name] = Math.max(this.#s.longest[seg.name] ?? 0, total);
    }
  }

  /** Deletions whose grace has passed at `now`, oldest first. */
  due(now: number): Retiring[] {
    return this.#s.retiring.filter((r) => r.dueAt <= now);
  }

  /** The object is gone from storage. */
  deleted(r: Retiring): void {
    this.#s.retiring = this.#s.retiring.filter((x) => !(x.bucket === r.bucket && x.key === r.key));
  }

  get waiting(): number {
    return this.#s.retiring.length;
  }

  snapshot(): RetentionSnapshot {
    return structuredClone(this.#s);
  }
}
