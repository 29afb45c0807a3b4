/**
 * `--encrypt aes-128 --encrypt-streams requested` with real processes: ffmpeg → segmenter
 * `--encrypt aes-128` (the stream asks for it) → uploader (its bin) → a recording proxy → s3rver. Stored segments are useless without their key and decode with it, ffmpeg plays
 * the encrypted playlist from the store (fetching the keys by URI), rotation gives the EXT-X-KEY
 * lines and distinct keys it should, key objects go private and uncached, and no log line holds
 * a key.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startEmbeddedStore, type EmbeddedStore } from '@hlsrelay/embedded-store';
import { FFMPEG } from '../support/ffmpeg';
import { decrypt, keyedSegments, keyLines } from '../support/hls-keys';
import { RecordingProxy } from '../support/recording-proxy';
import { tempDir } from '../support/temp-dir';
import { until } from '../support/until';
import { getObject } from '../support/uploader-rig';
import { startUploader, type UploaderProcess } from '../support/uploader-process';
import { fetched, frameLines, keyBytesIn, segmentTestPicture } from './encryption-rig';

/** Video frames ffmpeg decodes from a file; 0 when it cannot read it. */
function decodedFrames(input: string): { frames: number; stderr: string } {
  const r = spawnSync(FFMPEG, ['-v', 'error', '-nostdin', '-i', input, '-map', '0:v', '-f', 'framemd5', '-'], { encoding: 'utf8', timeout: 60_000 });
  return { frames: r.status === 0 ? frameLines(r.stdout) : 0, stderr: r.stderr };
}

/** The same from a URL served by this process (the store): ffmpeg runs alongside, not blocking it. */
function playedFrames(url: string): Promise<{ frames: number; stderr: string }> {
  const ff = spawn(FFMPEG, ['-v', 'warning', '-nostdin', '-i', url, '-map', '0:v', '-f', 'framemd5', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  ff.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  ff.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => ff.once('close', (code) => resolve({ frames: code === 0 ? frameLines(stdout) : 0, stderr })));
}

describe('AES-128 encrypted MPEG-TS from ffmpeg to the store', { timeout: 180_000 }, () => {
  let dir: string;
  let store: EmbeddedStore;
  let proxy: RecordingProxy;
  let up: UploaderProcess;
  let httpPrefix: string;
  let keyPrefix: string;
  const out = () => path.join(dir, 'segments');

  before(async () => {
    dir = tempDir('encryption-ts');
    store = await startEmbeddedStore({ directory: path.join(dir, 'store'), buckets: ['mybucket'] });
    proxy = await RecordingProxy.start(Number(new URL(store.endpoint).port));
    httpPrefix = store.url('mybucket', 'live/');
    keyPrefix = store.url('mybucket', 'live/keys/');
    up = await startUploader([
      '--s3-endpoint', proxy.endpoint, '--s3-path-style', '--acl', 'public-read', '--retry-max-delay', '0.5',
      '--state-dir', path.join(dir, 'state'), '--window', '100', '--keep-local', '--archive', '',
      // Only the streams whose segmenter asks (segmenter --encrypt aes-128): this one does.
      '--encrypt', 'aes-128', '--encrypt-streams', 'requested', '--key-rotation', '3', '--key-uri-prefix', keyPrefix,
    ]);
    await segmentTestPicture({ out: out(), name: 'enc', httpPrefix, port: up.port, seconds: 8, format: 'ts', extra: ['--encrypt', 'aes-128'] });
    await until(async () => /#EXT-X-ENDLIST/.test(await text('enc.m3u8')), 30_000, 'the playlist ends');
  });

  after(async () => {
    await up?.stop();
    await proxy?.close();
    await store?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function text(name: string): Promise<string> {
    return (await getObject(store, 'mybucket', `live/${name}`)).body.toString();
  }

  test('every stored segment is useless without its key and is the segment, decodable, with it', async () => {
    const listed = keyedSegments(await text('enc.m3u8'));
    assert.ok(listed.length >= 6, `${listed.length} segments`);
    for (const s of listed) {
      assert.ok(s.keyUri, `${s.uri} is listed under a key`);
      const stored = await fetched(s.uri);
      const local = fs.readFileSync(path.join(out(), path.basename(s.uri)));
      assert.notEqual(stored[0], 0x47, `${s.uri} does not start with a TS sync byte`);
      const raw = path.join(dir, 'raw.ts');
      fs.writeFileSync(raw, stored);
      assert.equal(decodedFrames(raw).frames, 0, `${s.uri} decodes to nothing without its key`);
      const clear = decrypt(stored, await fetched(s.keyUri!), s.iv!);
      assert.deepEqual(clear, local, `${s.uri} decrypts to the segment the segmenter wrote`);
      fs.writeFileSync(raw, clear);
      assert.ok(decodedFrames(raw).frames > 0, `${s.uri} decodes once decrypted`);
    }
  });

  test('ffmpeg as an HLS client plays the encrypted playlist from the store, fetching the keys by URI', async () => {
    const local = fs.readdirSync(out()).filter((f) => f.endsWith('.ts')).map((f) => decodedFrames(path.join(out(), f)).frames);
    const expected = local.reduce((a, b) => a + b, 0);
    const played = await playedFrames(httpPrefix + 'enc.m3u8');
    assert.equal(played.frames, expected, `every frame played: ${played.stderr}`);
    const keyGets = proxy.requests.filter((r) => r.method === 'GET' && r.path.includes('/keys/'));
    // ffmpeg went to the store directly; the proxy only saw the uploader.
    assert.deepEqual(keyGets, []);
  });

  test('rotation every 3 segments: an EXT-X-KEY before segments 0, 3, 6…, without IV (the media sequence is the IV), distinct keys', async () => {
    const playlist = await text('enc.m3u8');
    const listed = keyedSegments(playlist);
    const lines = keyLines(playlist);
    assert.equal(lines.length, Math.ceil(listed.length / 3), lines.join('\n'));
    for (const l of lines) assert.match(l, new RegExp(`^#EXT-X-KEY:METHOD=AES-128,URI="${keyPrefix.replace(/[.]/g, '\\.')}enc-[0-9a-f]{8}-\\d{5}\\.key"$`));
    listed.forEach((s, i) => assert.equal(s.keyUri, listed[i - (i % 3)].keyUri, `${s.uri} is under the key of segment ${i - (i % 3)}`));
    const keys = await Promise.all(lines.map((l) => fetched(/URI="([^"]+)"/.exec(l)![1])));
    for (const k of keys) assert.equal(k.length, 16);
    assert.equal(new Set(keys.map((k) => k.toString('hex'))).size, keys.length, 'every key is another');
    // The archive names every key change too.
    assert.deepEqual(keyLines(await text('enc-archive.m3u8')), lines);
  });

  test('key objects as sent: no public-read ACL (segments have it), Cache-Control private, no-store, application/octet-stream', () => {
    const keyPuts = proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes('/live/keys/'));
    const segmentPuts = proxy.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('.ts'));
    assert.ok(keyPuts.length >= 2, `${keyPuts.length} key PUTs`);
    for (const r of keyPuts) {
      assert.equal(r.headers['x-amz-acl'], undefined, `${r.path}: no ACL header`);
      assert.equal(r.headers['cache-control'], 'private, no-store', r.path);
      assert.equal(r.headers['content-type'], 'application/octet-stream', r.path);
      assert.equal(r.headers['content-length'], '16', r.path);
    }
    assert.ok(segmentPuts.length > 0 && segmentPuts.every((r) => r.headers['x-amz-acl'] === 'public-read'), 'segments keep --acl public-read');
    // Each key stored before the first playlist that names it.
    const order = proxy.storedPuts();
    for (const k of keyPuts) {
      const name = path.basename(k.path);
      const firstNaming = proxy.requests.findIndex((r) => r.body?.includes(name));
      assert.ok(firstNaming > proxy.requests.indexOf(k), `${name} stored before a playlist names it`);
    }
    assert.ok(order.length > 0);
  });

  test('no key bytes in any log line (hex or base64 of every key)', async () => {
    const keys = await Promise.all(keyLines(await text('enc.m3u8')).map((l) => fetched(/URI="([^"]+)"/.exec(l)![1])));
    const log = up.stderr();
    assert.match(log, /content key stored/);
    assert.deepEqual(keyBytesIn(log, keys), []);
    const stateKeys = fs.readdirSync(path.join(dir, 'state', 'keys'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    for (const e of stateKeys) assert.equal(fs.statSync(path.join(e.parentPath, e.name)).mode & 0o777, 0o600, `${e.name} is 0600`);
  });
});
