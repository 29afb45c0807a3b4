/**
 * Framing of index messages on a TCP connection.
 *
 * Two framings share one decoder:
 * - the original: one message per connection, no terminator, ended by EOF;
 * - persistent connections: each message ends with `\n` (a `\r` before it is dropped).
 */
import { ProtocolError } from './index-message';

export const DEFAULT_MAX_LINE_BYTES = 16 * 1024;

/** Adds the line terminator used on persistent connections. */
export function frameMessage(message: string): string {
  return message + '\n';
}

/**
 * Incremental decoder: feed it whatever `data` events bring; it keeps partial bytes between
 * reads and returns each complete line. Bytes are joined before decoding, so a UTF-8 character
 * split across reads is intact.
 */
export class MessageDecoder {
  /** Bytes after the last `\n`, not yet a whole line. Never longer than #maxLineBytes. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  readonly #maxLineBytes: number;

  constructor(options: { maxLineBytes?: number } = {}) {
    const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    if (!Number.isInteger(max) || max < 64) {
      throw new TypeError(`maxLineBytes must be an integer ≥ 64, got ${max}`);
    }
    this.#maxLineBytes = max;
  }

  /** Returns the complete lines in `chunk` (after earlier partial bytes). Throws ProtocolError on an over-long line. */
  push(chunk: Uint8Array): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      this.#append(chunk.subarray(start, nl));
      lines.push(this.#take());
      start = nl + 1;
    }
    if (start < chunk.length) this.#append(chunk.subarray(start));
    return lines;
  }

  /** At EOF: the unterminated last message (the original framing), or undefined if none. */
  end(): string | undefined {
    if (this.#pendingBytes === 0) return undefined;
    const rest = this.#take();
    return rest.trim() === '' ? undefined : rest;
  }

  /** Bytes held, waiting for a line end. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  #append(bytes: Uint8Array): void {
    if (this.#pendingBytes + bytes.length > this.#maxLineBytes) {
      this.#pending = [];
      this.#pendingBytes = 0;
      throw new ProtocolError(`message longer than ${this.#maxLineBytes} bytes`);
    }
    if (bytes.length > 0) {
      this.#pending.push(Buffer.from(bytes));
      this.#pendingBytes += bytes.length;
    }
  }

  #take(): string {
    const text = Buffer.concat(this.#pending, this.#pendingBytes).toString('utf8');
    this.#pending = [];
    this.#pendingBytes = 0;
    return text.endsWith('\r') ? text.slice(0, -1) : text;
  }
}
