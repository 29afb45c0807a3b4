/**
 * A stand-in for S3 that costs almost nothing and answers every request after a fixed delay
 * (S3's first-byte time is of that order): for measuring the client, not the store. It keeps no
 * object bytes — a PUT's body is counted and dropped — only each playlist's last text, so a GET
 * of a playlist answers what was stored. Run in its own process (`node -r ts-node/register …`);
 * it talks to the benchmark over the IPC channel:
 *
 * - sends `{ ready: port }` once listening;
 * - sends `{ stored: [[key, lastSegment, atMs], …] }` every 50 ms for playlist PUTs answered
 *   since (atMs: `performance.timeOrigin + performance.now()` when the 200 was written — a wall
 *   clock the benchmark's process shares);
 * - answers `{ counts: true }` with `{ counts: { PUT, GET, HEAD, DELETE, POST, bytes } }`.
 *
 * Argument: the delay in ms (default 40).
 */
import { createServer } from 'node:http';

const delayMs = Number(process.argv[2] ?? 40);
const counts = { PUT: 0, GET: 0, HEAD: 0, DELETE: 0, POST: 0, bytes: 0 };
const playlists = new Map<string, string>();
let stored: Array<[string, number, number]> = [];

/** The number of the last segment a playlist lists (`…-00012.ts`), or -1. */
function lastSegment(text: string): number {
  const m = /-(\d+)\.ts\s*$/.exec(text.trimEnd());
  return m ? Number(m[1]) : -1;
}

const server = createServer((req, res) => {
  const method = req.method as keyof typeof counts;
  if (method in counts && method !== 'bytes') counts[method] += 1;
  const key = (req.url ?? '/').split('?')[0];
  const isPlaylist = key.endsWith('.m3u8');
  const chunks: Buffer[] = [];
  req.on('data', (d: Buffer) => {
    counts.bytes += d.length;
    if (isPlaylist && method === 'PUT') chunks.push(d);
  });
  req.on('end', () => {
    setTimeout(() => {
      if (method === 'PUT') {
        if (isPlaylist) {
          const text = Buffer.concat(chunks).toString();
          playlists.set(key, text);
          res.writeHead(200, { etag: '"0"', 'content-length': 0 });
          res.end();
          stored.push([key, lastSegment(text), performance.timeOrigin + performance.now()]);
          return;
        }
        res.writeHead(200, { etag: '"0"', 'content-length': 0 });
        res.end();
      } else if (method === 'HEAD' && /^\/[^/]+\/?$/.test(key)) {
        // HeadBucket (the uploader checks each bucket and prefix at first sight): every bucket exists.
        res.writeHead(200, { 'content-length': 0 });
        res.end();
      } else if (method === 'GET' || method === 'HEAD') {
        const text = playlists.get(key);
        if (text === undefined) {
          res.writeHead(404, { 'content-type': 'application/xml' });
          res.end(method === 'GET' ? '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>none</Message></Error>' : undefined);
        } else {
          res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl', 'content-length': Buffer.byteLength(text) });
          res.end(method === 'GET' ? text : undefined);
        }
      } else {
        res.writeHead(method === 'DELETE' ? 204 : 200, { 'content-length': 0 });
        res.end();
      }
    }, delayMs);
  });
});
// Thousands of keep-alive sockets from one client: no idle cut-off shorter than the client's.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send!({ ready: typeof address === 'object' && address ? address.port : 0 });
});
setInterval(() => {
  if (stored.length === 0) return;
  process.send!({ stored });
  stored = [];
}, 50).unref();
process.on('message', (m: { counts?: boolean }) => {
  if (m.counts) process.send!({ counts });
});
process.on('disconnect', () => process.exit(0));
