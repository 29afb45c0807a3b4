/**
 * Reusable buffers for segment bodies. A live uploader reads a few hundred kilobytes per segment,
 * hundreds of times a second; a fresh buffer each time keeps the garbage collector busy for
 * nothing. At most `maxBuffers` are kept, so memory is bounded by the number of uploads in
 * flight, not by the number of segments served.
 */
export class BufferPool {
  readonly #free: Buffer[] = [];
  readonly #maxBuffers: number;
  /** Buffers are allocated in steps of this, so segments of slightly different sizes share them. */
  readonly #granule: number;

  constructor(maxBuffers: number, granule = 256 * 1024) {
    if (!Number.isInteger(maxBuffers) || maxBuffers < 0) throw new TypeError(`maxBuffers must be an integer ≥ 0, got ${maxBuffers}`);
    this.#maxBuffers = maxBuffers;
    this.#granule = granule;
  }

  /** A buffer of at least `size` bytes (contents undefined). */
  acquire(size: number): Buffer {
    for (let i = this.#free.length - 1; i >= 0; i--) {
      if (this.#free[i].length >= size) return this.#free.splice(i, 1)[0];
    }
    return Buffer.allocUnsafeSlow(Math.max(this.#granule, Math.ceil(size / this.#granule) * this.#granule));
  }

  /** Gives a buffer back. Only once nothing (socket, signer) can still read it. */
  release(buffer: Buffer): void {
    if (this.#free.length < this.#maxBuffers) this.#free.push(buffer);
  }

  /** Buffers kept for reuse. */
  get size(): number {
    return this.#free.length;
  }
}
