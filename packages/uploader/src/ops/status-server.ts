/**
 * The operator's HTTP port (`--status-listen`): `/healthz` for load balancers and orchestrators,
 * `/metrics` for Prometheus, `/status` as JSON for people and scripts. Read-only; GET and HEAD.
 * It binds to loopback unless told otherwise: the stream names it lists are not for the world.
 */
import http from 'node:http';
import type net from 'node:net';
import type { Logger } from '@hlsrelay/log';
import type { ListenAddress } from '../ingest/index-server';
import type { UploaderMetrics } from './uploader-metrics';

export interface StatusServerOptions {
  metrics: UploaderMetrics;
  /** True while the uploader accepts messages; `/healthz` answers 503 otherwise. */
  healthy: () => boolean;
  logger: Logger;
}

export interface StatusServer {
  address: ListenAddress;
  close(): Promise<void>;
}

export async function startStatusServer(host: string, port: number, options: StatusServerOptions): Promise<StatusServer> {
  const { metrics, healthy, logger } = options;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://status');
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(405, 'text/plain; charset=utf-8', 'GET or HEAD only\n');
    }
    switch (url.pathname) {
      case '/healthz':
        return healthy() ? send(200, 'text/plain; charset=utf-8', 'ok\n') : send(503, 'text/plain; charset=utf-8', 'not accepting messages\n');
      case '/metrics':
        metrics.metrics().then(
          (text) => send(200, metrics.contentType, text),
          (err: unknown) => {
            logger.error('metrics collection failed', { error: String(err) });
            send(500, 'text/plain; charset=utf-8', 'metrics collection failed\n');
          },
        );
        return;
      case '/status':
        return send(200, 'application/json', JSON.stringify(metrics.status(), null, 2) + '\n');
      default:
        return send(404, 'text/plain; charset=utf-8', 'not found; try /healthz, /metrics or /status\n');
    }
  });
  // Scrapers keep connections alive; they must not hold up shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger.error('status server error', { error: err.message }));
  const a = server.address() as net.AddressInfo;
  return {
    address: { host: a.address, port: a.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The status port when `--status-listen` names only a host: the index port's neighbour. */
export const DEFAULT_STATUS_PORT = 10235;

/**
 * `--status-listen` value: `HOST:PORT`, `HOST`, `:PORT` or a bare `PORT`; the host defaults to
 * 127.0.0.1 (loopback) and the port to 10235.
 */
export function parseStatusListen(value: string): ListenAddress {
  const v = value.trim();
  const fail = (): never => {
    throw new TypeError(`--status-listen must be HOST:PORT, :PORT or PORT (e.g. 127.0.0.1:${DEFAULT_STATUS_PORT}), got "${value}"`);
  };
  const m = /^(?:\[([^\]]+)\]|([^:]*?))(?::(\d{1,5}))?$/.exec(/^\d+$/.test(v) ? `:${v}` : v);
  if (!m) return fail();
  const port = m[3] === undefined ? DEFAULT_STATUS_PORT : Number(m[3]);
  if (port > 65535) fail();
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}
