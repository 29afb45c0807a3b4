/**
 * Transcode machines that share no disk with the uploader (`segmenter --ship-bytes`): two real
 * segmenter processes cut ffmpeg's output into output directories the uploader cannot read —
 * relative paths that mean nothing on its side, outside its --allow-dir — and ship the bytes on
 * their connections to the real uploader process, which stores into s3rver. Also: the uploader's
 * memory while a large payload streams in, a kill -9 of the uploader with shipped bytes
 * acknowledged and another payload half received, and a segmenter whose uploader takes no bytes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startEmbeddedStore, type EmbeddedStore } from '@hlsrelay/embedded-store';
import { silentLogger } from '@hlsrelay/log';
import { formatMessage, formatPayloadCommand, frameMessage, MessageDecoder, segmentFileName } from '@hlsrelay/protocol';
import { readSpool } from '@hlsrelay/segmenter';
import { FileTarget, payloadSpoolDir, startUploaderService } from '@hlsrelay/uploader';
import { until } from '../support/until';
import { getObject, listedUris } from '../support/uploader-rig';
import { startUploader, type UploaderProcess } from '../support/uploader-process';
import { parseM3u8 } from '../support/m3u8';
import { tempDir } from '../support/temp-dir';
import { testSourceFile, FFMPEG } from '../support/ffmpeg';
import { SEGMENTER_BIN } from '../support/paths';
import { FIXTURES } from '../support/paths';

const SEGMENT_SECONDS = 2;

interface Run {
  code: number | null;
  stderr: string;
}

/** The real segmenter on a "machine": its own working directory, so `out` is relative to it alone. */
function runSegmenter(cwd: string, args: string[]): Promise<Run> {
  const child = spawn(process.execPath, [SEGMENTER_BIN, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

/** Resident set size of a process, bytes (Linux /proc). */
function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/** A raw session on the uploader's port: hello sent, answers collected. */
async function session(port: number): Promise<{ socket: net.Socket; lines: string[] }> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  socket.on('error', () => {});
  const decoder = new MessageDecoder();
  const lines: string[] = [];
  socket.on('data', (c: Buffer) => lines.push(...decoder.push(c)));
  await until(() => lines.length > 0);
  socket.write('HLSRELAY 1\n');
  return { socket, lines };
}

/** Answer `n` (1-based) of a session made by session(): line n after the greeting. */
async function answer(s: { lines: string[] }, n: number): Promise<string> {
  await until(() => s.lines.length > n);
  return s.lines[n];
}

/** Files in the uploader's payload spool, temporaries included. */
function spooled(stateDir: string): Array<{ name: string; size: number }> {
  const dir = payloadSpoolDir(stateDir);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => ({ name: e.name, size: fs.statSync(path.join(e.parentPath, e.name)).size }));
}

const storeArgs = (store: EmbeddedStore) => ['--s3-endpoint', store.endpoint, '--s3-path-style', '--acl', 'none', '--retry-max-delay', '0.5'];

describe('segmenters on machines without a shared disk ship their segment bytes', { timeout: 240_000 }, () => {
  let dir: string;
  let store: EmbeddedStore;
  let stateDir: string;
  let up: UploaderProcess;
  let runs: Run[];
  const machines = ['east', 'west'];

  before(async () => {
    dir = tempDir('ship-bytes');
    stateDir = path.join(dir, 'state');
    const allowed = path.join(dir, 'uploader-reads-only-here');
    fs.mkdirSync(allowed);
    store = await startEmbeddedStore({ directory: path.join(dir, 'store'), buckets: ['mybucket'] });
    up = await startUploader(['--state-dir', stateDir, '--allow-dir', allowed, '--window', '100', ...storeArgs(store)]);
    const source = path.join(dir, 'source.ts');
    await testSourceFile(source, 9);
    runs = await Promise.all(
      machines.map((m) => {
        const cwd = path.join(dir, m);
        fs.mkdirSync(cwd);
        return runSegmenter(cwd, [
          source, String(SEGMENT_SECONDS), 'out', m, `${m}.m3u8`, 'https://cdn.example/live/', 'mybucket', 'live',
          '--uploader', `127.0.0.1:${up.port}`, '--ship-bytes', '--keep-local', '--spool-dir', 'spool', '--log-json', '--drain-timeout', '30',
        ]);
      }),
    );
  });

  after(async () => {
    await up?.stop();
    await store?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the uploader could not read the segmenters\' directories itself', async () => {
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const s = await session(up.port);
    assert.match(s.lines[0], /\bpayload\b/);
    const first = fs.readdirSync(path.join(dir, 'east', 'out')).sort()[0];
    // Without bytes, a message naming the segmenter's own directory is refused at once.
    s.socket.write(frameMessage(formatMessage({
      index: 'east.m3u8', outputDirectory: path.join(dir, 'east', 'out'), segmentDuration: 2, outputPrefix: 'east',
      httpPrefix: 'https://cdn.example/live/', firstSegment: 1, lastSegment: Number(/(\d+)\.ts$/.exec(first)![1]), end: false,
      bucketName: 'mybucket', keyPrefix: 'live', ext: {},
    })));
    assert.match(await answer(s, 1), /^ERR 1 .*outside/);
    s.socket.destroy();
  });

  test('every segment is stored byte-identical and each playlist lists them all in order, ended', async () => {
    let total = 0;
    for (const m of machines) {
      const out = path.join(dir, m, 'out');
      const files = fs.readdirSync(out).filter((f) => f.endsWith('.ts')).sort();
      assert.ok(files.length >= 4, `${m}: ${files.length} segments`);
      await until(async () => /#EXT-X-ENDLIST/.test((await getObject(store, 'mybucket', `live/${m}.m3u8`)).body.toString()));
      const playlist = (await getObject(store, 'mybucket', `live/${m}.m3u8`)).body.toString();
      assert.deepEqual(listedUris(playlist).map((u) => path.basename(u)), files, `${m}.m3u8 lists every segment in order`);
      for (const f of files) {
        const object = await getObject(store, 'mybucket', `live/${f}`);
        assert.equal(object.status, 200, f);
        assert.ok(object.body.equals(fs.readFileSync(path.join(out, f))), `${f} stored byte-identical`);
        total += 1;
      }
      assert.deepEqual(readSpool(path.join(dir, m, 'spool')).pending, [], `${m}: every message acknowledged`);
    }
    process.stdout.write(`# ${total} segments shipped from 2 segmenters, stored byte-identical\n`);
    await until(() => spooled(stateDir).length === 0);
    assert.equal(up.lines.filter((l) => l.message === 'message refused').length, 1, 'only the probe above was refused');
  });

  test('without --keep-local, each segment file is removed once acknowledged: none is left, every one is stored', async () => {
    const cwd = path.join(dir, 'north');
    fs.mkdirSync(cwd);
    const run = await runSegmenter(cwd, [
      path.join(dir, 'source.ts'), String(SEGMENT_SECONDS), 'out', 'north', 'north.m3u8', 'https://cdn.example/live/', 'mybucket', 'live',
      '--uploader', `127.0.0.1:${up.port}`, '--ship-bytes', '--spool-dir', 'spool', '--log-json', '--drain-timeout', '30',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(fs.readdirSync(path.join(cwd, 'out')).filter((f) => f.endsWith('.ts')), [], 'no segment file left behind');
    await until(async () => /#EXT-X-ENDLIST/.test((await getObject(store, 'mybucket', 'live/north.m3u8')).body.toString()));
    const listed = listedUris((await getObject(store, 'mybucket', 'live/north.m3u8')).body.toString()).map((u) => path.basename(u));
    assert.ok(listed.length >= 4, `${listed.length} segments listed`);
    for (const f of listed) assert.equal((await getObject(store, 'mybucket', `live/${f}`)).status, 200, f);
    assert.deepEqual(readSpool(path.join(cwd, 'spool')).pending, [], 'every message acknowledged');
  });

  test('segmenter ladder --ship-bytes: every rendition stored byte-identical from a machine of its own, the master lists them', async () => {
    const cwd = path.join(dir, 'ladder-machine');
    fs.mkdirSync(cwd);
    fs.writeFileSync(path.join(cwd, 'ladder.json'), JSON.stringify({
      fps: 25,
      preset: 'veryfast',
      profiles: [
        { name: '270p', resolution: '480x270', videoBitrate: '500k', audioBitrate: '64k' },
        { name: '180p', resolution: '320x180', videoBitrate: '250k', audioBitrate: '64k' },
      ],
    }));
    const run = await runSegmenter(cwd, [
      'ladder', path.join(dir, 'source.ts'), String(SEGMENT_SECONDS), 'out', 'lad', 'https://cdn.example/live/', 'mybucket', 'live',
      '--config', 'ladder.json', '--ffmpeg', FFMPEG, '--uploader', `127.0.0.1:${up.port}`, '--ship-bytes', '--keep-local', '--spool-dir', 'spool',
      '--log-json', '--drain-timeout', '30',
    ]);
    assert.equal(run.code, 0, run.stderr);
    for (const p of ['270p', '180p']) {
      await until(async () => /#EXT-X-ENDLIST/.test((await getObject(store, 'mybucket', `live/lad-${p}.m3u8`)).body.toString()));
      const files = fs.readdirSync(path.join(cwd, 'out')).filter((f) => f.startsWith(`lad-${p}-`)).sort();
      assert.ok(files.length >= 4, `${p}: ${files.length} segments`);
      for (const f of files) {
        assert.ok((await getObject(store, 'mybucket', `live/${f}`)).body.equals(fs.readFileSync(path.join(cwd, 'out', f))), `${f} byte-identical`);
      }
      assert.deepEqual(readSpool(path.join(cwd, 'spool', p)).pending, [], `${p}: every message acknowledged`);
    }
    await until(async () => (parseM3u8((await getObject(store, 'mybucket', 'live/lad.m3u8')).body.toString()).playlists ?? []).length === 2);
  });

  test('the uploader\'s memory stays bounded while a 192 MB payload streams in', async () => {
    const size = 192 * 1024 * 1024;
    const before = rss(up.child.pid!);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rss(up.child.pid!))), 10);
    try {
      const s = await session(up.port);
      s.socket.write(frameMessage(formatPayloadCommand(size)));
      const chunk = randomBytes(1024 * 1024);
      for (let sent = 0; sent < size; sent += chunk.length) {
        if (!s.socket.write(chunk)) await new Promise((r) => s.socket.once('drain', r));
      }
      assert.equal(await answer(s, 1), 'OK 1', 'the whole payload is on disk');
      assert.deepEqual(spooled(stateDir).map((f) => f.size), [size]);
      s.socket.destroy();
      await until(() => spooled(stateDir).length === 0);
    } finally {
      clearInterval(sampler);
    }
    const growth = peak - before;
    process.stdout.write(`# uploader RSS ${(before / 2 ** 20).toFixed(0)} MB before, peak ${(peak / 2 ** 20).toFixed(0)} MB while receiving ${size / 2 ** 20} MB (growth ${(growth / 2 ** 20).toFixed(1)} MB)\n`);
    // Holding the payload would add the whole 192 MB; what it does add is socket chunks waiting for the garbage collector.
    assert.ok(growth < size / 2, `RSS grew by ${(growth / 2 ** 20).toFixed(1)} MB receiving ${size / 2 ** 20} MB`);
  });
});

test('uploader killed (-9) with shipped bytes acknowledged and another payload half in: after a restart the acknowledged segment is stored, nothing is left', { timeout: 120_000 }, async () => {
  const dir = tempDir('ship-bytes-kill');
  const stateDir = path.join(dir, 'state');
  let store = await startEmbeddedStore({ directory: path.join(dir, 'store'), buckets: ['mybucket'] });
  const port = store.port;
  let up = await startUploader(['--state-dir', stateDir, ...storeArgs(store)]);
  try {
    // The store is away: the acknowledged message can only wait in the journal, its bytes in the spool.
    await store.close();
    const bytes = randomBytes(300_000);
    const m = formatMessage({
      index: 'k.m3u8', outputDirectory: 'out', segmentDuration: 2, outputPrefix: 'k', httpPrefix: 'https://cdn.example/live/',
      firstSegment: 1, lastSegment: 1, end: true, bucketName: 'mybucket', keyPrefix: 'live', ext: { duration: 2, size: bytes.length },
    });
    const s = await session(up.port);
    s.socket.write(frameMessage(formatPayloadCommand(bytes.length)));
    s.socket.write(bytes);
    s.socket.write(frameMessage(m));
    assert.equal(await answer(s, 1), 'OK 1');
    assert.equal(await answer(s, 2), 'OK 2');
    const cut = await session(up.port);
    cut.socket.write(frameMessage(formatPayloadCommand(10_000_000)));
    cut.socket.write(Buffer.alloc(100_000, 3));
    await until(() => spooled(stateDir).some((f) => f.name.startsWith('.incoming') && f.size === 100_000));
    up.child.kill('SIGKILL');
    await up.stop();
    s.socket.destroy();
    cut.socket.destroy();
    assert.equal(spooled(stateDir).length, 2, 'the kill left the acknowledged bytes and the partial payload');

    store = await startEmbeddedStore({ directory: path.join(dir, 'store'), buckets: ['mybucket'], port });
    up = await startUploader(['--state-dir', stateDir, ...storeArgs(store)]);
    await until(async () => /#EXT-X-ENDLIST/.test((await getObject(store, 'mybucket', 'live/k.m3u8')).body.toString()));
    assert.ok((await getObject(store, 'mybucket', `live/${segmentFileName('k', 1)}`)).body.equals(bytes), 'stored byte-identical after the restart');
    await until(() => spooled(stateDir).length === 0);
  } finally {
    await up.stop();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--ship-bytes against an uploader that takes no bytes: an error naming the option, every message kept in the spool', { timeout: 60_000 }, async () => {
  const dir = tempDir('ship-bytes-refused');
  const service = await startUploaderService({
    target: new FileTarget({ root: path.join(dir, 'www') }),
    logger: silentLogger(),
    host: '127.0.0.1',
    port: 0,
  });
  try {
    const cwd = path.join(dir, 'machine');
    fs.mkdirSync(cwd);
    const fixture = path.join(FIXTURES, 'h264-aac.m2ts');
    const run = await runSegmenter(cwd, [
      fixture, '1', 'out', 'x', 'x.m3u8', 'https://cdn.example/', 'mybucket', 'live',
      '--uploader', `127.0.0.1:${service.address.port}`, '--ship-bytes', '--spool-dir', 'spool', '--log-json', '--drain-timeout', '1',
    ]);
    const errors = run.stderr.split('\n').filter((l) => l.includes('"level":"error"'));
    assert.ok(errors.some((l) => l.includes('--ship-bytes') && l.includes('--state-dir')), run.stderr);
    const kept = readSpool(path.join(cwd, 'spool')).pending;
    const cut = fs.readdirSync(path.join(cwd, 'out')).filter((f) => f.endsWith('.ts'));
    assert.ok(cut.length >= 1);
    assert.equal(kept.length, cut.length, 'every segment\'s message waits in the spool for an uploader that takes bytes');
    assert.equal(service.uploader.stats.messages, 0, 'nothing was sent without its bytes');
  } finally {
    await service.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
