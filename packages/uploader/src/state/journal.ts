/**
 * The uploader's journal (`--state-dir`): every accepted index message is on disk, fsync'd,
 * before the segmenter is told OK, and each stream's playlist state is written in the same
 * record that marks its messages done — so after a crash the uploader knows exactly which
 * messages still need uploading and where every playlist stood.
 *
 * One append-only file, `journal.log`, of checksummed one-line JSON records (protocol record-log):
 *   {"m":<id>,"v":<parsed index message>}            accepted
 *   {"m":<id>,"l":"<index message line>"}            accepted, as earlier versions wrote it (still read)
 *   {"s":"<stream id>","v":<stream state>,"d":[ids]}  stream state after publishing; ids done
 * Appends are group-committed: records handed over while an fsync runs share the next one.
 * The file is rewritten (write a new file, fsync, rename, fsync the directory) to hold only the
 * latest state of each stream and the messages not yet done: at open, at close, once nothing is
 * pending and the file has grown, and whenever it passes `compactBytes`.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '@hlsrelay/log';
import { encodeRecord, RecordLog, type IndexMessage } from '@hlsrelay/protocol';

export const JOURNAL_FILE = 'journal.log';
const DEFAULT_COMPACT_BYTES = 4 * 1024 * 1024;
/** Once nothing is pending, a file this big is rewritten to its stream states. */
const IDLE_COMPACT_BYTES = 64 * 1024;

/**
 * An accepted message not yet done. The uploader records the parsed message (`message`), so a
 * restart takes it back as it was accepted, without parsing it again; `line` is what a journal
 * written by an earlier version holds (the message as sent on the wire), or a line recorded as is.
 */
export interface PendingMessage {
  id: number;
  message?: IndexMessage;
  line?: string;
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

/** A pending record: `{"m":id,"v":message}`, or `{"m":id,"l":line}` as earlier versions wrote every message. */
function pendingRecord(p: PendingMessage): string {
  return JSON.stringify(p.message !== undefined ? { m: p.id, v: p.message } : { m: p.id, l: p.line });
}

/** Dates are JSON strings on disk: the wall-clock fields of messages and listed segments come back as Dates. */
function reviveDates(key: string, value: unknown): unknown {
  return key === 'programDateTime' && typeof value === 'string' ? new Date(value) : value;
}

/** Reads a journal file without changing it (for start-up and for tests that inspect it). */
export function readJournal(dir: string): JournalContents {
  const { payloads, ignoredBytes } = new RecordLog(path.join(dir, JOURNAL_FILE)).read();
  const pending = new Map<number, PendingMessage>();
  const streams = new Map<string, unknown>();
  for (const payload of payloads) {
    const r = JSON.parse(payload, reviveDates) as { m?: number; l?: string; s?: string; v?: unknown; d?: number[] };
    if (typeof r.m === 'number' && typeof r.l === 'string') pending.set(r.m, { id: r.m, line: r.l });
    else if (typeof r.m === 'number' && typeof r.v === 'object' && r.v !== null) pending.set(r.m, { id: r.m, message: r.v as IndexMessage });
    if (typeof r.s === 'string') streams.set(r.s, r.v);
    for (const id of r.d ?? []) pending.delete(id);
  }
  return { pending: [...pending.values()].sort((a, b) => a.id - b.id), streams, ignoredBytes };
}

export class Journal {
  readonly #dir: string;
  readonly #log: RecordLog;
  readonly #logger: Logger;
  readonly #compactBytes: number;
  /** Messages accepted and not done, by id. Mirrors the file. */
  readonly #pending = new Map<number, PendingMessage>();
  readonly #streams = new Map<string, unknown>();
  #nextId: number;
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

  private constructor(dir: string, logger: Logger, compactBytes: number, contents: JournalContents) {
    this.#dir = dir;
    this.#log = new RecordLog(path.join(dir, JOURNAL_FILE));
    this.#logger = logger;
    this.#compactBytes = compactBytes;
    for (const p of contents.pending) this.#pending.set(p.id, p);
    for (const [id, v] of contents.streams) this.#streams.set(id, v);
    this.#nextId = contents.pending.reduce((max, p) => Math.max(max, p.id), 0) + 1;
    this.#size = this.#rewrite();
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
    const journal = new Journal(dir, options.logger, options.compactBytes ?? DEFAULT_COMPACT_BYTES, recovered);
    return { journal, recovered };
  }

  /** Messages accepted and not yet done. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Records the message (parsed, or a line as is); resolves once it is on disk. Returns its id. */
  async accept(entry: IndexMessage | string): Promise<number> {
    const id = this.#nextId++;
    const p: PendingMessage = typeof entry === 'string' ? { id, line: entry } : { id, message: entry };
    this.#pending.set(id, p);
    await this.#append(pendingRecord(p));
    return id;
  }

  /** Records a stream's state and the messages it completes; resolves once on disk. */
  async commit(streamId: string, state: unknown, done: readonly number[]): Promise<void> {
    this.#streams.set(streamId, state);
    for (const id of done) this.#pending.delete(id);
    await this.#append(JSON.stringify({ s: streamId, v: state, d: done }));
    if (this.#size > this.#compactBytes || (this.#pending.size === 0 && this.#size > IDLE_COMPACT_BYTES)) await this.#compact();
  }

  /** Writes what is queued, rewrites the file to its live contents and closes it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#flushing;
    await this.#compact();
    this.#closed = true;
    this.#log.close();
  }

  #append(record: string): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('journal is closed'));
    const bytes = encodeRecord(record);
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
        await this.#log.appendEncoded(bytes);
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
      this.#size = this.#rewrite();
    } finally {
      this.#compacting = false;
      if (this.#queue.length > 0) this.#flushing ??= this.#flush();
    }
    this.#logger.debug('journal compacted', { dir: this.#dir, bytesBefore: before, bytesAfter: this.#size, pending: this.#pending.size });
  }

  /** Replaces the file by the latest state of each stream and the pending messages, in order. Returns its size. */
  #rewrite(): number {
    const states = [...this.#streams].map(([s, v]) => JSON.stringify({ s, v, d: [] }));
    const pending = [...this.#pending.values()].sort((a, b) => a.id - b.id).map(pendingRecord);
    return this.#log.replace([...states, ...pending]);
  }
}
