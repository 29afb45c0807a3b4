/**
 * `npm run bench:encryption` — what `--encrypt aes-128` costs the uploader: CPU per segment with
 * and without encryption, in the same run, on the same store and segments.
 *
 * `--streams` streams (default 20) each send `--segments` messages (default 25) of a 600 KB
 * segment, all written at once on one connection to an in-process uploader (journal in a state
 * directory in both modes: encryption needs one); s3rver runs in a child process (its own core).
 * CPU is this process's (user + system) from the first message written until every stream's last
 * playlist is stored. Clear and encrypted runs alternate, best of `--rounds` (default 3) each: the
 * machine is shared, and a busy moment should not decide the ratio.
 *
 * The floor: in the same rounds, a bare createCipheriv / update / final loop over the same
 * segment bytes, as many times as there are segments — what AES-128-CBC itself costs on this
 * CPU, which no uploader change can remove. What encryption adds beyond it is the uploader's.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { EMBEDDED_CREDENTIALS, EMBEDDED_REGION } from '@hlsrelay/embedded-store';
import { silentLogger } from '@hlsrelay/log';
import { formatMessage, frameMessage, segmentFileName } from '@hlsrelay/protocol';
import { S3Target, startUploaderService, type PlaylistStored } from '@hlsrelay/uploader';
import { startChildStore, stopChildStore } from './bench/child-store';

const SEGMENT_BYTES = 600 * 1024;
const BUCKET = 'bench';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a whole number ≥ 1, got ${process.argv[i + 1]}`);
  return value;
}

/** One run: CPU ms of this process and wall ms for every message of every stream. */
async function run(root: string, source: string, streams: number, segments: number, encrypt: boolean): Promise<{ cpuMs: number; wallMs: number }> {
  const dir = await mkdtemp(path.join(root, encrypt ? 'encrypted-' : 'clear-'));
  const store = await startChildStore(path.join(dir, 'store'), BUCKET);
  const segmentsDir = path.join(dir, 'segments');
  await mkdir(segmentsDir, { recursive: true });
  for (let s = 0; s < streams; s++) for (let n = 1; n <= segments; n++) await link(source, path.join(segmentsDir, segmentFileName(`s${s}`, n)));
  const service = await startUploaderService({
    target: new S3Target({ acl: 'public-read', endpoint: store.endpoint, region: EMBEDDED_REGION, forcePathStyle: true, maxSockets: 64, clientConfig: { credentials: EMBEDDED_CREDENTIALS } }),
    logger: silentLogger(),
    host: '127.0.0.1',
    port: 0,
    concurrency: 64,
    window: 5,
    stateDir: path.join(dir, 'state'),
    limits: { messagesPerSecond: 1e9, messageBurst: 1e9 },
    ...(encrypt ? { encryption: { method: 'aes-128' as const, keyUriPrefix: 'https://keys.example/' } } : {}),
  });
  const lines: string[] = [];
  for (let n = 1; n <= segments; n++) {
    for (let s = 0; s < streams; s++) {
      lines.push(frameMessage(formatMessage({
        index: `s${s}.m3u8`, outputDirectory: segmentsDir, segmentDuration: 2, outputPrefix: `s${s}`, httpPrefix: '',
        firstSegment: 1, lastSegment: n, end: n === segments, bucketName: BUCKET, keyPrefix: `live/s${s}`, ext: {},
      })));
    }
  }
  let ended = 0;
  const done = new Promise<void>((resolve) => service.uploader.on('playlist-stored', (e: PlaylistStored) => e.ended && ++ended === streams && resolve()));
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(service.address.port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  socket.write(lines.join(''));
  await done;
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  socket.destroy();
  await service.close();
  await stopChildStore(store);
  await rm(dir, { recursive: true, force: true });
  return { cpuMs: (cpu.user + cpu.system) / 1000, wallMs };
}

/** The cipher alone: CPU ms of encrypting `bytes` `count` times, each with its own key and IV as the uploader's segments have. */
function cipherOnly(bytes: Buffer, count: number): { cpuMs: number; wallMs: number } {
  const key = randomBytes(16);
  const iv = randomBytes(16);
  let sink = 0;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const cipher = createCipheriv('aes-128-cbc', key, iv);
    sink += cipher.update(bytes).length + cipher.final().length;
  }
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  if (sink !== count * (bytes.length - (bytes.length % 16) + 16)) throw new Error(`cipher output ${sink} bytes, expected whole padded segments`);
  return { cpuMs: (cpu.user + cpu.system) / 1000, wallMs };
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const streams = option('streams', 20);
  const segments = option('segments', 25);
  const rounds = option('rounds', 3);
  const base = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const root = await mkdtemp(path.join(base, 'hlsrelay-bench-encryption-'));
  const source = path.join(root, 'segment.ts');
  await writeFile(source, randomBytes(SEGMENT_BYTES));
  const count = streams * segments;
  console.log(`hlsrelay encryption benchmark — ${os.cpus().length} cores, Node ${process.version}; ${streams} streams × ${segments} segments of ${SEGMENT_BYTES / 1024} KB, best of ${rounds} alternated rounds (clear, encrypted, cipher only)`);
  try {
    const bytes = await readFile(source);
    const best = { clear: { cpuMs: Infinity, wallMs: Infinity }, encrypted: { cpuMs: Infinity, wallMs: Infinity }, cipher: { cpuMs: Infinity, wallMs: Infinity } };
    for (let r = 0; r < rounds; r++) {
      for (const mode of ['clear', 'encrypted', 'cipher'] as const) {
        const got = mode === 'cipher' ? cipherOnly(bytes, count) : await run(root, source, streams, segments, mode === 'encrypted');
        if (got.cpuMs < best[mode].cpuMs) best[mode] = got;
        const rate = mode === 'cipher' ? `${((count * bytes.length) / (got.wallMs / 1000) / 1e9).toFixed(2)} GB/s` : `${(count / (got.wallMs / 1000)).toFixed(1)} segments/s`;
        console.log(`  round ${r + 1} ${(mode === 'cipher' ? 'cipher only' : mode).padEnd(11)}: CPU ${(got.cpuMs / count).toFixed(3)} ms / segment, ${rate}`);
      }
    }
    const clear = best.clear.cpuMs / count;
    const encrypted = best.encrypted.cpuMs / count;
    const cipher = best.cipher.cpuMs / count;
    const pct = (x: number) => `${x >= 0 ? '+' : ''}${((100 * x) / clear).toFixed(1)} %`;
    console.log(`uploader CPU per segment (best of ${rounds}): clear ${clear.toFixed(3)} ms [baseline], --encrypt aes-128 ${encrypted.toFixed(3)} ms, cipher only ${cipher.toFixed(3)} ms [floor]`);
    console.log(`  encryption adds ${(encrypted - clear).toFixed(3)} ms = ${pct(encrypted - clear)} of clear; the cipher alone is ${pct(cipher)}; beyond the cipher ${(encrypted - clear - cipher).toFixed(3)} ms = ${pct(encrypted - clear - cipher)}`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
