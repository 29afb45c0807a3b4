/**
 * Buffers for PES bytes (pes-demuxer.ts), reused once their user hands them back, so a long input
 * needs no new memory per PES: `take` gives the most recently returned buffer that is large
 * enough, else a new one — not zero-filled (every byte read is written first) and never from
 * Node's shared pool (a unit's buffer is its own).
 */

/** Returned buffers kept for reuse; beyond this many, the smallest is let go. */
const POOL_SIZE = 64;

export class BufferPool {
  readonly #free: Uint8Array[] = [];

  take(size: number): Uint8Array {
    const free = this.#free;
    for (let i = free.length - 1; i >= 0; i--) {
      if (free[i].length >= size) {
        const b = free[i];
        free[i] = free[free.length - 1];
        free.pop();
        return b;
      }
    }
    return Buffer.allocUnsafeSlow(size);
  }

  give(b: Uint8Array): void {
    const free = this.#free;
    free.push(b);
    if (free.length > POOL_SIZE) {
      let smallest = 0;
      for (let i = 1; i < free.length; i++) if (free[i].length < free[smallest].length) smallest = i;
      free[smallest] = free[free.length - 1];
      free.pop();
    }
  }
}
