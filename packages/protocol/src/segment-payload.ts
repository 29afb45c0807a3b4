/**
 * Segment bytes on the index connection, for transcode machines that share no disk with the
 * uploader (`segmenter --ship-bytes`). Offered by the uploader with the `payload` feature word
 * in its greeting (session.ts); used only inside a session:
 *
 * ```
 * segmenter → PAYLOAD <length>\n        a command line (numbered and answered like any other)
 * segmenter → <length raw bytes>        the segment file, exactly
 * segmenter → <index message>\n         the message the bytes belong to
 * ```
 *
 * The uploader spools the bytes to disk as they arrive (memory stays at one socket chunk per
 * connection, whatever the segment size) and handles the message as if the file had been in
 * its own directory. The line after the bytes must be an index message; anything else drops
 * the spooled bytes with an ERR.
 */
import { MessageDecoder } from './framing';
import { ProtocolError } from './index-message';

export const FEATURE_PAYLOAD = 'payload';
/**
 * The uploader also takes an fMP4 init section's bytes: a message that names `init=` may be
 * preceded by two payloads, the init's first, then the segment's:
 *
 * ```
 * segmenter → PAYLOAD <init length>\n   <init bytes>
 * segmenter → PAYLOAD <length>\n        <segment bytes>
 * segmenter → <index message>\n         names init=<file>: the first payload is stored as that file
 * ```
 *
 * A segmenter sends an init once per session, before the first message that names it; the
 * uploader keeps it beside the stream's segments for the later ones. An uploader without the
 * feature would take the first payload for unused bytes, so a segmenter ships inits only to one
 * that offers it.
 */
export const FEATURE_PAYLOAD_INIT = 'payload-init';
export const PAYLOAD_VERB = 'PAYLOAD';
/** Larger than any sane segment (a 10 s 4K segment is ~30 MB); a bigger length is refused. */
export const MAX_PAYLOAD_BYTES = 512 * 1024 * 1024;

export function formatPayloadCommand(length: number): string {
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_PAYLOAD_BYTES) {
    throw new ProtocolError(`payload length must be 0..${MAX_PAYLOAD_BYTES} bytes, got ${length}`);
  }
  return `${PAYLOAD_VERB} ${length}`;
}

/** The length of a `PAYLOAD <length>` line, or undefined when the line is something else. Throws on a bad length. */
export function parsePayloadCommand(line: string): number | undefined {
  const m = /^PAYLOAD(?: +(.*))?$/.exec(line.trim());
  if (!m) return undefined;
  const arg = (m[1] ?? '').trim();
  if (!/^\d{1,10}$/.test(arg) || Number(arg) > MAX_PAYLOAD_BYTES) {
    throw new ProtocolError(`PAYLOAD takes a length of 0..${MAX_PAYLOAD_BYTES} bytes, got "${arg}"`);
  }
  return Number(arg);
}

export type SessionEvent =
  /** A complete line (a command or an index message). */
  | { kind: 'line'; line: string }
  /** A `PAYLOAD <length>` line: `length` raw bytes follow. */
  | { kind: 'payload-start'; length: number }
  /** Part of the payload: a view of the chunk given to push(), valid until push() returns. */
  | { kind: 'payload-bytes'; bytes: Uint8Array }
  /** The last payload byte arrived; the next line is its index message. */
  | { kind: 'payload-end' };

/**
 * Incremental decoder for a session that may carry payloads: lines as MessageDecoder cuts
 * them, except that after a `PAYLOAD <n>` line the next n bytes are passed through raw, in
 * views of the input (never copied, never held). A bad PAYLOAD line throws ProtocolError —
 * the byte stream can no longer be followed, so the connection must end.
 */
export class SessionDecoder {
  readonly #lines: MessageDecoder;
  /** Payload bytes still expected; 0 between payloads. */
  #remaining = 0;

  constructor(options: { maxLineBytes?: number } = {}) {
    this.#lines = new MessageDecoder(options);
  }

  /** Payload bytes still to come (for the caller's progress and shutdown decisions). */
  get remaining(): number {
    return this.#remaining;
  }

  /** Bytes of an unfinished line held, waiting for its line end (0 inside a payload). */
  get pendingBytes(): number {
    return this.#lines.pendingBytes;
  }

  push(chunk: Uint8Array, emit: (event: SessionEvent) => void): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#remaining > 0) {
        const n = Math.min(this.#remaining, chunk.length - offset);
        emit({ kind: 'payload-bytes', bytes: chunk.subarray(offset, offset + n) });
        this.#remaining -= n;
        offset += n;
        if (this.#remaining === 0) emit({ kind: 'payload-end' });
        continue;
      }
      // Lines up to and including the next newline, one at a time: a PAYLOAD line switches modes.
      const nl = chunk.indexOf(0x0a, offset);
      const end = nl === -1 ? chunk.length : nl + 1;
      for (const line of this.#lines.push(chunk.subarray(offset, end))) {
        const length = parsePayloadCommand(line);
        if (length === undefined) {
          emit({ kind: 'line', line });
          continue;
        }
        emit({ kind: 'payload-start', length });
        this.#remaining = length;
        if (length === 0) emit({ kind: 'payload-end' });
      }
      offset = end;
    }
  }

  /** At EOF: the unterminated last line (the original framing), or undefined. Throws if a payload was cut short. */
  end(): string | undefined {
    if (this.#remaining > 0) throw new ProtocolError(`connection ended ${this.#remaining} bytes before the end of a payload`);
    return this.#lines.end();
  }
}
