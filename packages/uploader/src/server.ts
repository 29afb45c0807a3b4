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
import type { Logger } from '@hlsrelay/log';
import {
  classifySessionLine,
  formatAck,
  formatGreeting,
  frameMessage,
  isHello,
  MessageDecoder,
  parseMessage,
  ProtocolError,
  type IndexMessage,
} from '@hlsrelay/protocol';

export interface IndexServerOptions {
  logger: Logger;
  /**
   * Called for every well-formed message; throwing (or rejecting with) a ProtocolError refuses
   * it (the peer gets ERR). In a session (protocol session.ts) the OK goes out once the returned
   * promise settles: resolve it only when the message is durably recorded.
   */
  onMessage: (message: IndexMessage, peer: string) => void | Promise<void>;
  maxLineBytes?: number;
  /** Feature words of the greeting; default `['ack']`. */
  features?: string[];
}

/** A connection whose peer answered the greeting: every line gets a numbered OK or ERR, in order. */
interface Session {
  seq: number;
  /** Answers go out in line order even when a later message is recorded sooner. */
  answered: Promise<void>;
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

  constructor(options: IndexServerOptions) {
    this.#logger = options.logger;
    this.#onMessage = options.onMessage;
    this.#maxLineBytes = options.maxLineBytes;
    this.#greeting = frameMessage(formatGreeting(options.features));
    // Half-open: after the original segmenter's EOF we may still answer ERR on the same socket.
    this.#server = net.createServer({ allowHalfOpen: true }, (socket) => this.#connection(socket));
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
    this.#sockets.add(socket);
    const decoder = new MessageDecoder({ maxLineBytes: this.#maxLineBytes });
    this.#logger.debug('segmenter connected', { peer });
    // An original segmenter never reads this; a new one answers it and gets acknowledgements.
    socket.write(this.#greeting);
    const conn: { lines: number; session?: Session } = { lines: 0 };
    socket.on('data', (chunk: Buffer) => {
      let lines: string[];
      try {
        lines = decoder.push(chunk);
      } catch (err) {
        // An over-long line: no way to find where the next message starts, so end this connection.
        this.#refuse(socket, peer, err, true);
        return;
      }
      for (const line of lines) this.#line(socket, peer, line, conn);
    });
    socket.on('end', () => {
      const last = decoder.end();
      if (last !== undefined) this.#line(socket, peer, last, conn);
      // Answers still owed in a session go out before our side closes.
      void (conn.session?.answered ?? Promise.resolve()).then(() => socket.end());
    });
    socket.on('error', (err) => this.#logger.debug('segmenter connection error', { peer, error: err.message }));
    socket.on('close', () => this.#sockets.delete(socket));
  }

  #line(socket: net.Socket, peer: string, line: string, conn: { lines: number; session?: Session }): void {
    if (line.trim() === '') return;
    if (conn.lines++ === 0 && isHello(line)) {
      conn.session = { seq: 0, answered: Promise.resolve() };
      return;
    }
    if (conn.session) {
      this.#sessionLine(socket, peer, line, conn.session);
      return;
    }
    try {
      const result = this.#onMessage(parseMessage(line), peer);
      result?.catch((err: unknown) => this.#refuse(socket, peer, err, false));
    } catch (err) {
      this.#refuse(socket, peer, err, false);
    }
  }

  #sessionLine(socket: net.Socket, peer: string, line: string, session: Session): void {
    const seq = ++session.seq;
    let result: Promise<void>;
    try {
      const c = classifySessionLine(line);
      if (c.kind === 'command') throw new ProtocolError(`unknown command ${c.verb}`);
      result = Promise.resolve(this.#onMessage(parseMessage(line), peer));
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
          this.#count(peer, err);
          if (socket.writable) socket.write(frameMessage(formatAck({ ok: false, seq, reason: err instanceof Error ? err.message : String(err) })));
        },
      ),
    );
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
    if (socket.writable) socket.write(`ERR ${reason.replace(/[\r\n]+/g, ' ')}\n`);
    if (endConnection) {
      socket.removeAllListeners('data');
      socket.end();
    }
  }
}
