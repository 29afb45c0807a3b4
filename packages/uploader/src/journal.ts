/**
 * The uploader's journal (`--state-dir`): every accepted index message is on disk, fsync'd,
 * before the segmenter is told OK, and each stream's playlist state is written in the same
 * record that marks its messages done — so after a crash the uploader knows exactly which
 * messages still need uploading and where every playlist stood.
 *
 * One append-only file, `journal.log`, of checksummed one-line JSON records (record-framing):
 *   {"m":<id>,"l":"<index message>"}                 accepted
 *   {"s":"<stream id>","v":<stream state>,"d":[ids]}  stream state after publishing; ids done
 * Appends are group-committed: records handed over while an fsync runs share the next one.
 * The file is rewritten (write a new file, fsync, rename, fsync the directory) to hold only the
 * latest state of each stream and the messages not yet done: at open, at close, once nothing is
 * pending and the file has grown, and whenever it passes `compactBytes`.
 */
import { mkdirSync, openSync, readFileSync, renameSync, fsyncSync, closeSync, writeSync, existsSync, ftruncateSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@hlsrelay/log';
import { decodeRecords, encodeRecord } from '@hlsrelay/protocol';

export const JOURNAL_FILE = 'journal.log';
const DEFAULT_COMPACT_BYTES = 4 * 1024 * 1024;
/** Once nothing is pending, a file this big is rewritten to its stream states. */
const IDLE_COMPACT_BYTES = 64 * 1024;

export interface PendingMessage {
  id: number;
  line: string;
}

export interface JournalContents {
  /** Accepted and not yet done, in acceptance order. */
  pending: PendingMessage[];
  /** Latest state of each stream, by stream id. */
  streams: Map<string, unknown>;
  /** Bytes of a torn or damaged tail that were dropped. */
  ignoredBytes: number;
}

interface Waiter {
  bytes: Buffer;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Reads a journal file without changing it (for start-up and for tests that inspect it). */
export function readJournal(dir: string): JournalContents {
  const file = path.join(dir, JOURNAL_FILE);
  const bytes = existsSync(file) ? readFileSync(file) : Buffer.alloc(0);
  const { payloads, ignoredBytes } = decodeRecords(bytes);
  const pending = new Map<number, string>();
  const streams = new Map<string, unknown>();
  for (const payload of payloads) {
    const r = JSON.parse(payload) as { m?: number; l?: string; s?: string; v?: unknown; d?: number[] };
    if (typeof r.m === 'number' && typeof r.l === 'string') pending.set(r.m, r.l);
    if (typeof r.s === 'string') streams.set(r.s, r.v);
    for (const id of r.d ?? []) pending.delete(id);
  }
  return {
    pending: [...pending].sort((a, b) => a[0] - b[0]).map(([id, line]) => ({ id, line })),
    streams,
    ignoredBytes,
  };
}

export class Journal {
  readonly #dir: string;
  readonly #file: string;
  readonly #logger: Logger;
  readonly #compactBytes: number;
  /** Messages accepted and not done: id → line. Mirrors the file. */
  readonly #pending = new Map<number, string>();
  readonly #streams = new Map<string, unknown>();
  #nextId: number;
  #fd: FileHandle;
  #size: number;
  /** Records waiting for the next write + fsync. */
  #queue: Waiter[] = [];
  #flushing: Promise<void> | undefined;
  /** While the file is swapped, appends queue up and no write starts (it would go to the old file). */
  #compacting = false;
  #closed = false;
  /** fsyncs done and records they carried, for the figures in logs and benchmarks. */
  syncs = 0;
  records = 0;

  private constructor(dir: string, logger: Logger, compactBytes: number, contents: JournalContents, fd: FileHandle, size: number) {
    this.#dir = dir;
    this.#file = path.join(dir, JOURNAL_FILE);
    this.#logger = logger;
    this.#compactBytes = compactBytes;
    for (const p of contents.pending) this.#pending.set(p.id, p.line);
    for (const [id, v] of contents.streams) this.#streams.set(id, v);
    this.#nextId = contents.pending.reduce((max, p) => Math.max(max, p.id), 0) + 1;
    this.#fd = fd;
    this.#size = size;
  }

  /**
   * Opens (creating) the journal in `dir`, reads what an earlier run left, and rewrites the file
   * to just that (a torn tail from a crash is dropped, and logged).
   */
  static async open(dir: string, options: { logger: Logger; compactBytes?: number }): Promise<{ journal: Journal; recovered: JournalContents }> {
    mkdirSync(dir, { recursive: true });
    const recovered = readJournal(dir);
    if (recovered.ignoredBytes > 0) {
      options.logger.warn('journal ended in a torn record (a crash while writing); it was never acknowledged and is ignored', {
        dir,
        ignoredBytes: recovered.ignoredBytes,
      });
    }
    const size = rewrite(dir, recovered.streams, new Map(recovered.pending.map((p) => [p.id, p.line])));
    const fd = await open(path.join(dir, JOURNAL_FILE), 'a');
    const journal = new Journal(dir, options.logger, options.compactBytes ?? DEFAULT_COMPACT_BYTES, recovered, fd, size);
    return { journal, recovered };
  }

  /** Messages accepted and not yet done. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Records the message; resolves once it is on disk. Returns its id. */
  async accept(line: string): Promise<number> {
    const id = this.#nextId++;
    this.#pending.set(id, line);
    await this.#append({ m: id, l: line });
    return id;
  }

  /** Records a stream's state and the messages it completes; resolves once on disk. */
  async commit(streamId: string, state: unknown, done: readonly number[]): Promise<void> {
    this.#streams.set(streamId, state);
    for (const id of done) this.#pending.delete(id);
    await this.#append({ s: streamId, v: state, d: done });
    if (this.#size > this.#compactBytes || (this.#pending.size === 0 && this.#size > IDLE_COMPACT_BYTES)) await this.#compact();
  }

  /** Writes what is queued, rewrites the file to its live contents and closes it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#flushing;
    await this.#compact();
    this.#closed = true;
    await this.#fd.close();
  }

  #append(record: object): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('journal is closed'));
    const bytes = encodeRecord(JSON.stringify(record));
    const done = new Promise<void>((resolve, reject) => this.#queue.push({ bytes, resolve, reject }));
    if (!this.#compacting) this.#flushing ??= this.#flush();
    return done;
  }

  async #flush(): Promise<void> {
    while (this.#queue.length > 0 && !this.#compacting) {
      const batch = this.#queue;
      this.#queue = [];
      const bytes = Buffer.concat(batch.map((w) => w.bytes));
      try {
        await this.#fd.write(bytes);
        await this.#fd.datasync();
        this.#size += bytes.length;
        this.syncs += 1;
        this.records += batch.length;
        for (const w of batch) w.resolve();
      } catch (err) {
        this.#logger.error('journal write failed; messages are not acknowledged', { dir: this.#dir, error: (err as Error).message });
        for (const w of batch) w.reject(err as Error);
      }
    }
    this.#flushing = undefined;
  }

  async #compact(): Promise<void> {
    if (this.#compacting) return;
    this.#compacting = true;
    await this.#flushing;
    const before = this.#size;
    try {
      // Records still queued are in the maps already: the new file holds them, and writing them
      // again afterwards only repeats what it says.
      this.#size = rewrite(this.#dir, this.#streams, this.#pending);
      const old = this.#fd;
      this.#fd = await open(this.#file, 'a');
      await old.close();
    } finally {
      this.#compacting = false;
      if (this.#queue.length > 0) this.#flushing ??= this.#flush();
    }
    this.#logger.debug('journal compacted', { dir: this.#dir, bytesBefore: before, bytesAfter: this.#size, pending: this.#pending.size });
  }
}

/** Replaces the journal by one holding `streams` and `pending`, crash-safely. Returns its size. */
function rewrite(dir: string, streams: Map<string, unknown>, pending: Map<number, string>): number {
  const file = path.join(dir, JOURNAL_FILE);
  const tmp = `${file}.tmp`;
  const records: Buffer[] = [];
  for (const [s, v] of streams) records.push(encodeRecord(JSON.stringify({ s, v, d: [] })));
  for (const [m, l] of [...pending].sort((a, b) => a[0] - b[0])) records.push(encodeRecord(JSON.stringify({ m, l })));
  const bytes = Buffer.concat(records);
  const fd = openSync(tmp, 'w');
  try {
    ftruncateSync(fd, 0);
    if (bytes.length > 0) writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  // The rename itself must survive a power cut.
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
  return bytes.length;
}
