/**
 * One stream's playlist state: the sliding window, media sequence, discontinuity sequence and
 * the target duration that never changes while the stream lives (RFC 8216 §6.2.1).
 *
 * Pure bookkeeping: no I/O, no clock. The uploader asks `classify` what a message means, uploads
 * the segment, and only then `append`s it, so the window only ever holds stored segments.
 * All fields live in one plain snapshot object so a journal (a later issue) can persist and
 * restore them as they are.
 */
import type { IndexMessage } from '@hlsrelay/protocol';
import { INDEPENDENT_SEGMENTS, longestDurationFor, playlistVersion, targetDurationFor, type MediaPlaylist, type MediaSegment, type SegmentKey } from '../playlist/media-playlist';
import { initObjectName, segmentObjectName } from './segment-name';
import type { StreamKey } from './stream-key';

export interface ListedSegment extends MediaSegment {
  /** The segmenter's number for it (the `%05u` in the file name). */
  number: number;
  /** Object name under the key prefix (see segment-name.ts); absent in snapshots of older versions. */
  name?: string;
  /** fMP4: object name of the init section it needs (its URI is `initUri`). */
  initName?: string;
  /** Encrypted: the name of its key (its EXT-X-KEY is `key`). */
  keyName?: string;
  /** Encrypted: its media sequence number, the IV of a key without an explicit one (an archive lists it under another). */
  sequence?: number;
}

/** The key an encrypted segment is listed under (stream-encryption.ts). */
export interface ListedKey {
  name: string;
  tag: SegmentKey;
}

/** An fMP4 init section stored for this stream. */
export interface StoredInit {
  /** The file name the segmenter gave it (`init=` of the messages). */
  file: string;
  /** sha256 of its bytes, hex: the same name with other bytes is another init. */
  digest: string;
  /** Object name under the key prefix. */
  name: string;
  /** The naming epoch it was stored in (a restart that reuses numbers stores its inits anew). */
  epoch: number;
}

/** Where an init is (to be) stored; `stored` when it already is and must not be uploaded again. */
export interface InitPlacement extends StoredInit {
  stored: boolean;
}

export interface StreamSnapshot {
  /** Listed segments, oldest first; never longer than the window. */
  window: ListedSegment[];
  /** Media sequence number of window[0] (or of the next segment while the window is empty). */
  mediaSequence: number;
  /** Discontinuities that left the window. */
  discontinuitySequence: number;
  /** True once any discontinuity was listed: from then on the playlist carries the tag. */
  discontinuitySeen: boolean;
  /** Fixed by the first segment, never changed afterwards. */
  targetDuration?: number;
  /** The segmenter's `segment_duration` from the first message, to notice a reconfigured segmenter. */
  configuredDuration?: number;
  /** Number of the last segment appended. */
  lastSegment?: number;
  ended: boolean;
  /** Segmenter restarts that reused segment numbers (segment-name.ts); absent means 0. */
  epoch?: number;
  /** fMP4 init sections stored and not retired, oldest first. */
  inits?: StoredInit[];
  /** Every init object name this stream ever used: none is used for other bytes. */
  initNames?: string[];
  /** Inits an ended playlist kept as its own object maps: never retired, even when a later run reuses one. */
  keptInits?: string[];
  /**
   * Recent small runs of numbers skipped in this epoch (`[first, last]`, newest last): one of them
   * arriving afterwards is late (a one-shot message overtaken by the next), not a restart.
   */
  gaps?: Array<[number, number]>;
}

/** A skipped run longer than this is a jump of the segmenter's numbers, not messages overtaking each other. */
export const LATE_GAP_MAX = 32;
/** Skipped runs remembered, and how far behind the newest number one is still looked for. */
const LATE_GAPS_KEPT = 8;
export const LATE_HORIZON = 64;

export type Disposition =
  /** A segment to upload, then list. */
  | { kind: 'new'; restart: boolean }
  /** Already listed: nothing to upload; only the ENDLIST may change. */
  | { kind: 'repeat'; endsStream: boolean }
  /** A number skipped a moment ago, arriving after a later one was listed: stored, never listed (RFC 8216 §6.2.2). */
  | { kind: 'late' };

export interface StreamStateOptions {
  /** Segments listed at once (the original listed 5). */
  window: number;
  /** Every segment starts with a keyframe (the segmenter cuts only there). */
  independentSegments?: boolean;
}

export class StreamState {
  readonly key: StreamKey;
  readonly #window: number;
  readonly #independentSegments: boolean;
  readonly #s: StreamSnapshot;
  /** Segments that left the window since takeLeft() was last called; not part of the snapshot. */
  #left: ListedSegment[] = [];

  constructor(key: StreamKey, options: StreamStateOptions, snapshot?: StreamSnapshot) {
    if (!Number.isInteger(options.window) || options.window < 1) {
      throw new TypeError(`window must be an integer ≥ 1, got ${options.window}`);
    }
    this.key = key;
    this.#window = options.window;
    this.#independentSegments = options.independentSegments ?? INDEPENDENT_SEGMENTS;
    this.#s = snapshot
      ? structuredClone(snapshot)
      : { window: [], mediaSequence: 0, discontinuitySequence: 0, discontinuitySeen: false, ended: false };
  }

  /**
   * What the message means for this stream. A message for the segment appended last is a repeat
   * (a segmenter re-sending after a reconnect, or ending the stream without a new segment); any
   * other number is a new segment, and a number that went back means the segmenter restarted.
   */
  classify(m: IndexMessage): Disposition {
    const last = this.#s.lastSegment;
    if (last !== undefined && m.lastSegment === last && !this.#s.ended) {
      return { kind: 'repeat', endsStream: m.end };
    }
    if (last !== undefined && m.lastSegment === last && this.#s.ended) return { kind: 'repeat', endsStream: false };
    if (last !== undefined && !this.#s.ended && m.lastSegment < last && this.#s.gaps?.some(([a, b]) => a <= m.lastSegment && m.lastSegment <= b)) {
      return { kind: 'late' };
    }
    return { kind: 'new', restart: last !== undefined && (m.lastSegment < last || this.#s.ended) };
  }

  /** The object name the segment `m` announces is stored under (call before append). */
  objectName(m: IndexMessage): string {
    return segmentObjectName(m.outputPrefix, m.lastSegment, this.#epochFor(m), m.ext.format);
  }

  /**
   * Where the init `m` names (`init=`, bytes with sha256 `digest`) is stored: an init already
   * stored with the same bytes is not uploaded again; new bytes get a name never used before.
   */
  initPlacement(m: IndexMessage, digest: string): InitPlacement {
    const file = m.ext.init;
    if (file === undefined) throw new TypeError('the message names no init section');
    const epoch = this.#epochFor(m);
    const known = this.#s.inits?.find((i) => i.file === file && i.digest === digest && i.epoch === epoch);
    if (known) return { ...known, stored: true };
    const name = initObjectName(m.outputPrefix, file, epoch, digest, new Set(this.#s.initNames ?? []));
    return { file, digest, name, epoch, stored: false };
  }

  /** The init is stored (call after its upload, before the segments that need it are appended). */
  initStored(init: StoredInit): void {
    const { file, digest, name, epoch } = init;
    this.#s.inits = [...(this.#s.inits ?? []).filter((i) => i.name !== name), { file, digest, name, epoch }];
    if (!this.#s.initNames?.includes(name)) this.#s.initNames = [...(this.#s.initNames ?? []), name];
  }

  /** Inits no listed segment needs any more (after the segments that did left): forgotten, to be retired. */
  releaseInits(): string[] {
    const used = new Set(this.#s.window.map((w) => w.initName));
    const free = (this.#s.inits ?? []).filter((i) => !used.has(i.name));
    if (free.length > 0) this.#s.inits = this.#s.inits!.filter((i) => used.has(i.name));
    const kept = new Set(this.#s.keptInits);
    return free.map((i) => i.name).filter((name) => !kept.has(name));
  }

  /** A restart whose numbers are not above the last one starts a new epoch of object names. */
  #epochFor(m: IndexMessage): number {
    const s = this.#s;
    const epoch = s.epoch ?? 0;
    return s.lastSegment !== undefined && m.lastSegment <= s.lastSegment && this.classify(m).kind === 'new' ? epoch + 1 : epoch;
  }

  /**
   * Lists the segment `m` announces (it must be stored already) and slides the window.
   * Returns warnings worth logging (they never stop the stream).
   */
  append(m: IndexMessage, initName?: string, key?: ListedKey): string[] {
    const s = this.#s;
    const warnings: string[] = [];
    const disposition = this.classify(m);
    const restart = disposition.kind === 'new' && disposition.restart;
    const real = m.ext.duration ?? m.segmentDuration;
    if (s.targetDuration === undefined) {
      // Fixed now, before any playlist exists: the configured duration, or the first real
      // segment if that is already longer (a GOP longer than the configured duration).
      s.targetDuration = Math.max(targetDurationFor(m.segmentDuration), targetDurationFor(real));
      s.configuredDuration = m.segmentDuration;
      s.mediaSequence = m.lastSegment;
    } else if (s.configuredDuration === undefined) {
      // A stream continued from its stored playlist (stream-recovery.ts): the target stays.
      s.configuredDuration = m.segmentDuration;
    } else if (m.segmentDuration !== s.configuredDuration) {
      warnings.push(
        `segment_duration changed from ${s.configuredDuration} to ${m.segmentDuration}; ` +
          `EXT-X-TARGETDURATION stays ${s.targetDuration} for the life of the stream`,
      );
      s.configuredDuration = m.segmentDuration;
    }
    let duration = real;
    if (targetDurationFor(real) > s.targetDuration) {
      // Changing the target mid-stream breaks players (RFC 8216 §6.2.1); list the segment with
      // the longest duration the target allows and say so.
      duration = longestDurationFor(s.targetDuration);
      warnings.push(
        `segment ${m.lastSegment} lasts ${real.toFixed(3)} s, longer than EXT-X-TARGETDURATION ${s.targetDuration}; ` +
          `listed as ${duration.toFixed(3)} s (cut at shorter keyframe intervals)`,
      );
    }
    if (restart && !s.ended) {
      warnings.push(
        `segment number went from ${s.lastSegment} to ${m.lastSegment}: ` +
          `treating it as a segmenter restart (discontinuity)`,
      );
    } else if (s.lastSegment !== undefined && m.lastSegment > s.lastSegment + 1) {
      warnings.push(`segments ${s.lastSegment + 1}..${m.lastSegment - 1} were never announced`);
    }
    this.#noteGap(m.lastSegment, restart || s.ended);
    const discontinuity = restart || m.ext.discontinuity === true;
    const epoch = this.#epochFor(m);
    const name = segmentObjectName(m.outputPrefix, m.lastSegment, epoch, m.ext.format);
    if (epoch !== (s.epoch ?? 0)) {
      s.epoch = epoch;
      warnings.push(`segment numbers reused after a restart: this run is stored as ${name} and on, so no stored segment is overwritten`);
    }
    const entry = listedEntry(m, name, duration, initName);
    if (key !== undefined) {
      entry.key = key.tag;
      entry.keyName = key.name;
      entry.sequence = s.mediaSequence + s.window.length;
    }
    if (discontinuity) {
      entry.discontinuity = true;
      s.discontinuitySeen = true;
    }
    if (m.ext.programDateTime) entry.programDateTime = m.ext.programDateTime;
    if (s.ended) this.#leaveEndedRun(initName);
    s.window.push(entry);
    while (s.window.length > this.#window) {
      const left = s.window.shift()!;
      this.#left.push(left);
      s.mediaSequence += 1;
      if (left.discontinuity) s.discontinuitySequence += 1;
    }
    s.lastSegment = m.lastSegment;
    s.ended = m.end;
    return warnings;
  }

  /** Remembers the numbers `n` skipped (see StreamSnapshot.gaps); a restart forgets them all. */
  #noteGap(n: number, restart: boolean): void {
    const s = this.#s;
    const last = s.lastSegment;
    let gaps = restart ? [] : (s.gaps ?? []).filter(([, b]) => b >= n - LATE_HORIZON);
    if (!restart && last !== undefined && n > last + 1 && n - last - 1 <= LATE_GAP_MAX) gaps = [...gaps, [last + 1, n - 1] as [number, number]].slice(-LATE_GAPS_KEPT);
    if (gaps.length > 0) s.gaps = gaps;
    else delete s.gaps;
  }

  /**
   * A late segment (classify: 'late') is stored: it is never listed, so it goes to retention
   * now, as if it had left the window (takeLeft).
   */
  lateStored(m: IndexMessage, initName?: string): void {
    this.#left.push(listedEntry(m, this.objectName(m), m.ext.duration ?? m.segmentDuration, initName));
  }

  /**
   * A new run of an ended stream starts a fresh live playlist (RFC 8216 §6.2.1: an ended playlist
   * never changes; publish/ended-run.ts keeps it as its own object first). Its segments leave the
   * window at once, so the media and discontinuity sequences go on past them, but they stay listed
   * by the ended playlist: never handed to retention, their inits never retired.
   */
  #leaveEndedRun(initName: string | undefined): void {
    const s = this.#s;
    const kept = new Set(s.window.flatMap((w) => (w.initName === undefined ? [] : [w.initName])));
    if (s.inits) s.inits = s.inits.filter((i) => !kept.has(i.name) || i.name === initName);
    // The one this run goes on using stays in `inits`: it must still never be retired.
    if (kept.size > 0) s.keptInits = [...new Set([...(s.keptInits ?? []), ...kept])];
    s.mediaSequence += s.window.length;
    s.discontinuitySequence += s.window.filter((w) => w.discontinuity).length;
    s.window = [];
    s.ended = false;
  }

  /** The stream ended without a new segment (an `end=1` repeat, or its last segment could not be stored). */
  end(): void {
    this.#s.ended = true;
  }

  get ended(): boolean {
    return this.#s.ended;
  }

  get lastSegment(): number | undefined {
    return this.#s.lastSegment;
  }

  get targetDuration(): number | undefined {
    return this.#s.targetDuration;
  }

  get mediaSequence(): number {
    return this.#s.mediaSequence;
  }

  /** The media sequence number the segment `m` announces gets when appended (the first one's number starts the sequence). */
  sequenceOf(m: IndexMessage): number {
    return this.#s.targetDuration === undefined ? m.lastSegment : this.#s.mediaSequence + this.#s.window.length;
  }

  /** The playlist model for the current window. */
  playlist(): MediaPlaylist {
    const s = this.#s;
    const segments = s.window.map(({ number: _number, name: _name, initName: _init, keyName: _key, sequence: _sequence, ...segment }) => segment);
    return {
      version: playlistVersion(segments),
      targetDuration: s.targetDuration ?? 1,
      mediaSequence: s.mediaSequence,
      discontinuitySequence: s.discontinuitySeen ? s.discontinuitySequence : undefined,
      independentSegments: this.#independentSegments,
      segments,
      endList: s.ended,
    };
  }

  /** Segments that left the window since the last call (for retention), oldest first. */
  takeLeft(): ListedSegment[] {
    const left = this.#left;
    this.#left = [];
    return left;
  }

  /** The segment appended last, while it is listed. */
  get newest(): ListedSegment | undefined {
    const w = this.#s.window;
    return w.length > 0 ? structuredClone(w[w.length - 1]) : undefined;
  }

  /** Segments listed now. */
  get listed(): readonly ListedSegment[] {
    return this.#s.window;
  }

  /** A copy of the state, for a journal. */
  snapshot(): StreamSnapshot {
    return structuredClone(this.#s);
  }
}

/** A segment's entry: its number, object name and URI, and the init it needs (fMP4). */
function listedEntry(m: IndexMessage, name: string, duration: number, initName: string | undefined): ListedSegment {
  const entry: ListedSegment = { number: m.lastSegment, name, uri: m.httpPrefix + name, duration };
  if (initName !== undefined) {
    entry.initName = initName;
    entry.initUri = m.httpPrefix + initName;
  }
  return entry;
}
