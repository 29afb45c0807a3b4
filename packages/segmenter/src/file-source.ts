/**
 * Reads a file in large chunks into one reused buffer. The consumer must be done with a chunk
 * (the segmenter writes synchronously) before asking for the next, so memory stays at one buffer
 * whatever the file size.
 */
import fs from 'node:fs/promises';

export async function* fileChunks(path: string, readSize: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const handle = await fs.open(path, 'r');
  try {
    const buffer = new Uint8Array(readSize);
    while (!signal?.aborted) {
      const { bytesRead } = await handle.read(buffer, 0, readSize, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}
