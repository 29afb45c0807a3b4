/**
 * Bytes held back while a video access unit is probed: whether it opens a segment (a keyframe
 * past the target) is only known once its first slice is seen, which may be several packets and
 * chunks later. Bytes of the unit in the current chunk stay views of the run; once the chunk
 * ends they are copied here, because the caller may reuse the chunk's buffer.
 */

/**
 * Most bytes held back while a video access unit is probed. A real unit shows its first slice
 * within the probe limit of video, so this is only reached when the video PID falls silent
 * mid-unit while other PIDs go on (a broken or hostile input): the unit is then resolved by its
 * random-access flag rather than holding the whole stream in memory.
 */
export const MAX_HELD_BYTES = 8 * 1024 * 1024;

export class HeldBytes {
  /** Copies, oldest first; their lengths add up to #bytes. */
  #chunks: Uint8Array[] = [];
  #bytes = 0;

  get bytes(): number {
    return this.#bytes;
  }

  get empty(): boolean {
    return this.#chunks.length === 0;
  }

  get overLimit(): boolean {
    return this.#bytes > MAX_HELD_BYTES;
  }

  /** Copies buf[start, end): the view would not survive the chunk. */
  hold(buf: Uint8Array, start: number, end: number): void {
    if (end <= start) return;
    this.#chunks.push(buf.slice(start, end));
    this.#bytes += end - start;
  }

  /** Everything held, in order; nothing is held afterwards. */
  take(): Uint8Array[] {
    const chunks = this.#chunks;
    this.#chunks = [];
    this.#bytes = 0;
    return chunks;
  }
}
