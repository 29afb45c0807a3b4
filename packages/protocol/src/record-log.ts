/**
 * One durable record file (the uploader's journal and event archives, the segmenter's spool):
 * records in the record-framing format, appended and fsync'd, and replaced whole crash-safely
 * — write a temporary file, fsync it, rename it over the old one, fsync the directory so the
 * rename itself survives a power cut. A reader after any crash sees the old contents or the new,
 * plus at most one torn record at the end, which decoding drops.
 *
 * It sits beside record-framing because both daemons keep their records this way; it knows
 * nothing of what the records mean.
 */
import { closeSync, existsSync, fdatasync, fsyncSync, ftruncateSync, openSync, readFileSync, renameSync, write, writeSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { decodeRecords, encodeRecord, type DecodedRecords } from './record-framing';

const writeAsync = promisify(write);
const datasyncAsync = promisify(fdatasync);

export interface RecordLogContents extends DecodedRecords {
  /** Bytes in the file as read. */
  size: number;
}

export class RecordLog {
  readonly file: string;
  /** Open for appending once the first append comes; -1 before, and after replace() or close(). */
  #fd = -1;

  constructor(file: string) {
    this.file = file;
  }

  /** The whole records on disk, up to any torn or damaged tail; a missing file reads as empty. */
  read(): RecordLogContents {
    const bytes = existsSync(this.file) ? readFileSync(this.file) : Buffer.alloc(0);
    return { ...decodeRecords(bytes), size: bytes.length };
  }

  /** Replaces the file by one holding `payloads`, crash-safely. Returns its size in bytes. */
  replace(payloads: Iterable<string>): number {
    const bytes = Buffer.concat([...payloads].map(encodeRecord));
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      if (bytes.length > 0) writeSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    const dfd = openSync(path.dirname(this.file), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
    // Appends go to the new file from now on.
    this.close();
    return bytes.length;
  }

  /** Appends `payloads`; on disk when it returns. Returns the bytes written. */
  appendSync(payloads: readonly string[]): number {
    const bytes = Buffer.concat(payloads.map(encodeRecord));
    const fd = this.#open();
    writeSync(fd, bytes);
    fsyncSync(fd);
    return bytes.length;
  }

  /**
   * Appends `payloads` without waiting for the disk: in the kernel when it returns (a killed
   * process loses nothing), on disk after a later sync, appendSync or datasync (a power cut may
   * lose them until then). Returns the bytes written.
   */
  appendUnsynced(payloads: readonly string[]): number {
    const bytes = Buffer.concat(payloads.map(encodeRecord));
    writeSync(this.#open(), bytes);
    return bytes.length;
  }

  /** Everything written so far reaches the disk, with one fdatasync on the thread pool (nothing to do once closed). */
  async datasync(): Promise<void> {
    if (this.#fd !== -1) await datasyncAsync(this.#fd);
  }

  /** Appends already encoded records with one fdatasync for them all; resolves once on disk. */
  async appendEncoded(bytes: Buffer): Promise<void> {
    const fd = this.#open();
    await writeAsync(fd, bytes);
    await datasyncAsync(fd);
  }

  /** Cuts the file to nothing; on disk when it returns, unless `sync` is false (then with the next sync). */
  truncateSync({ sync = true }: { sync?: boolean } = {}): void {
    const fd = this.#open();
    ftruncateSync(fd, 0);
    if (sync) fsyncSync(fd);
  }

  /** Closes the append descriptor (`sync`: after an fsync of what was written); a later append opens the file again. */
  close({ sync = false }: { sync?: boolean } = {}): void {
    if (this.#fd === -1) return;
    const fd = this.#fd;
    this.#fd = -1;
    try {
      if (sync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  #open(): number {
    if (this.#fd === -1) this.#fd = openSync(this.file, 'a');
    return this.#fd;
  }
}
