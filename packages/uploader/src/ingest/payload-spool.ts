/**
 * Where segment bytes shipped over a connection (protocol segment-payload.ts) wait for their
 * upload: `<spool dir>/<stream hash>/<prefix>-%05u.ts`. Bytes are written as they arrive, so a
 * connection holds at most one socket chunk in memory; the file appears under its final name only
 * once complete and matched with its index message, whose output directory is then pointed at the
 * spool — from there on the uploader handles it like any segment on its own disk.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ProtocolError, segmentFilePath, type IndexMessage } from '@hlsrelay/protocol';
import { streamId, streamKeyOf } from '../streams/stream-key';

/** The spool's place under the uploader's `--state-dir`. */
export const PAYLOAD_SPOOL_SUBDIR = 'payload';
/**
 * Largest payload an uploader takes by default (`--max-payload-bytes`): ten times a 10 s 4K
 * segment, far below what would strain a disk, so a confused or hostile peer is refused early.
 */
export const DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;

export function payloadSpoolDir(stateDir: string): string {
  return path.join(path.resolve(stateDir), PAYLOAD_SPOOL_SUBDIR);
}

/** Creates the spool directory under `stateDir` (it must exist to be an allowed read root) and returns it. */
export function createPayloadSpoolDir(stateDir: string): string {
  const dir = payloadSpoolDir(stateDir);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export class PayloadSpool {
  readonly dir: string;
  #nextTemp = 0;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
    fs.mkdirSync(this.dir, { recursive: true });
  }

  /** True when `file` was spooled here (the uploader removes those once stored). */
  holds(file: string): boolean {
    return path.resolve(file).startsWith(this.dir + path.sep);
  }

  /**
   * At start-up, before any connection: removes every file no journaled message still needs —
   * partial payloads of connections a stop or crash cut, and complete ones whose message was never
   * acknowledged (their segmenter sends them again, bytes and all). `keep`: the segment files of
   * the messages the journal will replay. Returns how many files went.
   */
  sweep(keep: Iterable<string>): number {
    const needed = new Set([...keep].map((f) => path.resolve(f)));
    let removed = 0;
    for (const entry of fs.readdirSync(this.dir, { withFileTypes: true })) {
      const full = path.join(this.dir, entry.name);
      if (!entry.isDirectory()) {
        fs.rmSync(full, { force: true });
        removed += 1;
        continue;
      }
      const files = fs.readdirSync(full);
      for (const name of files) {
        if (needed.has(path.join(full, name))) continue;
        fs.rmSync(path.join(full, name), { force: true, recursive: true });
        removed += 1;
      }
      if (fs.readdirSync(full).length === 0) fs.rmdirSync(full);
    }
    return removed;
  }

  /** Starts receiving `length` bytes. */
  open(length: number): SpooledPayload {
    const temp = path.join(this.dir, `.incoming-${randomBytes(6).toString('hex')}-${this.#nextTemp++}.tmp`);
    return new SpooledPayload(this, temp, length);
  }

  /** The spool directory of a stream: one per stream, so equal file names of two streams never meet. */
  streamDir(m: IndexMessage): string {
    const hash = createHash('sha256').update(streamId(streamKeyOf(m))).digest('hex').slice(0, 24);
    return path.join(this.dir, hash);
  }
}

export class SpooledPayload {
  readonly #spool: PayloadSpool;
  readonly #temp: string;
  readonly #length: number;
  #fd: number;
  #written = 0;

  constructor(spool: PayloadSpool, temp: string, length: number) {
    this.#spool = spool;
    this.#temp = temp;
    this.#length = length;
    this.#fd = fs.openSync(temp, 'w');
  }

  /**
   * Appends bytes (a view the caller reuses after return, so the write is synchronous: a local
   * disk write of one socket chunk costs less than copying it for an asynchronous one).
   */
  write(bytes: Uint8Array): void {
    if (this.#written + bytes.length > this.#length) throw new ProtocolError(`payload longer than announced ${this.#length} bytes`);
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(this.#fd, bytes, done, bytes.length - done);
    this.#written += bytes.length;
  }

  /**
   * Matches the complete payload with its message: renames the file into the stream's spool
   * directory under the segment's name and returns the message pointing there.
   */
  commit(m: IndexMessage): IndexMessage {
    if (this.#written !== this.#length) throw new ProtocolError(`payload has ${this.#written} of ${this.#length} bytes`);
    if (m.ext.size !== undefined && m.ext.size !== this.#length) {
      this.discard();
      throw new ProtocolError(`payload of ${this.#length} bytes does not match size=${m.ext.size} of segment ${m.lastSegment}`);
    }
    const dir = this.#place(m, (d) => segmentFilePath({ ...m, outputDirectory: d }));
    return { ...m, outputDirectory: dir };
  }

  /**
   * The payload before a segment's (FEATURE_PAYLOAD_INIT): the init section the message names,
   * renamed into the stream's spool directory under that name.
   */
  commitInit(m: IndexMessage): void {
    if (m.ext.init === undefined) throw new ProtocolError(`two payloads before segment ${m.lastSegment}, whose message names no init`);
    if (this.#written !== this.#length) throw new ProtocolError(`init payload has ${this.#written} of ${this.#length} bytes`);
    const init = m.ext.init;
    this.#place(m, (d) => path.join(d, init));
  }

  /** Durable, then renamed to `fileIn(stream's spool directory)`; returns that directory. */
  #place(m: IndexMessage, fileIn: (dir: string) => string): string {
    fs.fsyncSync(this.#fd);
    fs.closeSync(this.#fd);
    this.#fd = -1;
    const dir = this.#spool.streamDir(m);
    fs.mkdirSync(dir, { recursive: true });
    fs.renameSync(this.#temp, fileIn(dir));
    return dir;
  }

  /** Drops the bytes (connection lost mid-payload, or no message came for them). */
  discard(): void {
    if (this.#fd >= 0) {
      try {
        fs.closeSync(this.#fd);
      } catch {
        // already unusable; the unlink is what matters
      }
      this.#fd = -1;
    }
    fs.rmSync(this.#temp, { force: true });
  }
}
