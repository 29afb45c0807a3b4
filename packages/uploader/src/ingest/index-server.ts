/**
 * The TCP side: accepts segmenters on the index port and turns bytes into messages.
 *
 * Both framings share one decoder: the original segmenter sends one message per connection
 * with no line end and closes (EOF ends the message); newer clients keep one connection and end
 * each message with `\n`. A bad message is logged with the peer and the reason and answered with
 * `ERR <reason>\n`; it never affects another message or another peer. Every connection is
 * greeted; a peer that answers the greeting gets a numbered OK/ERR per line (protocol session.ts).
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '@hlsrelay/log';
import {
  AUTH_VERB,
  classifySessionLine,
  formatAck,
  formatPayloadCommand,
  formatRefusal,
  FEATURE_PAYLOAD,
  formatGreeting,
  frameMessage,
  isHello,
  parseMessage,
  PAYLOAD_VERB,
  ProtocolError,
  SessionDecoder,
  type IndexMessage,
  type SessionEvent,
} from '@hlsrelay/protocol';
import { connectionLimits, type ConnectionLimits } from '../access/connection-limits';
import { ConnectionRefusal, SegmenterGate, type Door } from '../access/segmenter-gate';
import { PayloadReceiver } from './payload-receiver';
import { streamId, streamKeyOf } from '../streams/stream-key';
import type { PayloadSpool } from './payload-spool';

export interface IndexServerOptions {
  logger: Logger;
  /**
   * Called for every well-formed message; throwing (or rejecting with) a ProtocolError refuses
   * it (the peer gets ERR). In a session (protocol session.ts) the OK goes out once the returned
   * promise settles: resolve it only when the message is durably recorded. Any other failure
   * closes the session unanswered, so the segmenter keeps the message and sends it again.
   */
  onMessage: (message: IndexMessage, peer: string) => void | Promise<void>;
  maxLineBytes?: number;
  /** Feature words of the greeting; default `['ack']`. */
  features?: string[];
  /** Caps per connection and per peer (connection-limits.ts); defaults where not given. */
  limits?: Partial<ConnectionLimits>;
  /** Shared token every segmenter must present (AUTH); without one, anyone who reaches the port is served. */
  token?: string;
  /** PEM certificate and key: segmenters connect over TLS. */
  tls?: { cert: Buffer | string; key: Buffer | string };
  /**
   * Segment bytes on the connection (protocol segment-payload.ts): with a spool the greeting
   * offers `payload` and sessions may ship bytes of up to `maxBytes` each.
   */
  payload?: { spool: PayloadSpool; maxBytes: number };
}

/** A connection whose peer answered the greeting: every line gets a numbered OK or ERR, in order. */
interface Session {
  seq: number;
  /** Answers go out in line order even when a later message is recorded sooner. */
  answered: Promise<void>;
  /** Segment bytes shipped on this session, matched with their lines. */
  payloads: PayloadReceiver;
}

export interface ListenAddress {
  host: string;
  port: number;
}

export class IndexServer {
  readonly #logger: Logger;
  readonly #onMessage: IndexServerOptions['onMessage'];
  readonly #maxLineBytes: number | undefined;
  readonly #greeting: string;
  readonly #server: net.Server;
  /** Open connections, so shutdown can end them. */
  readonly #sockets = new Set<net.Socket>();
  #closing = false;
  #malformed = 0;
  readonly #gate: SegmenterGate;
  readonly #raw = new Set<net.Socket>();
  readonly #payload: IndexServerOptions['payload'];

  constructor(options: IndexServerOptions) {
    this.#logger = options.logger;
    this.#onMessage = options.onMessage;
    this.#maxLineBytes = options.maxLineBytes;
    this.#gate = new SegmenterGate({ limits: connectionLimits(options.limits), token: options.token, logger: options.logger });
    this.#payload = options.payload;
    const payloadFeature = options.payload ? [FEATURE_PAYLOAD] : [];
    this.#greeting = frameMessage(formatGreeting([...(options.features ?? ['ack']), ...this.#gate.features, ...payloadFeature]));
    // Half-open: after the original segmenter's EOF we may still answer ERR on the same socket.
    this.#server = options.tls
      ? tls.createServer({ ...options.tls, allowHalfOpen: true, handshakeTimeout: this.#gate.limits.lineTimeoutMs }, (s) => this.#connection(s))
      : net.createServer({ allowHalfOpen: true }, (socket) => this.#connection(socket));
    // Past this the kernel's accepted sockets are closed at once, before any work is spent on them.
    this.#server.maxConnections = this.#gate.limits.maxConnections;
    // Every TCP connection, TLS handshakes still in progress included, so shutdown can end them.
    this.#server.on('connection', (raw: net.Socket) => {
      this.#raw.add(raw);
      raw.on('close', () => this.#raw.delete(raw));
    });
    // A failed or timed-out handshake (plain TCP to the TLS port, an untrusting client) ends there.
    this.#server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
      this.#logger.debug('TLS handshake failed', { peer: `${socket.remoteAddress}:${socket.remotePort}`, error: err.message });
      socket.destroy();
    });
    this.#server.on('error', (err) => this.#logger.error('index server error', { error: err.message }));
  }

  /** Starts listening; resolves with the bound address (port 0 picks a free one). */
  listen(host: string, port: number): Promise<ListenAddress> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        const a = this.#server.address() as net.AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  get address(): ListenAddress | undefined {
    const a = this.#server.address();
    return a && typeof a === 'object' ? { host: a.address, port: a.port } : undefined;
  }

  /** Messages refused as malformed since start. */
  get malformed(): number {
    return this.#malformed;
  }

  /** What the gate refused or slowed since start (segmenter-gate.ts). */
  get gateStats(): SegmenterGate['stats'] {
    return this.#gate.stats;
  }

  /**
   * Stops accepting connections and ends the open ones (complete messages already received are
   * kept; a peer mid-message sees the connection close and must resend). Resolves when all closed.
   */
  close(): Promise<void> {
    this.#closing = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.end();
    // A peer that never finishes its half of the close must not hold the shutdown.
    const force = setTimeout(() => {
      for (const socket of this.#sockets) socket.destroy();
      for (const socket of this.#raw) socket.destroy();
    }, 2_000);
    force.unref();
    return closed.finally(() => clearTimeout(force));
  }

  #connection(socket: net.Socket): void {
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    if (this.#closing) {
      socket.destroy();
      return;
    }
    const door = this.#gate.admit(socket.remoteAddress ?? '?', peer, socket, (reason) =>
      this.#refuse(socket, peer, new ProtocolError(`${reason}; connection closed`), true),
    );
    if (typeof door === 'string') {
      socket.end(frameMessage(formatRefusal(door)));
      setTimeout(() => socket.destroy(), 2_000).unref();
      return;
    }
    this.#sockets.add(socket);
    const decoder = new SessionDecoder({ maxLineBytes: this.#maxLineBytes });
    this.#logger.debug('segmenter connected', { peer });
    // An original segmenter never reads this; a new one answers it and gets acknowledgements.
    socket.write(this.#greeting);
    const conn: { lines: number; session?: Session; door: Door } = { lines: 0, door };
    socket.on('data', (chunk: Buffer) => {
      let lines = 0;
      try {
        // Lines are handed over one by one, so a hello or AUTH is handled before any bytes after it.
        decoder.push(chunk, (event) => (lines += this.#event(socket, peer, event, conn)));
      } catch (err) {
        // An over-long line or a bad PAYLOAD: no way to find where the next message starts, so end this connection.
        this.#refuse(socket, peer, err, true);
        return;
      }
      door.guard.received(lines, decoder.pendingBytes);
    });
    socket.on('end', () => {
      let last: string | undefined;
      try {
        last = decoder.end();
      } catch (err) {
        // Cut inside a payload: its bytes are dropped, its PAYLOAD answered ERR.
        this.#logger.debug('segmenter connection ended inside a payload', { peer, error: (err as Error).message });
        conn.session?.payloads.ended();
      }
      if (last !== undefined) this.#line(socket, peer, last, conn);
      // Answers still owed in a session go out before our side closes.
      void (conn.session?.answered ?? Promise.resolve()).then(() => socket.end());
    });
    socket.on('error', (err) => this.#logger.debug('segmenter connection error', { peer, error: err.message }));
    socket.on('close', () => {
      door.close();
      conn.session?.payloads.close();
      this.#sockets.delete(socket);
    });
  }

  /** One decoded event, in wire order; returns the lines it completed (for the connection's guard). */
  #event(socket: net.Socket, peer: string, event: SessionEvent, conn: { lines: number; session?: Session; door: Door }): number {
    if (event.kind === 'line') {
      conn.door.guard.deliver([event.line], (line) => this.#line(socket, peer, line, conn));
      return 1;
    }
    const payloads = conn.session?.payloads;
    if (event.kind === 'payload-bytes') payloads?.bytes(event.bytes);
    else if (event.kind === 'payload-end') payloads?.end();
    else {
      // Bytes are only taken inside a session, and from a peer that presented the token.
      if (!payloads) throw new ProtocolError('PAYLOAD outside a session (answer the greeting first)');
      this.#gate.requireAuthenticated(conn.door, true);
      payloads.start(event.length);
      // Its line takes its place among the others, for its number and its answer.
      conn.door.guard.deliver([formatPayloadCommand(event.length)], (line) => this.#line(socket, peer, line, conn));
      return 1;
    }
    return 0;
  }

  #line(socket: net.Socket, peer: string, line: string, conn: { lines: number; session?: Session; door: Door }): void {
    if (line.trim() === '') return;
    if (conn.lines++ === 0 && isHello(line)) {
      conn.session = { seq: 0, answered: Promise.resolve(), payloads: new PayloadReceiver({ spool: this.#payload?.spool, maxBytes: this.#payload?.maxBytes ?? 0 }) };
      return;
    }
    if (conn.session) {
      this.#sessionLine(socket, peer, line, conn.session, conn.door);
      return;
    }
    try {
      this.#gate.requireAuthenticated(conn.door, false);
      const result = this.#onMessage(parseMessage(line), peer);
      result?.catch((err: unknown) => this.#refuse(socket, peer, err, false));
    } catch (err) {
      this.#refuse(socket, peer, err, false);
    }
  }

  #sessionLine(socket: net.Socket, peer: string, line: string, session: Session, door: Door): void {
    const seq = ++session.seq;
    let result: Promise<void>;
    let parsed: IndexMessage | undefined;
    try {
      const c = classifySessionLine(line);
      if (c.kind === 'command' && c.verb === AUTH_VERB) {
        this.#gate.authenticate(door, c.args);
        result = Promise.resolve();
      } else {
        this.#gate.requireAuthenticated(door, true);
        if (c.kind === 'command' && c.verb === PAYLOAD_VERB) {
          result = session.payloads.announced();
        } else {
          const message = (): IndexMessage => {
            if (c.kind === 'command') throw new ProtocolError(`unknown command ${c.verb}`);
            parsed = parseMessage(line);
            return parsed;
          };
          // After a payload this is its message, pointed at the spooled bytes.
          result = Promise.resolve(session.payloads.deliver(message, (m) => this.#onMessage(m, peer)));
        }
      }
    } catch (err) {
      result = Promise.reject(err);
    }
    // Handled below, once the answers before it are out; not an unhandled rejection meanwhile.
    result.catch(() => {});
    session.answered = session.answered.then(() =>
      result.then(
        () => {
          if (socket.writable) socket.write(frameMessage(formatAck({ ok: true, seq })));
        },
        (err: unknown) => {
          if (!(err instanceof ProtocolError)) {
            this.#unrecorded(socket, peer, seq, parsed, err);
            return;
          }
          this.#count(peer, err);
          if (socket.writable) socket.write(frameMessage(formatAck({ ok: false, seq, reason: err instanceof Error ? err.message : String(err) })));
          // Without the token nothing more this peer sends can be served.
          if (err instanceof ConnectionRefusal) this.#endRefused(socket);
        },
      ),
    );
  }

  /**
   * A message failed for no fault of its own (the journal could not write it: disk full, I/O
   * error). ERR would make the segmenter drop it for good; left unanswered on a closed
   * connection, it stays in the segmenter's spool and comes again when it reconnects.
   */
  #unrecorded(socket: net.Socket, peer: string, seq: number, message: IndexMessage | undefined, err: unknown): void {
    this.#logger.error('message could not be recorded; connection closed unanswered so the segmenter sends it again', {
      peer,
      stream: message ? streamId(streamKeyOf(message)) : undefined,
      segment: message?.lastSegment,
      seq,
      error: err instanceof Error ? err.message : String(err),
    });
    socket.destroy();
  }

  #count(peer: string, err: unknown): void {
    const reason = err instanceof Error ? err.message : String(err);
    if (!(err instanceof ProtocolError)) {
      this.#logger.error('message handling failed', { peer, error: reason });
    } else {
      this.#malformed += 1;
      this.#logger.warn('message refused', { peer, reason });
    }
  }

  #refuse(socket: net.Socket, peer: string, err: unknown, endConnection: boolean): void {
    const reason = err instanceof Error ? err.message : String(err);
    this.#count(peer, err);
    // One line, whatever the reason contains.
    if (socket.writable) socket.write(frameMessage(formatRefusal(reason)));
    if (endConnection || err instanceof ConnectionRefusal) {
      this.#endRefused(socket);
    } else if (socket.writableLength > this.#gate.limits.maxUnreadReplyBytes) {
      // A peer that keeps sending bad messages and never reads the answers.
      this.#logger.warn('connection closed: answers not read', { peer, unreadBytes: socket.writableLength });
      socket.destroy();
    }
  }

  /** Reads no more from the peer, says goodbye, and does not wait long for it to close its side. */
  #endRefused(socket: net.Socket): void {
    socket.removeAllListeners('data');
    socket.end();
    setTimeout(() => socket.destroy(), 2_000).unref();
  }
}
