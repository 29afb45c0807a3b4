/**
 * `npm run bench:uploader` — how many live renditions one uploader carries on this machine.
 *
 * For each rendition count: every rendition cuts one ~600 KB segment every 2 s (a 2.4 Mbit/s
 * stream), start times staggered across the 2 s, one persistent connection per segmenter. The
 * latency of a message is from the moment it is written to the socket to the moment an HTTP GET
 * of the playlist lists its segment. s3rver runs in its own child process (its own core).
 *
 * The ceiling: in the same run, a bare PutObject loop (same client settings, same concurrency,
 * same store) stores the same objects — one segment plus one playlist per message — and the
 * uploader does the same work from messages; throughput is reported as a ratio.
 *
 * Options: --store s3rver (this variant; the default is bench-uploader-latency.ts)
 *          --counts 100,200,300,500  --seconds 20  --concurrency 64  --burst 1500  --on-disk
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { EMBEDDED_CREDENTIALS, EMBEDDED_REGION } from '@hlsrelay/embedded-store';
import { silentLogger } from '@hlsrelay/log';
import { formatMessage, frameMessage, segmentFileName } from '@hlsrelay/protocol';
import { S3Target, startUploaderService, type PlaylistStored, type UploaderService } from '@hlsrelay/uploader';
import { main as latencyMain } from './bench-uploader-latency';
import { startChildStore, stopChildStore } from './bench/child-store';

const SEGMENT_BYTES = 600 * 1024;
const SEGMENT_SECONDS = 2;
const BUCKET = 'bench';

interface Options {
  counts: number[];
  seconds: number;
  concurrency: number;
  burst: number;
}

function parseOptions(argv: string[]): Options {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const counts = (get('counts') ?? '100,200,300,500').split(',').map(Number);
  const seconds = Number(get('seconds') ?? 20);
  const concurrency = Number(get('concurrency') ?? 64);
  const burst = Number(get('burst') ?? 1500);
  if (counts.some((c) => !Number.isInteger(c) || c < 1)) throw new Error(`--counts must be whole numbers, got ${get('counts')}`);
  if (!(seconds >= 4)) throw new Error(`--seconds must be ≥ 4, got ${seconds}`);
  return { counts, seconds, concurrency, burst };
}

// ---------------------------------------------------------------------------------------------
// The store, in a child process so it has a core of its own.

// ---------------------------------------------------------------------------------------------

function s3Target(endpoint: string, concurrency: number): S3Target {
  return new S3Target({
    acl: 'public-read',
    endpoint,
    region: EMBEDDED_REGION,
    forcePathStyle: true,
    maxSockets: concurrency,
    clientConfig: { credentials: EMBEDDED_CREDENTIALS },
  });
}

async function startUploader(endpoint: string, concurrency: number): Promise<UploaderService> {
  return startUploaderService({
    target: s3Target(endpoint, concurrency),
    logger: silentLogger(),
    host: '127.0.0.1',
    port: 0,
    concurrency,
    window: 5,
    // The burst test sends every message on one connection at once: it measures the pipeline,
    // not the per-connection message rate a network-facing uploader enforces.
    limits: { messagesPerSecond: 1e9, messageBurst: 1e9 },
  });
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * Waits until a GET of the playlist lists `uri`; resolves with the time it did. The uploader's
 * `playlist-stored` event says when to look, so the store is not flooded with polls; a GET that
 * does not yet see the segment (or is torn by s3rver's in-place writes) is retried after 10 ms.
 */
async function readableAt(url: string, uri: string): Promise<number> {
  for (;;) {
    try {
      const res = await fetch(url);
      const text = await res.text();
      if (res.ok && text.includes(uri)) return performance.now();
    } catch {
      // torn read: retry
    }
    await sleep(10);
  }
}

interface StepResult {
  renditions: number;
  sent: number;
  measured: number;
  p50: number;
  p99: number;
  max: number;
  storedP50: number;
  storedP99: number;
  getP99: number;
  offeredMBps: number;
  achievedMBps: number;
  heapBeforeMB: number;
  heapAfterMB: number;
  rssAfterMB: number;
}

const gc: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

function heapMB(): number {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

async function liveStep(renditions: number, options: Options, source: string, root: string): Promise<StepResult> {
  const store = await startChildStore(path.join(root, `store-${renditions}`), BUCKET);
  const service = await startUploader(store.endpoint, options.concurrency);
  const dir = path.join(root, `segments-${renditions}`);
  await mkdir(dir, { recursive: true });
  const sockets = await Promise.all(Array.from({ length: renditions }, () => connect(service.address.port)));
  // Segment number → send time, per rendition; removed once measured.
  const sentAt = Array.from({ length: renditions }, () => new Map<number, number>());
  const latencies: number[] = [];
  /** Arrival at the uploader → its playlist PUT answered (the uploader's own view). */
  const storedLatencies: number[] = [];
  /** Playlist PUT answered → a GET sees it. */
  const getLatencies: number[] = [];
  const checks: Array<Promise<void>> = [];
  service.uploader.on('playlist-stored', (e: PlaylistStored) => {
    const r = Number(/^r(\d+)\.m3u8$/.exec(e.key.index)![1]);
    const last = e.lastSegment!;
    const uri = segmentFileName(`r${r}`, last);
    const url = `${store.endpoint}/${BUCKET}/live/r${r}/r${r}.m3u8`;
    for (const t0 of e.arrivals) storedLatencies.push(e.storedAt - t0);
    checks.push(
      readableAt(url, uri).then((t) => {
        getLatencies.push(t - e.storedAt);
        for (const [n, t0] of sentAt[r]) {
          if (n <= last) {
            latencies.push(t - t0);
            sentAt[r].delete(n);
          }
        }
      }),
    );
  });

  const heapBeforeMB = heapMB();
  const started = performance.now();
  const segmentsEach = Math.floor(options.seconds / SEGMENT_SECONDS);
  let sent = 0;
  await Promise.all(
    sockets.map(async (socket, r) => {
      // Staggered across one segment duration, as independent encoders would be.
      const offset = (r * SEGMENT_SECONDS * 1000) / renditions;
      for (let n = 1; n <= segmentsEach; n++) {
        const due = started + offset + (n - 1) * SEGMENT_SECONDS * 1000;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        const name = segmentFileName(`r${r}`, n);
        await link(source, path.join(dir, name));
        const line = formatMessage({
          index: `r${r}.m3u8`, outputDirectory: dir, segmentDuration: SEGMENT_SECONDS, outputPrefix: `r${r}`,
          httpPrefix: '', firstSegment: 1, lastSegment: n, end: n === segmentsEach,
          bucketName: BUCKET, keyPrefix: `live/r${r}`, ext: { duration: SEGMENT_SECONDS },
        });
        sentAt[r].set(n, performance.now());
        socket.write(frameMessage(line));
        sent++;
      }
    }),
  );
  const sendingMs = performance.now() - started;
  // The last lines may still be in flight on their sockets.
  while (service.uploader.stats.messages < sent) await sleep(5);
  await service.uploader.onIdle();
  const drainedMs = performance.now() - started;
  await Promise.all(checks);
  const stats = service.uploader.stats;
  for (const s of sockets) s.destroy();
  await service.close();
  const heapAfterMB = heapMB();
  const rssAfterMB = process.memoryUsage().rss / 2 ** 20;
  await stopChildStore(store);
  await rm(dir, { recursive: true, force: true });
  if (stats.segmentsStored !== sent) throw new Error(`stored ${stats.segmentsStored} of ${sent} segments`);
  const sorted = latencies.sort((a, b) => a - b);
  return {
    renditions,
    sent,
    measured: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? NaN,
    storedP50: percentile(storedLatencies.sort((a, b) => a - b), 50),
    storedP99: percentile(storedLatencies, 99),
    getP99: percentile(getLatencies.sort((a, b) => a - b), 99),
    offeredMBps: (renditions * SEGMENT_BYTES) / SEGMENT_SECONDS / 1e6,
    achievedMBps: (sent * SEGMENT_BYTES) / (Math.max(drainedMs, sendingMs) / 1000) / 1e6,
    heapBeforeMB,
    heapAfterMB,
    rssAfterMB,
  };
}

// ---------------------------------------------------------------------------------------------
// Saturation: the same objects through a bare PutObject loop and through the uploader.

/** CPU time this process spent in the last saturation run (user + system), ms. */
let lastCpuMs = 0;
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

const PLAYLIST_TEXT = '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n' +
  '#EXT-X-INDEPENDENT-SEGMENTS\n' + '#EXTINF:2.000,\nr0-00001.ts\n'.repeat(5);

async function bareLoop(count: number, options: Options, body: Buffer, root: string): Promise<number> {
  const store = await startChildStore(path.join(root, 'store-bare'), BUCKET);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const client = new S3Client({
    endpoint: store.endpoint, region: EMBEDDED_REGION, forcePathStyle: true, credentials: EMBEDDED_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED', maxAttempts: 1, requestHandler: { httpAgent: agent },
  });
  let next = 0;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      for (let i = next++; i < count; i = next++) {
        await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `live/s${i}/s${i}-00001.ts`, Body: body, ContentType: 'video/MP2T', ACL: 'public-read' }));
        await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `live/s${i}/s${i}.m3u8`, Body: PLAYLIST_TEXT, ContentType: 'application/vnd.apple.mpegurl', ACL: 'public-read' }));
      }
    }),
  );
  const elapsed = performance.now() - started;
  lastCpuMs = cpuMs(process.cpuUsage(cpu0));
  client.destroy();
  agent.destroy();
  await stopChildStore(store);
  return elapsed;
}

/** `count` streams, one message each (so no playlist PUT is coalesced: the same PUTs as the bare loop). */
async function uploaderBurst(count: number, options: Options, source: string, root: string): Promise<number> {
  const store = await startChildStore(path.join(root, 'store-burst'), BUCKET);
  const service = await startUploader(store.endpoint, options.concurrency);
  const dir = path.join(root, 'segments-burst');
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < count; i++) await link(source, path.join(dir, segmentFileName(`s${i}`, 1)));
  const socket = await connect(service.address.port);
  const lines = Array.from({ length: count }, (_, i) =>
    frameMessage(formatMessage({
      index: `s${i}.m3u8`, outputDirectory: dir, segmentDuration: SEGMENT_SECONDS, outputPrefix: `s${i}`,
      httpPrefix: '', firstSegment: 1, lastSegment: 1, end: false, bucketName: BUCKET, keyPrefix: `live/s${i}`, ext: {},
    })),
  ).join('');
  let stored = 0;
  const done = new Promise<void>((resolve) => service.uploader.on('playlist-stored', () => ++stored === count && resolve()));
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  socket.write(lines);
  await done;
  const elapsed = performance.now() - started;
  lastCpuMs = cpuMs(process.cpuUsage(cpu0));
  socket.destroy();
  await service.close();
  await stopChildStore(store);
  await rm(dir, { recursive: true, force: true });
  return elapsed;
}

// ---------------------------------------------------------------------------------------------

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '—');

async function main(): Promise<void> {
  // The SDK's notice about future Node versions would only clutter the figures.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const options = parseOptions(process.argv.slice(2));
  // The store's files in memory when the machine has a tmpfs: S3 does not write to this disk, and
  // s3rver's disk writes would otherwise measure the local disk's writeback rather than the uploader.
  const base = existsSync('/dev/shm') && !process.argv.includes('--on-disk') ? '/dev/shm' : os.tmpdir();
  const root = await mkdtemp(path.join(base, 'hlsrelay-bench-uploader-'));
  const source = path.join(root, 'segment.ts');
  await writeFile(source, randomBytes(SEGMENT_BYTES));
  const rssStart = process.memoryUsage().rss / 2 ** 20;
  const heapStart = heapMB();
  console.log(`hlsrelay uploader benchmark — ${os.cpus().length} cores, Node ${process.version}, s3rver in a child process`);
  console.log(`${SEGMENT_BYTES / 1024} KB segment every ${SEGMENT_SECONDS} s per rendition, ${options.seconds} s per step, concurrency ${options.concurrency}, window 5`);
  console.log(`store and segment files under ${base}`);
  console.log(`memory at start: rss ${fmt(rssStart)} MB, heap ${fmt(heapStart, 1)} MB\n`);

  try {
    const body = randomBytes(SEGMENT_BYTES);
    // Alternated and best of two each: the machine is shared, and a busy moment should not
    // decide the ratio.
    let bareMs = Infinity;
    let burstMs = Infinity;
    let bareCpu = 0;
    let burstCpu = 0;
    for (let round = 0; round < 2; round++) {
      const b = await bareLoop(options.burst, options, body, root);
      if (b < bareMs) [bareMs, bareCpu] = [b, lastCpuMs];
      const u = await uploaderBurst(options.burst, options, source, root);
      if (u < burstMs) [burstMs, burstCpu] = [u, lastCpuMs];
    }
    const bareRate = options.burst / (bareMs / 1000);
    const upRate = options.burst / (burstMs / 1000);
    console.log('Throughput at saturation, best of 2 alternated runs (each message = one 600 KB segment PUT + one playlist PUT):');
    console.log(`  bare PutObject loop : ${options.burst} pairs in ${fmt(bareMs)} ms = ${fmt(bareRate, 1)} segments/s (${fmt((bareRate * SEGMENT_BYTES) / 1e6, 1)} MB/s)  [ceiling]`);
    console.log(`  uploader (TCP in)   : ${options.burst} messages in ${fmt(burstMs)} ms = ${fmt(upRate, 1)} segments/s (${fmt((upRate * SEGMENT_BYTES) / 1e6, 1)} MB/s)`);
    console.log(`  uploader / ceiling  : ${fmt((100 * upRate) / bareRate, 1)} %`);
    console.log(`  client CPU per message: bare ${fmt(bareCpu / options.burst, 2)} ms, uploader ${fmt(burstCpu / options.burst, 2)} ms (this process; the store has its own)`);
    console.log(`  renditions the ceiling could carry at 1 segment / 2 s: ~${fmt(bareRate * SEGMENT_SECONDS)}\n`);

    const results: StepResult[] = [];
    for (const n of options.counts) {
      const r = await liveStep(n, options, source, root);
      results.push(r);
      console.log(
        `  … ${n} renditions: p50 ${fmt(r.p50, 1)} ms, p99 ${fmt(r.p99, 1)} ms ` +
          `(arrival → playlist stored p50 ${fmt(r.storedP50, 1)} / p99 ${fmt(r.storedP99, 1)} ms; stored → GET sees it p99 ${fmt(r.getP99, 1)} ms)`,
      );
    }
    console.log('\nLive load (latency: message written → playlist GET lists the segment):');
    console.log('renditions | messages | p50 ms | p99 ms | max ms | offered MB/s | achieved MB/s | heap before→after MB | rss MB');
    console.log('---------- | -------- | ------ | ------ | ------ | ------------ | ------------- | -------------------- | ------');
    for (const r of results) {
      console.log(
        `${String(r.renditions).padStart(10)} | ${String(r.sent).padStart(8)} | ${fmt(r.p50, 1).padStart(6)} | ${fmt(r.p99, 1).padStart(6)} | ` +
          `${fmt(r.max, 0).padStart(6)} | ${fmt(r.offeredMBps, 1).padStart(12)} | ${fmt(r.achievedMBps, 1).padStart(13)} | ` +
          `${`${fmt(r.heapBeforeMB, 1)} → ${fmt(r.heapAfterMB, 1)}`.padStart(20)} | ${fmt(r.rssAfterMB).padStart(6)}`,
      );
      if (r.measured !== r.sent) console.log(`  (measured ${r.measured} of ${r.sent})`);
    }
    const kneeAt = results.findIndex((r) => r.p99 > 1000);
    const below = kneeAt > 0 ? results[kneeAt - 1].renditions : undefined;
    console.log(
      `\nknee (p99 passes 1 s): ${
        kneeAt < 0 ? `not reached up to ${options.counts.at(-1)}` : `between ${below ?? 0} and ${results[kneeAt].renditions} renditions`
      }`,
    );
    console.log(`memory at end: rss ${fmt(process.memoryUsage().rss / 2 ** 20)} MB, heap ${fmt(heapMB(), 1)} MB (start ${fmt(heapStart, 1)} MB)`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

// The latency-store variant is the default; `--store s3rver` runs the one above.
const s3rver = process.argv.includes('--store') && process.argv[process.argv.indexOf('--store') + 1] === 's3rver';
(s3rver ? main() : latencyMain(process.argv.slice(2))).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
