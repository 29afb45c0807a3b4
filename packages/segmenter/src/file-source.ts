/**
 * Reads a file in large chunks into one reused buffer. The consumer must be done with a chunk
 * (the segmenter writes synchronously) before asking for the next, so memory stays at one buffer
 * whatever the file size.
 */
import fs from 'node:fs/promises';

export async function* fileChunks(path: string, readSize: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const handle = await fs.open(path, 'r');
  try {
    // Two buffers: the next read runs while the caller works on the current chunk.
    const buffers = [new Uint8Array(readSize), new Uint8Array(readSize)];
    let turn = 0;
    let next = handle.read(buffers[turn], 0, readSize, null);
    while (!signal?.aborted) {
      const { bytesRead, buffer } = await next;
      if (bytesRead === 0) return;
      turn ^= 1;
      next = handle.read(buffers[turn], 0, readSize, null);
      yield buffer.subarray(0, bytesRead);
    }
    await next.catch(() => undefined);
  } finally {
    await handle.close();
  }
}
