/**
 * The segmenter's spool (`--spool-dir`): index messages the uploader has not acknowledged yet,
 * on disk, so that neither an uploader away for a while nor a segmenter restart loses one.
 *
 * One append-only file, `spool.log`, of checksummed one-line JSON records (protocol
 * record-framing): `{"a":<id>,"l":"<message>"}` when a message is handed over,
 * `{"d":<id>}` once it is delivered (or dropped). The file is cut to nothing whenever nothing is
 * pending, and rewritten to the pending messages when it is opened (a torn tail from a crash is
 * dropped then).
 *
 * Durability, and what it costs the thread that cuts segments:
 * - every record is written before add() or remove() returns, so a killed or crashed segmenter
 *   loses nothing (the bytes are in the kernel);
 * - against a power cut, a message is sent only once its record is on disk: add() gives a
 *   `durable` promise, and the notifier waits for it. The fdatasync runs on the thread pool, and
 *   every record written while one is in flight shares the next (one sync per batch, not per
 *   record), so cutting never waits for the disk;
 * - a removal is not synced by itself: a power cut may bring a delivered message back, and it
 *   is sent again after the restart — a repeat the uploader recognises and answers OK.
 *
 * Bounded: past `maxMessages` pending, the oldest is dropped with an error log — a live
 * stream is better served by its newest segments than by a spool that fills the disk.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '@hlsrelay/log';
import { acquireDirLock, RecordLog, streamName, type AcquiredLock } from '@hlsrelay/protocol';

export const SPOOL_FILE = 'spool.log';
export const DEFAULT_SPOOL_MAX_MESSAGES = 10_000;

export interface SpooledMessage {
  id: number;
  line: string;
}

/** Pending messages in a spool directory, oldest first, without changing it (for start-up and tests). */
export function readSpool(dir: string): { pending: SpooledMessage[]; ignoredBytes: number; size: number } {
  const { payloads, ignoredBytes, size } = new RecordLog(path.join(dir, SPOOL_FILE)).read();
  const pending = new Map<number, string>();
  for (const p of payloads) {
    const r = JSON.parse(p) as { a?: number; l?: string; d?: number };
    if (typeof r.a === 'number' && typeof r.l === 'string') pending.set(r.a, r.l);
    if (typeof r.d === 'number') pending.delete(r.d);
  }
  return { pending: [...pending].sort((x, y) => x[0] - y[0]).map(([id, line]) => ({ id, line })), ignoredBytes, size };
}

/**
 * The directory of a stream's spool under the spool home: its name made file-safe, and a hash of
 * the exact name so that two streams never share one (`videos_live_cam.m3u8-3f2a9c1e`).
 */
export function spoolDirName(stream: { bucketName: string; keyPrefix: string; index: string }): string {
  const name = streamName(stream).replace(/^s3:\/\//, '');
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 100);
  return `${safe}-${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

export interface SpoolOptions {
  maxMessages?: number;
  logger?: Logger;
  /**
   * This process (main.ts passes its pid and host): the directory is locked, so a second
   * segmenter on it fails at start instead of interleaving records. Without it, not locked.
   */
  owner?: { pid: number; host: string };
}

export class Spool {
  readonly #dir: string;
  readonly #log: RecordLog;
  readonly #maxMessages: number;
  readonly #logger?: Logger;
  /** Pending messages by id, in insertion (= id) order. Mirrors the file. */
  readonly #pending = new Map<number, string>();
  #nextId = 1;
  readonly #lock: AcquiredLock | undefined;
  /** close() calls so far: a sync started before one fails harmlessly after it (close fsync'd everything). */
  #closes = 0;
  /** The fdatasync in flight, and the one that follows it for records written meanwhile. */
  #syncing: Promise<void> | undefined;
  #nextSync: Promise<void> | undefined;
  /** Written since the last sync started: close() syncs before it closes. */
  #unsynced = false;
  /** Messages dropped because the spool was full. */
  dropped = 0;

  constructor(dir: string, options: SpoolOptions = {}) {
    const max = options.maxMessages ?? DEFAULT_SPOOL_MAX_MESSAGES;
    if (!Number.isSafeInteger(max) || max < 1) throw new TypeError(`spool maxMessages must be a whole number ≥ 1, got ${max}`);
    this.#dir = dir;
    this.#log = new RecordLog(path.join(dir, SPOOL_FILE));
    this.#maxMessages = max;
    this.#logger = options.logger;
    mkdirSync(dir, { recursive: true });
    this.#lock = options.owner && acquireDirLock(dir, { ...options.owner, what: 'spool directory' });
    const gone = this.#lock?.tookOverFrom;
    if (gone) this.#logger?.warn('took over the spool lock of a segmenter that is gone (a crash or kill); its undelivered messages go first', { dir, pid: gone.pid, host: gone.host });
    const { pending, ignoredBytes, size } = readSpool(dir);
    if (ignoredBytes > 0) this.#logger?.warn('spool ended in a torn record (a crash while writing); ignored', { dir, ignoredBytes });
    for (const p of pending) this.#pending.set(p.id, p.line);
    this.#nextId = pending.reduce((m, p) => Math.max(m, p.id), 0) + 1;
    // Rewritten to the pending messages: a torn tail is dropped before anything is appended. An
    // empty or missing file (the usual start: the last run delivered everything) has nothing to
    // rewrite, and the rewrite's two fsyncs were the start-up's longest wait on a busy disk.
    if (size > 0) this.#log.replace(this.messages().map((m) => JSON.stringify({ a: m.id, l: m.line })));
  }

  /** Pending messages, oldest first. */
  messages(): SpooledMessage[] {
    return [...this.#pending].map(([id, line]) => ({ id, line }));
  }

  get size(): number {
    return this.#pending.size;
  }

  /**
   * Records a message (written when this returns, a failed write throws) and gives its id and
   * `durable`, which resolves once the record is on disk (rejects if the disk fails it); may drop
   * the oldest pending message.
   */
  add(line: string): { id: number; durable: Promise<void>; dropped?: SpooledMessage } {
    const id = this.#nextId++;
    this.#pending.set(id, line);
    try {
      this.#append({ a: id, l: line });
    } catch (err) {
      // Not on disk (a full disk, an I/O error): not pending here either, so the two agree.
      this.#pending.delete(id);
      throw err;
    }
    const durable = this.#sync();
    if (this.#pending.size <= this.#maxMessages) return { id, durable };
    const [oldId, oldLine] = this.#pending.entries().next().value as [number, string];
    this.remove(oldId);
    this.dropped += 1;
    this.#logger?.error('spool full: the oldest undelivered index message is dropped; its segment will not be listed', {
      dir: this.#dir,
      maxMessages: this.#maxMessages,
      message: oldLine,
    });
    return { id, durable, dropped: { id: oldId, line: oldLine } };
  }

  /** The message is delivered (or refused for good): it leaves the spool. */
  remove(id: number): void {
    if (!this.#pending.delete(id)) return;
    if (this.#pending.size === 0) {
      // Nothing pending: an empty file says the same, and stays small.
      this.#log.truncateSync({ sync: false });
      this.#unsynced = true;
      return;
    }
    this.#append({ d: id });
  }

  get dir(): string {
    return this.#dir;
  }

  close(): void {
    // Synced here first, so an fdatasync still queued on the thread pool that then meets the closed
    // descriptor (EBADF, or whatever file took its number) loses nothing: its failure is no failure.
    this.#closes += 1;
    this.#log.close({ sync: this.#unsynced || this.#syncing !== undefined });
    this.#unsynced = false;
    this.#lock?.release();
  }

  #append(record: object): void {
    this.#log.appendUnsynced([JSON.stringify(record)]);
    this.#unsynced = true;
  }

  /** Resolves once everything written before this call is on disk: the sync in flight may have started before it, so the next one. */
  #sync(): Promise<void> {
    if (!this.#syncing) return this.#startSync();
    this.#nextSync ??= this.#syncing.then(
      () => this.#startSync(),
      () => this.#startSync(),
    );
    return this.#nextSync;
  }

  #startSync(): Promise<void> {
    this.#nextSync = undefined;
    this.#unsynced = false;
    const closes = this.#closes;
    const sync = this.#log
      .datasync()
      .catch((err: unknown) => {
        if (this.#closes === closes) throw err;
      })
      .finally(() => {
        if (this.#syncing === sync) this.#syncing = undefined;
      });
    this.#syncing = sync;
    return sync;
  }
}
