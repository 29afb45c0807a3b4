/**
 * The keys of one encrypted stream (`--encrypt aes-128`): which key the next segment is
 * encrypted with, its name, where it is stored and how the playlist names it.
 *
 * - A new key every `rotation` segments counted from the stream's first, or one key for the
 *   whole run of the stream. A run starts when the uploader first sees the stream (or finds it
 *   only in storage); a random run id in every key name keeps streams and runs sharing one key
 *   location apart: `<playlist name>-<run>-<00000>.key`, stored as `<key prefix>/keys/<name>`
 *   and listed as `URI="<key URI prefix><name>"`.
 * - The bytes come from the key store (state/key-store.ts): on disk before first use, and the
 *   same bytes for the same name after a restart, so a replayed message encrypts as before.
 * - Each key object is stored once per uploader run before the first segment that uses it, so
 *   before any playlist names it (a restarted uploader stores it again: the same bytes).
 * - MPEG-TS segments use the media sequence number as IV (no IV attribute); fMP4 streams use the
 *   key's explicit IV for the init section and every segment (RFC 8216 §5.2 needs one for the init).
 *
 * Only the snapshot (run, key number, segments encrypted with it) is journaled; never key bytes.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '@hlsrelay/log';
import type { IndexMessage } from '@hlsrelay/protocol';
import type { ContentKey, KeyStore } from '../state/key-store';
import type { SegmentKey } from '../playlist/media-playlist';
import type { ListedSegment } from '../streams/stream-state';
import { keyObjectName } from '../streams/retention';
import { objectKey, type StreamKey } from '../streams/stream-key';
import type { TransferTarget } from '../targets/transfer-target';
import type { UploadQueue } from '../targets/upload-queue';
import type { BufferPool } from '../targets/buffer-pool';
import { ivAttribute, sequenceIv, type SourceOpener } from './segment-encryption';

export const ENCRYPTION_METHODS = ['aes-128'] as const;
export type EncryptionMethod = (typeof ENCRYPTION_METHODS)[number];

export interface EncryptionSettings {
  method: EncryptionMethod;
  /** A new key every this many segments; undefined: one key per run of the stream. */
  rotation?: number;
  /** What players fetch keys from: the key's name is appended. */
  keyUriPrefix: string;
  /** Where key objects go (`--key-target`); undefined: the stream's own target. */
  keyTarget?: TransferTarget;
  /** `all` (the default): every stream; `requested`: only streams whose messages say `encrypt=aes-128` (`--encrypt-streams`). */
  streams?: 'all' | 'requested';
}

/** Whether the segment `m` announces is stored encrypted. */
export function encrypts(settings: EncryptionSettings | undefined, m: IndexMessage): boolean {
  return settings !== undefined && (settings.streams !== 'requested' || m.ext.encrypt !== undefined);
}

/** What every encrypted stream shares. */
export interface EncryptionContext {
  settings: EncryptionSettings;
  store: KeyStore;
  /** Ciphertext files (streamed segments, mirrors) wait here until stored (segment-encryption.ts). */
  workDir: string;
  /** Buffers for segments encrypted in memory: clear bytes and ciphertext, reused. */
  buffers: BufferPool;
  /** How segments and inits are opened to be encrypted: the policy's read-time check. */
  openSource: SourceOpener;
}

export interface EncryptionSnapshot {
  /** This run's id, part of every key name. */
  run: string;
  /** Number of the key in use, from 0. */
  key: number;
  /** Segments stored encrypted with it. */
  used: number;
}

/** The key a segment is encrypted with, and how its playlist names it. */
export interface ActiveKey {
  name: string;
  content: ContentKey;
  /** The IV this segment is encrypted with. */
  iv: Buffer;
  /** The EXT-X-KEY the segment is listed under. */
  tag: SegmentKey;
}

interface StreamContext {
  target: TransferTarget;
  queue: UploadQueue;
  logger: Logger;
}

export class StreamEncryption {
  readonly #enc: EncryptionContext;
  readonly #ctx: StreamContext;
  readonly #streamId: string;
  readonly #key: StreamKey;
  readonly #s: EncryptionSnapshot;
  /** Key names stored to their target by this uploader run. */
  readonly #stored = new Set<string>();
  /** The key number of the last committed snapshot: keys below it are no replay's concern. */
  #committedKey: number;
  /** The key in use, as the store gave it (read once, not per segment). */
  #current: { name: string; content: ContentKey } | undefined;

  constructor(enc: EncryptionContext, ctx: StreamContext, streamId: string, key: StreamKey, snapshot?: EncryptionSnapshot) {
    this.#enc = enc;
    this.#ctx = ctx;
    this.#streamId = streamId;
    this.#key = key;
    this.#s = snapshot ? { ...snapshot } : { run: newRunId(), key: 0, used: 0 };
    this.#committedKey = this.#s.key;
  }

  /**
   * The key for the segment that will have `mediaSequence`: rotated when due, on disk and
   * stored as an object before this resolves. `explicitIv`: fMP4 (the init needs one).
   */
  async next(mediaSequence: number, explicitIv: boolean, log: Record<string, unknown>): Promise<ActiveKey> {
    const s = this.#s;
    const rotation = this.#enc.settings.rotation;
    if (rotation !== undefined && s.used >= rotation) {
      s.key += 1;
      s.used = 0;
    }
    const name = keyName(this.#key.index, s.run, s.key);
    if (this.#current?.name !== name) this.#current = { name, content: await this.#enc.store.obtain(this.#streamId, name) };
    const { content } = this.#current;
    if (!this.#stored.has(name)) {
      const upload = { bucket: this.#key.bucket, key: objectKey(this.#key.keyPrefix, keyObjectName(name)), bytes: content.key };
      const target = this.#enc.settings.keyTarget ?? this.#ctx.target;
      if (!target.putKey) throw new TypeError(`${target.name} cannot store keys`);
      await this.#ctx.queue.transfer('key upload', { ...log, key: upload.key }, () => target.putKey!(upload), 1, true);
      this.#stored.add(name);
      this.#ctx.logger.info('content key stored', { ...log, key: upload.key, keyNumber: s.key });
    }
    const uri = this.#enc.settings.keyUriPrefix + name;
    return explicitIv
      ? { name, content, iv: content.iv, tag: { uri, iv: ivAttribute(content.iv) } }
      : { name, content, iv: sequenceIv(mediaSequence), tag: { uri } };
  }

  /**
   * `--delete-after`: the object names of keys that no listed segment uses any more, among those
   * of the segments in `left`, so they go with the same grace as those segments. Never the key in
   * use, and never keys stored elsewhere (`--key-target`: the operator's key store keeps them).
   */
  released(left: readonly ListedSegment[], listed: readonly ListedSegment[]): string[] {
    if (this.#enc.settings.keyTarget !== undefined) return [];
    const used = new Set(listed.map((s) => s.keyName));
    const current = keyName(this.#key.index, this.#s.run, this.#s.key);
    const names = new Set(left.map((s) => s.keyName).filter((n): n is string => n !== undefined && n !== current && !used.has(n)));
    return [...names].map(keyObjectName);
  }

  /**
   * A window recovered from the stored playlist (stored-stream.ts) knows its keys only by URI:
   * each segment under a key this stream named (`<key URI prefix><playlist>-<run>-<n>.key`) gets
   * that name back, so the key is retired like any other once no listed segment uses it. A key
   * under another prefix or name is not this stream's to delete, and stays.
   */
  nameRecoveredKeys(window: ListedSegment[]): void {
    const prefix = this.#enc.settings.keyUriPrefix;
    const ours = keyNamePattern(this.#key.index);
    for (const s of window) {
      if (s.keyName !== undefined || s.key?.uri.startsWith(prefix) !== true) continue;
      const name = s.key.uri.slice(prefix.length);
      if (ours.test(name)) s.keyName = name;
    }
  }

  /** A segment was stored encrypted with the current key. */
  used(): void {
    this.#s.used += 1;
  }

  snapshot(): EncryptionSnapshot {
    return { ...this.#s };
  }

  /**
   * The snapshot is journaled: local copies of keys before the current one can go (the stored
   * key objects stay, for the segments listed or cached under them).
   */
  async committed(snapshot: EncryptionSnapshot): Promise<void> {
    const names: string[] = [];
    for (let k = this.#committedKey; k < snapshot.key; k += 1) names.push(keyName(this.#key.index, snapshot.run, k));
    this.#committedKey = Math.max(this.#committedKey, snapshot.key);
    await this.#enc.store.forget(this.#streamId, names);
  }
}

/** `<playlist name without .m3u8>-<run>-<key number, 5 digits>.key`, in characters safe in any URI and file name. */
export function keyName(index: string, run: string, key: number): string {
  return `${keyNameBase(index)}-${run}-${String(key).padStart(5, '0')}.key`;
}

function keyNameBase(index: string): string {
  return index.replace(/\.m3u8$/i, '').replace(/[^A-Za-z0-9._-]/g, '_');
}

/** Any name `keyName` gives the stream's keys, whatever the run and number. */
function keyNamePattern(index: string): RegExp {
  return new RegExp(`^${keyNameBase(index).replace(/[.]/g, '\\.')}-[0-9a-f]{8}-\\d{5}\\.key$`);
}

/** 8 hex digits: a run id, not a secret (key names are public in the playlist). */
function newRunId(): string {
  return randomBytes(4).toString('hex');
}
