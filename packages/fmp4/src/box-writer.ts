/**
 * ISO/IEC 14496-12 §4.2 boxes: a 32-bit size (header included), a four-character type, the
 * payload; a full box (§4.2.2) adds an 8-bit version and 24-bit flags. A box is opened, its
 * payload and children written, and closed: the writer keeps where each open box's size field
 * is and patches it in on close, so nothing is built twice or copied into its parent. `box` and
 * `fullBox` do the same around a callback, for structures written once (the init segment); the
 * media fragments, written for every segment, use open/close and make no closure per box.
 */
export class BoxWriter {
  #buffer: Uint8Array;
  #view: DataView;
  #length = 0;
  /** Offsets of the size fields of the boxes opened and not closed yet, innermost last. */
  readonly #open: number[] = [];

  constructor(capacity = 1024) {
    // Not zero-filled (every byte is written before bytes() hands it out; reserve() zeroes its own),
    // and never a slice of Node's shared pool: the bytes may be passed on by their ArrayBuffer.
    this.#buffer = Buffer.allocUnsafeSlow(capacity);
    this.#view = new DataView(this.#buffer.buffer, this.#buffer.byteOffset, this.#buffer.byteLength);
  }

  get length(): number {
    return this.#length;
  }

  /** The bytes written so far (a view; the writer is not used after this). Every box must be closed. */
  bytes(): Uint8Array {
    if (this.#open.length > 0) throw new RangeError(`${this.#open.length} box(es) still open`);
    return this.#buffer.subarray(0, this.#length);
  }

  /** Starts a box: size(32), patched by `close`, + type(32). */
  open(type: string): this {
    this.#open.push(this.#length);
    this.u32(0); // size: patched on close
    return this.fourcc(type); // type
  }

  /** Starts a full box: the box header, then version(8) + flags(24). */
  openFull(type: string, version: number, flags: number): this {
    this.open(type);
    this.u8(version); // version
    return this.u24(flags); // flags
  }

  /** Ends the innermost open box: its size is what was written since it opened. */
  close(): this {
    const at = this.#open.pop();
    if (at === undefined) throw new RangeError('close() without an open box');
    this.#view.setUint32(at, this.#length - at);
    return this;
  }

  /** size(32) + type(32) + what `body` writes. */
  box(type: string, body: (w: BoxWriter) => void): this {
    this.open(type);
    body(this);
    return this.close();
  }

  /** A full box: version(8) + flags(24) before the payload. */
  fullBox(type: string, version: number, flags: number, body?: (w: BoxWriter) => void): this {
    this.openFull(type, version, flags);
    body?.(this);
    return this.close();
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
