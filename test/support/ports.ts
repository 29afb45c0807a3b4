/**
 * Ports in the tests come from the OS (listen on port 0, read the port) and stay with whoever
 * listens until the test ends. A port is never closed to be opened again "a moment later":
 * between the two, any process (or an outgoing connection's local port) may take it.
 *
 * When a test needs one address that outlives a daemon, because it is down at start or
 * restarts while its clients keep the address, the test holds a HeldPort: a port of its own
 * that relays each connection to wherever the daemon listens now (its own port 0 each start).
 */
import net from 'node:net';

export class HeldPort {
  readonly port: number;
  readonly #server: net.Server;
  /** Where connections go now; undefined while the daemon behind is down. */
  #target: number | undefined;
  readonly #sockets = new Set<net.Socket>();

  private constructor(server: net.Server) {
    this.#server = server;
    this.port = (server.address() as net.AddressInfo).port;
    server.on('connection', (client) => this.#relay(client));
  }

  /** A port from the OS on 127.0.0.1, with nothing behind it yet. */
  static async open(): Promise<HeldPort> {
    // Half-open as the daemons are: a client's FIN reaches the daemon while its answer still flows back.
    const server = net.createServer({ allowHalfOpen: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    return new HeldPort(server);
  }

  /** Connections from now on go to 127.0.0.1:`port`; undefined: the daemon is down. */
  forwardTo(port: number | undefined): void {
    this.#target = port;
  }

  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #track(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => {}); // handled by resetting the other side
  }

  #relay(client: net.Socket): void {
    this.#track(client);
    // Nothing listening: reset at once. The segmenter waits for the uploader's greeting and an
    // HTTP client for its answer, so to both this is a connection that failed, as a refused one is.
    if (this.#target === undefined) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ host: '127.0.0.1', port: this.#target, allowHalfOpen: true });
    this.#track(upstream);
    // A reset on one side (a daemon killed with -9, a client gone) is passed on as a reset.
    client.on('error', () => upstream.resetAndDestroy());
    upstream.on('error', () => client.resetAndDestroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
