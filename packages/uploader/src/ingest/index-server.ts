/**
 * The index port: listens (plain TCP or TLS), admits each connection through SegmenterAccess
 * (connections per peer and in all) and hands it to a SegmenterConnection, which decodes and
 * answers its messages. Here only what spans connections: the listener, the open sockets for
 * shutdown, and the counts.
 */
import net from 'node:net';
import tls from 'node:tls';
import { RepeatFilter, type Logger } from '@hlsrelay/log';
import { FEATURE_PAYLOAD, FEATURE_PAYLOAD_INIT, formatGreeting, formatRefusal, frameMessage, type IndexMessage } from '@hlsrelay/protocol';
import { connectionLimits, type ConnectionLimits } from '../access/connection-limits';
import { SegmenterAccess } from '../access/segmenter-access';
import type { IntakeRoom } from '../access/connection-guard';
import type { PayloadSpool } from './payload-spool';
import { SegmenterConnection, type ConnectionContext } from './segmenter-connection';
import { TlsDoor } from './tls-door';

/** Connections the kernel may hold for us before they are accepted (see listen()). */
const ACCEPT_BACKLOG = 4096;

export interface IndexServerOptions {
  logger: Logger;
  /**
   * Called for every well-formed message; throwing (or rejecting with) a ProtocolError refuses
   * it (the peer gets ERR). In a session (protocol session.ts) the OK goes out once the returned
   * promise settles: resolve it only when the message is durably recorded. Any other failure
   * closes the session unanswered, so the segmenter keeps the message and sends it again.
   */
  onMessage: (message: IndexMessage, peer: string, how: { oneShot: boolean }) => void | Promise<void>;
  maxLineBytes?: number;
  /** Feature words of the greeting; default `['ack']`. */
  features?: string[];
  /** Caps per connection and per peer (connection-limits.ts); defaults where not given. */
  limits?: Partial<ConnectionLimits>;
  /** While it says the uploader is full, lines wait unread in their sockets (access/backlog-limit.ts). */
  room?: IntakeRoom;
  /** Shared token every segmenter must present (AUTH); without one, anyone who reaches the port is served. */
  token?: string;
  /** PEM certificate and key: segmenters connect over TLS. */
  tls?: { cert: Buffer | string; key: Buffer | string };
  /**
   * Segment bytes on the connection (protocol segment-payload.ts): with a spool the greeting
   * offers `payload` and sessions may ship bytes of up to `maxBytes` each.
   */
  payload?: { spool: PayloadSpool; maxBytes: number };
  /**
   * A warning a peer repeats (refused message, failed authentication, TLS on the plain port) is
   * said once, then at most once per this many ms with the count held back; default 30 s.
   */
  warningRepeatMs?: number;
}

export interface ListenAddress {
  host: string;
  port: number;
}

export class IndexServer {
  readonly #logger: Logger;
  readonly #greeting: string;
  readonly #server: net.Server;
  /** Open connections, so shutdown can end them. */
  readonly #sockets = new Set<net.Socket>();
  #closing = false;
  #malformed = 0;
  readonly #access: SegmenterAccess;
  readonly #raw = new Set<net.Socket>();
  readonly #context: ConnectionContext;

  constructor(options: IndexServerOptions) {
    this.#logger = options.logger;
    const repeats = new RepeatFilter({ intervalMs: options.warningRepeatMs ?? 30_000 });
    this.#access = new SegmenterAccess({ limits: connectionLimits(options.limits), token: options.token, logger: options.logger, repeats, room: options.room });
    this.#context = {
      logger: options.logger,
      onMessage: options.onMessage,
      maxLineBytes: options.maxLineBytes,
      access: this.#access,
      payload: options.payload,
      refused: () => (this.#malformed += 1),
      repeats,
    };
    const payloadFeature = options.payload ? [FEATURE_PAYLOAD, FEATURE_PAYLOAD_INIT] : [];
    this.#greeting = frameMessage(formatGreeting([...(options.features ?? ['ack']), ...this.#access.features, ...payloadFeature]));
    // Half-open: after the original segmenter's EOF we may still answer ERR on the same socket.
    // Over TLS the door looks at each connection's first byte before the handshake (tls-door.ts).
    const door = options.tls
      ? new TlsDoor({ secureContext: tls.createSecureContext(options.tls), handshakeTimeoutMs: this.#access.limits.lineTimeoutMs, logger: options.logger })
      : undefined;
    this.#server = net.createServer({ allowHalfOpen: true }, (socket) => {
      if (!door) this.#connection(socket);
      else if (this.#closing) socket.destroy();
      else door.open(socket, (secure) => this.#connection(secure));
    });
    // Past this the kernel's accepted sockets are closed at once, before any work is spent on them.
    this.#server.maxConnections = this.#access.limits.maxConnections;
    // Every TCP connection, TLS handshakes still in progress included, so shutdown can end them.
    this.#server.on('connection', (raw: net.Socket) => {
      this.#raw.add(raw);
      raw.on('close', () => this.#raw.delete(raw));
    });
    this.#server.on('error', (err) => this.#logger.error('index server error', { error: err.message }));
  }

  /** Starts listening; resolves with the bound address (port 0 picks a free one). */
  listen(host: string, port: number): Promise<ListenAddress> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#server.once('error', onError);
      // A 2009 segmenter opens a connection per message: hundreds of renditions are hundreds of
      // connections a second, and when the queue of connections not yet accepted overflows (Node's
      // default 511) the kernel drops SYNs, each costing its sender a 1 s, then 3 s, retransmit.
      // The kernel caps this at net.core.somaxconn.
      this.#server.listen({ port, host, backlog: ACCEPT_BACKLOG }, () => {
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

  /** What segmenter access refused or slowed since start (access/segmenter-access.ts); named as before for its watchers. */
  get gateStats(): SegmenterAccess['stats'] {
    return this.#access.stats;
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
    let connection: SegmenterConnection | undefined;
    const admitted = this.#access.admit(socket.remoteAddress ?? '?', peer, socket, (reason) => connection?.expired(reason));
    if (typeof admitted === 'string') {
      socket.end(frameMessage(formatRefusal(admitted)));
      setTimeout(() => socket.destroy(), 2_000).unref();
      return;
    }
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    connection = new SegmenterConnection(socket, peer, admitted, this.#greeting, this.#context);
  }
}
