/**
 * One session's shipped segment bytes (protocol segment-payload.ts), between the decoder and the
 * line handler. Bytes go to the spool the moment they arrive; the lines around them — `PAYLOAD
 * <n>` and the index message after the bytes — may be handled later, because the connection's
 * rate limit can hold lines back while the bytes keep flowing. So payloads are matched to lines
 * by order: the k-th PAYLOAD line handled owns the k-th payload received, and the next line
 * handled after it must be that payload's index message.
 *
 * A payload the uploader cannot take (none offered, over the size cap, a disk error) is read and
 * dropped, not spooled: its PAYLOAD line and its message are answered with ERR and the session
 * goes on. Whatever is not matched with an accepted message — the connection dropped mid-payload
 * or before the message came — is removed from the spool when the connection closes.
 */
import fs from 'node:fs';
import { ProtocolError, segmentFilePath, type IndexMessage } from '@hlsrelay/protocol';
import type { PayloadSpool, SpooledPayload } from './payload-spool';

export interface PayloadReceiverOptions {
  /** Where bytes go; undefined: this uploader offers no `payload` and refuses every one. */
  spool?: PayloadSpool;
  /** Largest payload taken (`--max-payload-bytes`). */
  maxBytes: number;
}

interface Received {
  length: number;
  /** Open while bytes arrive; undefined when the payload is refused. */
  file?: SpooledPayload;
  /** Why the payload cannot be used. */
  error?: ProtocolError;
  complete: boolean;
  /** Settles once the last byte arrived (resolves) or the connection was cut first (rejects). */
  arrived: Promise<void>;
  settle: (cut?: ProtocolError) => void;
}

export class PayloadReceiver {
  readonly #spool: PayloadSpool | undefined;
  readonly #maxBytes: number;
  /** Payloads received (or arriving), oldest first, whose PAYLOAD line is not handled yet. */
  #arrived: Received[] = [];
  /** The payload whose bytes are arriving now. */
  #current: Received | undefined;
  /** The payload whose PAYLOAD line was handled and whose message is the next line. */
  #claimed: Received | undefined;
  /** The payload claimed before #claimed: an fMP4 init section when the message names one. */
  #initClaimed: Received | undefined;
  /** Bytes written to the spool since the connection opened. */
  spooledBytes = 0;

  constructor(options: PayloadReceiverOptions) {
    this.#spool = options.spool;
    this.#maxBytes = options.maxBytes;
  }

  // ---- from the decoder, as bytes arrive ----

  /** `PAYLOAD <length>` decoded: its bytes follow. */
  start(length: number): void {
    let settle!: Received['settle'];
    const arrived = new Promise<void>((resolve, reject) => (settle = (cut) => (cut ? reject(cut) : resolve())));
    // Nobody may ever ask (the connection dropped before its PAYLOAD line was handled).
    arrived.catch(() => {});
    const r: Received = { length, complete: false, arrived, settle };
    if (!this.#spool) {
      r.error = new ProtocolError('this uploader takes no segment bytes (it offers no "payload"; it runs with --state-dir none)');
    } else if (length > this.#maxBytes) {
      r.error = new ProtocolError(`payload of ${length} bytes is over this uploader's --max-payload-bytes ${this.#maxBytes}`);
    } else {
      try {
        r.file = this.#spool.open(length);
      } catch (err) {
        r.error = new ProtocolError(`cannot spool the segment bytes: ${(err as Error).message}`);
      }
    }
    this.#arrived.push(r);
    this.#current = r;
    if (length === 0) this.end();
  }

  /** Part of the current payload: a view of the socket's chunk, written before it is reused. */
  bytes(bytes: Uint8Array): void {
    const r = this.#current;
    if (!r?.file) return;
    try {
      r.file.write(bytes);
      this.spooledBytes += bytes.length;
    } catch (err) {
      r.file.discard();
      r.file = undefined;
      r.error = new ProtocolError(`cannot spool the segment bytes: ${(err as Error).message}`);
    }
  }

  /** The last byte of the current payload arrived. */
  end(): void {
    const r = this.#current;
    this.#current = undefined;
    if (!r) return;
    r.complete = true;
    r.settle();
  }

  // ---- from the line handler, in line order ----

  /**
   * A `PAYLOAD` line is handled (usually before its bytes arrived): its answer is OK once they
   * are all on disk, ERR when they were refused or the connection was cut first.
   */
  announced(): Promise<void> {
    const r = this.#arrived.shift();
    // The decoder handed over every PAYLOAD before its line could be handled.
    if (!r) return Promise.reject(new ProtocolError('PAYLOAD line without its bytes'));
    // Bytes followed by another PAYLOAD may be the init section of the message after both
    // (FEATURE_PAYLOAD_INIT); a third payload in a row means the oldest is never used.
    this.#initClaimed?.file?.discard();
    this.#initClaimed = this.#claimed;
    this.#claimed = r;
    return r.arrived.then(() => {
      if (r.error) throw r.error;
    });
  }

  /**
   * Any other line is handled: when it follows a payload, it must be that payload's index
   * message. `parse` gives the message (or throws for a line that is none); `handle` takes it —
   * pointed at the spooled file when bytes came with it — and its result is returned.
   */
  deliver(parse: () => IndexMessage, handle: (m: IndexMessage) => void | Promise<void>): void | Promise<void> {
    const r = this.#claimed;
    const init = this.#initClaimed;
    this.#claimed = this.#initClaimed = undefined;
    if (!r) return handle(parse());
    let spooled: IndexMessage;
    try {
      if (r.error) throw new ProtocolError(`segment bytes refused: ${r.error.message}`);
      if (init?.error) throw new ProtocolError(`init section bytes refused: ${init.error.message}`);
      const m = parse();
      init?.file?.commitInit(m);
      spooled = r.file!.commit(m);
    } catch (err) {
      r.file?.discard();
      init?.file?.discard();
      if (err instanceof ProtocolError && !r.error) throw new ProtocolError(`${err.message} (its segment bytes are dropped)`);
      throw err;
    }
    try {
      return handle(spooled);
    } catch (err) {
      // Refused before it was queued (the message policy): nothing will read the file.
      fs.rmSync(segmentFilePath(spooled), { force: true });
      throw err;
    }
  }

  /** The peer sent its last byte: a payload still arriving never completes (its PAYLOAD gets ERR). */
  ended(): void {
    const r = this.#current;
    this.#current = undefined;
    if (!r) return;
    r.file?.discard();
    r.file = undefined;
    r.settle(new ProtocolError(`connection ended inside a payload of ${r.length} bytes`));
  }

  /** The connection closed: bytes never matched with an accepted message leave the spool. */
  close(): void {
    const cut = new ProtocolError('connection closed inside a payload');
    for (const r of [...this.#arrived, ...(this.#claimed ? [this.#claimed] : []), ...(this.#initClaimed ? [this.#initClaimed] : [])]) {
      r.file?.discard();
      r.settle(cut);
    }
    this.#arrived = [];
    this.#claimed = this.#initClaimed = undefined;
    this.#current = undefined;
  }

  /** Payloads whose bytes are on the way or wait for their lines (for tests and shutdown). */
  get open(): number {
    return this.#arrived.length + (this.#claimed ? 1 : 0) + (this.#initClaimed ? 1 : 0);
  }
}
