/**
 * ISO/IEC 14496-12 §4.2 boxes: a 32-bit size (header included), a four-character type, the
 * payload; a full box (§4.2.2) adds an 8-bit version and 24-bit flags. Boxes nest by writing the
 * children inside the parent's callback; each size is patched in when its box closes, so nothing
 * is built twice or copied into its parent.
 */
export class BoxWriter {
  #buffer: Uint8Array;
  #view: DataView;
  #length = 0;

  constructor(capacity = 1024) {
    // Not zero-filled (every byte is written before bytes() hands it out; reserve() zeroes its own),
    // and never a slice of Node's shared pool: the bytes may be passed on by their ArrayBuffer.
    this.#buffer = Buffer.allocUnsafeSlow(capacity);
    this.#view = new DataView(this.#buffer.buffer, this.#buffer.byteOffset, this.#buffer.byteLength);
  }

  get length(): number {
    return this.#length;
  }

  /** The bytes written so far (a view; the writer is not used after this). */
  bytes(): Uint8Array {
    return this.#buffer.subarray(0, this.#length);
  }

  /** size(32) + type(32) + what `body` writes. */
  box(type: string, body: (w: BoxWriter) => void): this {
    const at = this.#length;
    this.u32(0); // size: patched below
    this.fourcc(type); // type
    body(this);
    this.#view.setUint32(at, this.#length - at);
    return this;
  }

  /** A full box: version(8) + flags(24) before the payload. */
  fullBox(type: string, version: number, flags: number, body: (w: BoxWriter) => void = () => {}): this {
    return this.box(type, (w) => {
      w.u8(version); // version
      w.u24(flags); // flags
      body(w);
    });
  }

  /** Reserves `n` bytes and returns their offset, for a field known only later (trun data_offset). */
  reserve(n: number): number {
    this.#ensure(n);
    const at = this.#length;
    this.#buffer.fill(0, at, at + n);
    this.#length += n;
    return at;
  }

  patchU32(at: number, v: number): void {
    this.#view.setUint32(at, v);
  }

  u8(v: number): this {
    this.#ensure(1);
    this.#buffer[this.#length++] = v;
    return this;
  }

  u16(v: number): this {
    this.#ensure(2);
    this.#view.setUint16(this.#length, v);
    this.#length += 2;
    return this;
  }

  i16(v: number): this {
    this.#ensure(2);
    this.#view.setInt16(this.#length, v);
    this.#length += 2;
    return this;
  }

  u24(v: number): this {
    this.#ensure(3);
    this.#buffer[this.#length] = (v >>> 16) & 0xff;
    this.#buffer[this.#length + 1] = (v >>> 8) & 0xff;
    this.#buffer[this.#length + 2] = v & 0xff;
    this.#length += 3;
    return this;
  }

  u32(v: number): this {
    this.#ensure(4);
    this.#view.setUint32(this.#length, v);
    this.#length += 4;
    return this;
  }

  i32(v: number): this {
    this.#ensure(4);
    this.#view.setInt32(this.#length, v);
    this.#length += 4;
    return this;
  }

  /**
   * `count` rows of 32-bit fields, one from each column in turn (a table such as a trun's samples);
   * a negative value is written as its two's complement, as i32 writes it. One tight loop: a cold
   * run writes tens of thousands of rows before a call per field would be optimised.
   */
  u32Rows(columns: readonly ArrayLike<number>[], count: number): this {
    const n = columns.length;
    this.#ensure(4 * n * count);
    const view = this.#view;
    let at = this.#length;
    for (let j = 0; j < count; j++) {
      for (let c = 0; c < n; c++) {
        view.setUint32(at, columns[c][j] >>> 0);
        at += 4;
      }
    }
    this.#length = at;
    return this;
  }

  /** 64-bit unsigned; exact up to 2^53, which 90 kHz decode times reach after 3,000 years. */
  u64(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`u64 field needs a safe non-negative integer, got ${v}`);
    this.u32(Math.floor(v / 2 ** 32));
    return this.u32(v % 2 ** 32);
  }

  /** Four ASCII characters (a box type or brand). */
  fourcc(s: string): this {
    if (s.length !== 4) throw new RangeError(`four-character code expected, got "${s}"`);
    this.#ensure(4);
    for (let i = 0; i < 4; i++) this.#buffer[this.#length++] = s.charCodeAt(i);
    return this;
  }

  bytesField(b: Uint8Array): this {
    this.#ensure(b.length);
    this.#buffer.set(b, this.#length);
    this.#length += b.length;
    return this;
  }

  zeros(n: number): this {
    this.reserve(n);
    return this;
  }

  #ensure(n: number): void {
    if (this.#length + n <= this.#buffer.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(this.#buffer.length * 2, this.#length + n));
    grown.set(this.#buffer.subarray(0, this.#length), 0);
    this.#buffer = grown;
    this.#view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }
}
