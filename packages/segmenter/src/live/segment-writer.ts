/**
 * Segment files on disk: `<dir>/<prefix>-%05u.ts` (`.m4s` for fMP4, and the fMP4 init sections
 * through a writer of their own), written under a temporary name and renamed when complete, so
 * an uploader never reads half a segment.
 *
 * Writes are synchronous on purpose: the bytes arrive as views of the input chunk, which is
 * reused as soon as the segmenter returns, and a blocking write of one run is cheaper than
 * copying it for an asynchronous one. A failed write is logged and the segment dropped; the
 * stream goes on with the next one.
 *
 * An fMP4 segment arrives as fragments, each a list of views (its boxes and the sample data as
 * the input carried it), written with writev; its number is known only once it has been paired
 * with the TS core's segment, so it is sealed under its temporary name and published later.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '@hlsrelay/log';
import { segmentFileName, type SegmentFormat } from '@hlsrelay/protocol';

export interface WrittenSegment {
  number: number;
  path: string;
  size: number;
}

/** A file closed under its temporary name, not yet given its final one. */
export interface SealedFile {
  path: string;
  size: number;
}

/** At most this many buffers go to one writev (Linux's IOV_MAX; libuv writes no more per call). */
const IOV_MAX = 1024;

/**
 * Writes of at most this many bytes are copied aside and go to the file with the next larger
 * write (or at commit): the PAT and PMT a segment opens with, and the packet that straddled two
 * reads of the input, were three system calls of 188 bytes each per segment, beside one or two
 * of a megabyte.
 */
const SMALL_WRITE = 4096;
const GATHER_BYTES = 16 * 1024;

/** Writes `parts` one after the other at the file position, however many system calls that takes; returns the bytes written. */
export function writePartsSync(fd: number, parts: readonly Uint8Array[]): number {
  let total = 0;
  let i = 0;
  // The rest of a part the last call wrote only in part.
  let rest: Uint8Array | null = null;
  while (i < parts.length) {
    const batch = parts.slice(i, i + IOV_MAX);
    if (rest) batch[0] = rest;
    let n = fs.writevSync(fd, batch);
    total += n;
    rest = null;
    for (const b of batch) {
      if (n < b.length) {
        rest = b.subarray(n);
        break;
      }
      n -= b.length;
      i++;
    }
  }
  return total;
}

export interface SegmentWriterOptions {
  outputDirectory: string;
  outputPrefix: string;
  /** Default `ts`. */
  format?: SegmentFormat;
  /** The file name of number n, when not a media segment's (fMP4 init sections). */
  fileName?: (n: number) => string;
  logger?: Logger;
}

export class SegmentWriter {
  readonly #dir: string;
  readonly #fileName: (n: number) => string;
  readonly #logger?: Logger;
  #fd = -1;
  #number = 0;
  #size = 0;
  #failed: Error | null = null;
  /** Small writes not yet in the file (SMALL_WRITE). */
  readonly #gather = new Uint8Array(GATHER_BYTES);
  #gathered = 0;

  constructor(options: SegmentWriterOptions) {
    const { outputPrefix, format } = options;
    this.#dir = options.outputDirectory;
    this.#fileName = options.fileName ?? ((n) => segmentFileName(outputPrefix, n, format));
    this.#logger = options.logger;
  }

  finalPath(n: number): string {
    return path.join(this.#dir, this.#fileName(n));
  }

  tempPath(n: number): string {
    return path.join(this.#dir, `.${this.#fileName(n)}.tmp`);
  }

  /** A whole file at once (an fMP4 init or segment): open, write, commit. */
  writeFile(n: number, bytes: Uint8Array): WrittenSegment | null {
    this.open(n);
    this.write(bytes);
    return this.commit();
  }

  open(n: number): void {
    if (this.#fd >= 0) this.abort();
    this.#number = n;
    this.#size = 0;
    this.#failed = null;
    this.#gathered = 0;
    try {
      this.#fd = fs.openSync(this.tempPath(n), 'w');
    } catch (e) {
      this.#fail(e as Error, 'open');
    }
  }

  write(bytes: Uint8Array): void {
    if (this.#fd < 0 || this.#failed) return;
    if (bytes.length <= SMALL_WRITE && this.#gathered + bytes.length <= GATHER_BYTES) {
      this.#gather.set(bytes, this.#gathered);
      this.#gathered += bytes.length;
      return;
    }
    try {
      if (this.#gathered > 0) {
        this.#size += writePartsSync(this.#fd, [this.#takeGathered(), bytes]);
        return;
      }
      let done = 0;
      while (done < bytes.length) done += fs.writeSync(this.#fd, bytes, done, bytes.length - done);
      this.#size += bytes.length;
    } catch (e) {
      this.#fail(e as Error, 'write');
    }
  }

  /** Bytes in pieces, in order (an fMP4 fragment): one writev for up to IOV_MAX of them. */
  writeParts(parts: readonly Uint8Array[]): void {
    if (this.#fd < 0 || this.#failed) return;
    try {
      this.#size += writePartsSync(this.#fd, this.#gathered > 0 ? [this.#takeGathered(), ...parts] : parts);
    } catch (e) {
      this.#fail(e as Error, 'write');
    }
  }

  /** Closes the file under its temporary name (its number is not known yet); null when it could not be written. */
  seal(): SealedFile | null {
    if (this.#failed || this.#fd < 0) {
      this.abort();
      return null;
    }
    if (this.#gathered > 0) this.writeParts([]);
    if (this.#failed) {
      this.abort();
      return null;
    }
    try {
      fs.closeSync(this.#fd);
      this.#fd = -1;
      return { path: this.tempPath(this.#number), size: this.#size };
    } catch (e) {
      this.#fail(e as Error, 'close');
      this.abort();
      return null;
    }
  }

  /** Renames a sealed file (of this writer or another in the same directory) into place as segment n. */
  publish(sealed: SealedFile, n: number): WrittenSegment | null {
    try {
      fs.renameSync(sealed.path, this.finalPath(n));
      return { number: n, path: this.finalPath(n), size: sealed.size };
    } catch (e) {
      this.#number = n;
      this.#fail(e as Error, 'rename');
      try {
        fs.rmSync(sealed.path, { force: true });
      } catch {
        // a temp file we cannot remove is harmless: uploaders only read final names
      }
      return null;
    }
  }

  /** Closes and renames the segment into place; null when it could not be written. */
  commit(): WrittenSegment | null {
    const sealed = this.seal();
    return sealed && this.publish(sealed, this.#number);
  }

  /** Drops the segment being written (a failure, or shutdown without a keyframe). */
  abort(): void {
    this.#gathered = 0;
    if (this.#fd >= 0) {
      try {
        fs.closeSync(this.#fd);
      } catch {
        // already unusable; the unlink below is what matters
      }
      this.#fd = -1;
    }
    try {
      fs.rmSync(this.tempPath(this.#number), { force: true });
    } catch {
      // a temp file we cannot remove is harmless: uploaders only read final names
    }
  }

  /** The gathered small writes, as a view to write now; the gather buffer is empty again. */
  #takeGathered(): Uint8Array {
    const view = this.#gather.subarray(0, this.#gathered);
    this.#gathered = 0;
    return view;
  }

  #fail(e: Error, op: string): void {
    this.#failed = e;
    const err = e as NodeJS.ErrnoException;
    this.#logger?.error('segment write failed; dropping this segment, the stream goes on', {
      segment: this.#number,
      file: this.tempPath(this.#number),
      op,
      code: err.code,
      error: err.message,
    });
    if (this.#fd >= 0) {
      try {
        fs.closeSync(this.#fd);
      } catch {
        // nothing more to do with a broken descriptor
      }
      this.#fd = -1;
    }
  }
}
