/**
 * An HTTP proxy in front of a store, for tests of a daemon in its own process: every request it
 * forwards is recorded (method and path, in the order they came), and requests a test names can
 * be held back until it lets them go — a store that is slow exactly where the test wants.
 */
import http from 'node:http';

export interface ProxiedRequest {
  method: string;
  path: string;
  /** The store's answer. */
  status?: number;
  /** The body of a playlist PUT (`.m3u8`), to follow every version the store was sent. */
  body?: string;
  /** The headers as sent (ACL, Cache-Control, Content-Type of each object). */
  headers: http.IncomingHttpHeaders;
}

export class RecordingProxy {
  readonly requests: ProxiedRequest[] = [];
  readonly #server: http.Server;
  #hold: ((r: ProxiedRequest) => boolean) | undefined;
  #held: Array<() => void> = [];

  private constructor(server: http.Server) {
    this.#server = server;
  }

  /** Listens on 127.0.0.1:0 and forwards to `storePort`. */
  static async start(storePort: number): Promise<RecordingProxy> {
    let proxy!: RecordingProxy;
    const server = http.createServer((req, res) => {
      const record: ProxiedRequest = { method: req.method ?? '', path: decodeURIComponent((req.url ?? '').replace(/\?.*$/, '')), headers: { ...req.headers } };
      proxy.requests.push(record);
      const forward = () => {
        if (record.method === 'PUT' && record.path.endsWith('.m3u8')) {
          const chunks: Buffer[] = [];
          req.on('data', (c: Buffer) => chunks.push(c));
          req.on('end', () => (record.body = Buffer.concat(chunks).toString('utf8')));
        }
        const out = http.request({ host: '127.0.0.1', port: storePort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
          record.status = answer.statusCode;
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        out.on('error', () => res.destroy());
        req.pipe(out);
      };
      if (proxy.#hold?.(record)) proxy.#held.push(forward);
      else forward();
    });
    proxy = new RecordingProxy(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.#server.address() as { port: number }).port}`;
  }

  /** From now on, requests `which` picks wait until release(). */
  hold(which: (r: ProxiedRequest) => boolean): void {
    this.#hold = which;
  }

  /** Forwards every held request and holds no more. */
  release(): void {
    this.#hold = undefined;
    const held = this.#held;
    this.#held = [];
    for (const go of held) go();
  }

  get heldCount(): number {
    return this.#held.length;
  }

  /** Paths of the PUTs the store answered with success, in order. */
  storedPuts(): string[] {
    return this.requests.filter((r) => r.method === 'PUT' && r.status !== undefined && r.status < 300).map((r) => r.path);
  }

  close(): Promise<void> {
    this.release();
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
