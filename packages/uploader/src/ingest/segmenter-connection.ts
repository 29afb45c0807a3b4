/**
 * One segmenter's connection, from greeting to close: decodes its bytes into lines (and shipped
 * segment bytes), hands each message on, and answers it.
 *
 * Both framings share one decoder: the original segmenter sends one message per connection
 * with no line end and closes (EOF ends the message); newer clients keep one connection and end
 * each message with `\n`. A bad message is logged with the peer and the reason and answered with
 * `ERR <reason>`; it never affects another message or another peer. A peer that answers the
 * greeting opens a session: every line then gets a numbered OK or ERR, in line order (protocol
 * session.ts).
 *
 * The greeting waits GREETING_DELAY_MS and goes only to a peer that has not spoken: the 2009
 * segmenter sends first and closes without reading, and an unread greeting at its close() would
 * make its kernel reset the connection, destroying the message it sent. Bytes received are never
 * thrown away: a connection reset after a complete message still delivers it.
 */
import type net from 'node:net';
import { repeatKind, type Logger, type RepeatFilter } from '@hlsrelay/log';
import {
  AUTH_VERB,
  classifySessionLine,
  formatAck,
  formatPayloadCommand,
  formatRefusal,
  frameMessage,
  isHello,
  isStartupMessage,
  isTlsRecord,
  parseMessage,
  PAYLOAD_VERB,
  ProtocolError,
  SessionDecoder,
  streamName,
  type IndexMessage,
  type SessionEvent,
} from '@hlsrelay/protocol';
import { ConnectionRefusal, type AdmittedConnection, type SegmenterAccess } from '../access/segmenter-access';
import type { PayloadSpool } from './payload-spool';
import { PayloadReceiver } from './payload-receiver';
import { messageBeforeReset, PeerOpening } from './peer-opening';
import { tlsOnPlainPort } from './tls-door';

/** What every connection of one index server shares. */
export interface ConnectionContext {
  logger: Logger;
  /** See IndexServerOptions.onMessage. */
  onMessage: (message: IndexMessage, peer: string, how: { oneShot: boolean }) => void | Promise<void>;
  maxLineBytes: number | undefined;
  access: SegmenterAccess;
  payload: { spool: PayloadSpool; maxBytes: number } | undefined;
  /** A message was refused as malformed or not allowed (for the server's count). */
  refused: () => void;
  /** How long a silent peer waits for its greeting; default GREETING_DELAY_MS. */
  greetingDelayMs?: number;
  /** Rate limit of the warnings about peers that are no segmenters. */
  repeats: RepeatFilter;
}

/** A connection whose peer answered the greeting: every line gets a numbered OK or ERR, in order. */
interface Session {
  seq: number;
  /** Answers go out in line order even when a later message is recorded sooner. */
  answered: Promise<void>;
  /** Segment bytes shipped on this session, matched with their lines. */
  payloads: PayloadReceiver;
}

export class SegmenterConnection {
  readonly peer: string;
  readonly #socket: net.Socket;
  readonly #admitted: AdmittedConnection;
  readonly #ctx: ConnectionContext;
  readonly #decoder: SessionDecoder;
  /** Lines seen so far: only the first may be the hello that opens a session. */
  #lines = 0;
  #session: Session | undefined;
  readonly #opening: PeerOpening;
  /** The peer's EOF came: what it sent has been handled. */
  #ended = false;

  /** Takes over an admitted socket: greets it and serves it until it closes. */
  constructor(socket: net.Socket, peer: string, admitted: AdmittedConnection, greeting: string, ctx: ConnectionContext) {
    this.#socket = socket;
    this.peer = peer;
    this.#admitted = admitted;
    this.#ctx = ctx;
    this.#decoder = new SessionDecoder({ maxLineBytes: ctx.maxLineBytes });
    ctx.logger.debug('segmenter connected', { peer });
    this.#opening = new PeerOpening(socket, greeting, ctx.greetingDelayMs);
    socket.on('data', (chunk: Buffer) => {
      this.#opening.spoke();
      if (this.#lines === 0 && this.#decoder.pendingBytes === 0 && isTlsRecord(chunk)) {
        this.#opening.done();
        tlsOnPlainPort(socket, this.peer, ctx.repeats, ctx.logger);
        return;
      }
      this.#data(chunk);
    });
    socket.on('end', () => this.#end());
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.#ended || this.#session || err.code !== 'ECONNRESET') {
        ctx.logger.debug('segmenter connection error', { peer, error: err.message });
        return;
      }
      // A reset without 'end': a 2009 message that came whole is still handled.
      this.#ended = true;
      this.#opening.done();
      const last = messageBeforeReset(this.#decoder, ctx.logger, peer);
      if (last !== undefined) this.#line(last);
    });
    socket.on('close', () => {
      this.#opening.done();
      admitted.close();
      this.#session?.payloads.close();
    });
  }

  /** A deadline of the connection's guard passed: say why and end it. */
  expired(reason: string): void {
    this.#refuse(new ProtocolError(`${reason}; connection closed`), true);
  }

  #data(chunk: Buffer): void {
    let lines = 0;
    try {
      // Lines are handed over one by one, so a hello or AUTH is handled before any bytes after it.
      this.#decoder.push(chunk, (event) => (lines += this.#event(event)));
    } catch (err) {
      // An over-long line or a bad PAYLOAD: no way to find where the next message starts, so end this connection.
      this.#refuse(err, true);
      return;
    }
    this.#admitted.guard.received(lines, this.#decoder.pendingBytes);
  }

  #end(): void {
    this.#ended = true;
    this.#opening.done();
    let last: string | undefined;
    try {
      last = this.#decoder.end();
    } catch (err) {
      // Cut inside a payload: its bytes are dropped, its PAYLOAD answered ERR.
      this.#ctx.logger.debug('segmenter connection ended inside a payload', { peer: this.peer, error: (err as Error).message });
      this.#session?.payloads.ended();
    }
    if (last !== undefined) this.#line(last);
    // Answers still owed in a session go out before our side closes.
    void (this.#session?.answered ?? Promise.resolve()).then(() => this.#socket.end());
  }

  /** One decoded event, in wire order; returns the lines it completed (for the connection's guard). */
  #event(event: SessionEvent): number {
    const guard = this.#admitted.guard;
    if (event.kind === 'line') {
      guard.deliver([event.line], (line) => this.#line(line));
      return 1;
    }
    const payloads = this.#session?.payloads;
    if (event.kind === 'payload-bytes') payloads?.bytes(event.bytes);
    else if (event.kind === 'payload-end') payloads?.end();
    else {
      // Bytes are only taken inside a session, and from a peer that presented the token.
      if (!payloads) throw new ProtocolError('PAYLOAD outside a session (answer the greeting first)');
      this.#ctx.access.requireAuthenticated(this.#admitted, true);
      payloads.start(event.length);
      // Its line takes its place among the others, for its number and its answer.
      guard.deliver([formatPayloadCommand(event.length)], (line) => this.#line(line));
      return 1;
    }
    return 0;
  }

  #line(line: string): void {
    if (line.trim() === '') return;
    if (this.#lines++ === 0 && isHello(line)) {
      // A new segmenter that spoke first (it did not wait): greeted now, it reads.
      this.#opening.greet();
      const payload = this.#ctx.payload;
      this.#session = { seq: 0, answered: Promise.resolve(), payloads: new PayloadReceiver({ spool: payload?.spool, maxBytes: payload?.maxBytes ?? 0 }) };
      return;
    }
    this.#opening.done();
    if (this.#session) {
      this.#sessionLine(line, this.#session);
      return;
    }
    try {
      this.#ctx.access.requireAuthenticated(this.#admitted, false);
      const result = this.#handle(parseMessage(line));
      result?.catch((err: unknown) => this.#refuse(err, false));
    } catch (err) {
      this.#refuse(err, false);
    }
  }

  #sessionLine(line: string, session: Session): void {
    const seq = ++session.seq;
    let result: Promise<void>;
    let parsed: IndexMessage | undefined;
    try {
      const c = classifySessionLine(line);
      if (c.kind === 'command' && c.verb === AUTH_VERB) {
        this.#ctx.access.authenticate(this.#admitted, c.args);
        result = Promise.resolve();
      } else {
        this.#ctx.access.requireAuthenticated(this.#admitted, true);
        if (c.kind === 'command' && c.verb === PAYLOAD_VERB) {
          result = session.payloads.announced();
        } else {
          const message = (): IndexMessage => {
            if (c.kind === 'command') throw new ProtocolError(`unknown command ${c.verb}`);
            parsed = parseMessage(line);
            return parsed;
          };
          // After a payload this is its message, pointed at the spooled bytes.
          result = Promise.resolve(session.payloads.deliver(message, (m) => this.#handle(m)));
        }
      }
    } catch (err) {
      result = Promise.reject(err);
    }
    // Handled below, once the answers before it are out; not an unhandled rejection meanwhile.
    result.catch(() => {});
    session.answered = session.answered.then(() =>
      result.then(
        () => this.#reply(formatAck({ ok: true, seq })),
        (err: unknown) => {
          if (!(err instanceof ProtocolError)) {
            this.#unrecorded(seq, parsed, err);
            return;
          }
          this.#count(err);
          this.#reply(formatAck({ ok: false, seq, reason: err.message }));
          // Without the token nothing more this peer sends can be served.
          if (err instanceof ConnectionRefusal) this.#endRefused();
        },
      ),
    );
  }

  /** Hands a message on; the 2009 start-up message is accepted and ignored, as the original uploader did. */
  #handle(m: IndexMessage): void | Promise<void> {
    if (isStartupMessage(m)) {
      this.#ctx.logger.debug('start-up message (last_segment 0) ignored, as in 2009', { peer: this.peer, stream: streamName(m) });
      return;
    }
    // Outside a session a message has a connection of its own (2009): the next one may overtake it.
    return this.#ctx.onMessage(m, this.peer, { oneShot: this.#session === undefined });
  }

  #reply(line: string): void {
    if (this.#socket.writable) this.#socket.write(frameMessage(line));
  }

  /**
   * A message failed for no fault of its own (the journal could not write it: disk full, I/O
   * error). ERR would make the segmenter drop it for good; left unanswered on a closed
   * connection, it stays in the segmenter's spool and comes again when it reconnects.
   */
  #unrecorded(seq: number, message: IndexMessage | undefined, err: unknown): void {
    this.#ctx.logger.error('message could not be recorded; connection closed unanswered so the segmenter sends it again', {
      peer: this.peer,
      stream: message ? streamName(message) : undefined,
      segment: message?.lastSegment,
      seq,
      error: err instanceof Error ? err.message : String(err),
    });
    this.#socket.destroy();
  }

  #count(err: unknown): void {
    const reason = err instanceof Error ? err.message : String(err);
    if (!(err instanceof ProtocolError)) {
      this.#ctx.logger.error('message handling failed', { peer: this.peer, error: reason });
    } else {
      this.#ctx.refused();
      // Every refusal gets its ERR; the log says each kind once per interval per peer address.
      const held = this.#ctx.repeats.pass(`${this.#socket.remoteAddress} message ${repeatKind(reason)}`);
      if (held !== undefined) this.#ctx.logger.warn('message refused', { peer: this.peer, reason, ...(held > 0 ? { repeated: held } : {}) });
    }
  }

  #refuse(err: unknown, endConnection: boolean): void {
    const reason = err instanceof Error ? err.message : String(err);
    this.#count(err);
    this.#reply(formatRefusal(reason));
    if (endConnection || err instanceof ConnectionRefusal) {
      this.#endRefused();
    } else if (this.#socket.writableLength > this.#ctx.access.limits.maxUnreadReplyBytes) {
      // A peer that keeps sending bad messages and never reads the answers.
      this.#ctx.logger.warn('connection closed: answers not read', { peer: this.peer, unreadBytes: this.#socket.writableLength });
      this.#socket.destroy();
    }
  }

  /** Reads no more from the peer, says goodbye, and does not wait long for it to close its side. */
  #endRefused(): void {
    this.#socket.removeAllListeners('data');
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), 2_000).unref();
  }
}
