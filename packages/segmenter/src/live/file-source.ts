/**
 * Reads a file in large chunks into two reused buffers that take turns. The consumer must be
 * done with a chunk (the segmenter writes synchronously) before asking for the next, so memory
 * stays at two buffers whatever the file size.
 *
 * Reads overlap the consumer: while it cuts and writes one chunk on the main thread, the next
 * is read on the thread pool, so the two kernel copies (page cache → buffer, buffer → segment
 * file) run on two cores. On a 350 MB file that took the read+write loop from ~145 ms to
 * ~115 ms; a synchronous read each time serialised them. Waiting for each read is also a turn
 * of the event loop, so index messages go out while a long file is cut.
 */
import fs from 'node:fs';

function readInto(fd: number, buffer: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buffer, 0, buffer.length, null, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)));
  });
}

export async function* fileChunks(path: string, readSize: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const fd = fs.openSync(path, 'r');
  const buffers = [new Uint8Array(readSize), new Uint8Array(readSize)];
  let turn = 0;
  let reading: Promise<number> | undefined = readInto(fd, buffers[turn]);
  try {
    while (!signal?.aborted) {
      const n: number = await reading;
      reading = undefined;
      if (n === 0) return;
      const chunk = buffers[turn].subarray(0, n);
      turn ^= 1;
      // Only one read is ever in flight, so the file position advances in order.
      reading = readInto(fd, buffers[turn]);
      yield chunk;
    }
  } finally {
    // A read still in flight must not land on a closed (or reused) descriptor.
    if (reading) await reading.catch(() => 0);
    fs.closeSync(fd);
  }
}
