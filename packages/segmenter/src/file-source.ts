/**
 * Reads a file in large chunks into one reused buffer. The consumer must be done with a chunk
 * (the segmenter writes synchronously) before asking for the next, so memory stays at one buffer
 * whatever the file size.
 *
 * Reads are synchronous: from a regular file they are page-cache copies, and a thread-pool
 * round trip per chunk cost more than the copy itself. Every few megabytes the generator
 * yields to the event loop so index messages go out while a long file is cut.
 */
import fs from 'node:fs';

const YIELD_EVERY_BYTES = 8 * 1024 * 1024;

export async function* fileChunks(path: string, readSize: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const fd = fs.openSync(path, 'r');
  try {
    const buffer = new Uint8Array(readSize);
    let sinceYield = 0;
    while (!signal?.aborted) {
      const n = fs.readSync(fd, buffer, 0, readSize, null);
      if (n === 0) return;
      sinceYield += n;
      if (sinceYield >= YIELD_EVERY_BYTES) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
      yield buffer.subarray(0, n);
    }
  } finally {
    fs.closeSync(fd);
  }
}
