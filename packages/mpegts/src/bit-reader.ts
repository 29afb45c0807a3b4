/**
 * Bit reader for RBSP syntax (ITU-T H.264 §7.2): fixed-width fields and Exp-Golomb codes.
 * Reading past the end throws RangeError; parameter-set parsers catch it and return null.
 */
export class BitReader {
  readonly #bytes: Uint8Array;
  #bit = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  get bitsLeft(): number {
    return this.#bytes.length * 8 - this.#bit;
  }

  /** u(n), n ≤ 32, built by multiplication so 32-bit values stay positive. */
  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.flag();
    return v;
  }

  flag(): number {
    if (this.#bit >= this.#bytes.length * 8) throw new RangeError('read past the end of the RBSP');
    const b = (this.#bytes[this.#bit >> 3] >> (7 - (this.#bit & 7))) & 1;
    this.#bit++;
    return b;
  }

  skip(n: number): void {
    if (this.#bit + n > this.#bytes.length * 8) throw new RangeError('skip past the end of the RBSP');
    this.#bit += n;
  }

  /** ue(v): unsigned Exp-Golomb. */
  ue(): number {
    let zeros = 0;
    while (this.flag() === 0) {
      if (++zeros > 31) throw new RangeError('Exp-Golomb code longer than 32 bits');
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }

  /** se(v): signed Exp-Golomb. */
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }
}
