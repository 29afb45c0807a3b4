/**
 * `--encrypt aes-128` with `--format fmp4`, real processes: ffmpeg → segmenter --format fmp4 →
 * uploader (its bin) → s3rver. EXT-X-KEY (with its explicit IV) comes before EXT-X-MAP, so the
 * init is encrypted too; with rotation the init is stored once per key and mapped again after
 * each new key, so every window is self-contained. Debian's ffmpeg plays it over HTTP.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startEmbeddedStore, type EmbeddedStore } from '@hlsrelay/embedded-store';
import { FFMPEG } from '../support/ffmpeg';
import { decrypt, keyedSegments, keyLines } from '../support/hls-keys';
import { DEBIAN_FFMPEG, DEBIAN_FFMPEG_WHY, requireProgram } from '../support/system-programs';
import { tempDir } from '../support/temp-dir';
import { until } from '../support/until';
import { getObject } from '../support/uploader-rig';
import { startUploader, type UploaderProcess } from '../support/uploader-process';
import { fetched, frameLines, keyBytesIn, segmentTestPicture } from './encryption-rig';

describe('AES-128 encrypted fMP4 from ffmpeg to the store', { timeout: 180_000 }, () => {
  let dir: string;
  let store: EmbeddedStore;
  let up: UploaderProcess;
  let httpPrefix: string;
  const out = () => path.join(dir, 'segments');

  before(async () => {
    dir = tempDir('encryption-fmp4');
    store = await startEmbeddedStore({ directory: path.join(dir, 'store'), buckets: ['mybucket'] });
    httpPrefix = store.url('mybucket', 'live/');
    up = await startUploader([
      '--s3-endpoint', store.endpoint, '--s3-path-style', '--acl', 'none', '--retry-max-delay', '0.5',
      '--state-dir', path.join(dir, 'state'), '--window', '100', '--keep-local',
      '--encrypt', 'aes-128', '--key-rotation', '2', '--key-uri-prefix', store.url('mybucket', 'live/keys/'),
    ]);
    await segmentTestPicture({ out: out(), name: 'cam', httpPrefix, port: up.port, seconds: 6, format: 'fmp4' });
    await until(async () => /#EXT-X-ENDLIST/.test(await text()), 30_000, 'the playlist ends');
  });

  after(async () => {
    await up?.stop();
    await store?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const text = async () => (await getObject(store, 'mybucket', 'live/cam.m3u8')).body.toString();

  test('each EXT-X-KEY carries an explicit IV and is followed by the EXT-X-MAP of an init stored once per key', async () => {
    const playlist = await text();
    const lines = playlist.split('\n');
    const keys = keyLines(playlist);
    const listed = keyedSegments(playlist);
    assert.ok(listed.length >= 4, `${listed.length} segments`);
    assert.equal(keys.length, Math.ceil(listed.length / 2), keys.join('\n'));
    assert.match(playlist, /^#EXTM3U\n#EXT-X-VERSION:6\n/);
    for (const k of keys) {
      assert.match(k, /^#EXT-X-KEY:METHOD=AES-128,URI="[^"]+\/keys\/cam-[0-9a-f]{8}-\d{5}\.key",IV=0x[0-9a-f]{32}$/);
      assert.match(lines[lines.indexOf(k) + 1], /^#EXT-X-MAP:URI="[^"]+\.mp4"$/, `${k} is followed by its EXT-X-MAP`);
    }
    const maps = new Set(listed.map((s) => s.mapUri));
    assert.equal(maps.size, keys.length, 'one init object per key');
    const clearInit = fs.readFileSync(path.join(out(), 'cam-init.mp4'));
    for (const s of listed) {
      const key = await fetched(s.keyUri!);
      const init = await fetched(s.mapUri!);
      assert.notDeepEqual(init.subarray(4, 8), Buffer.from('ftyp'), `${s.mapUri} is not stored clear`);
      assert.deepEqual(decrypt(init, key, s.mapIv!), clearInit, `${s.mapUri} decrypts to the init`);
      const segment = decrypt(await fetched(s.uri), key, s.iv!);
      assert.deepEqual(segment, fs.readFileSync(path.join(out(), path.basename(s.uri))), `${s.uri} decrypts to the segment`);
      const joined = path.join(dir, 'joined.mp4');
      fs.writeFileSync(joined, Buffer.concat([clearInit, segment]));
      const r = spawnSync(FFMPEG, ['-v', 'error', '-i', joined, '-f', 'framemd5', '-'], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${s.uri}: ${r.stderr}`);
      assert.ok(frameLines(r.stdout) > 0, `${s.uri} decodes after its init`);
    }
    assert.deepEqual(keyBytesIn(up.stderr(), await Promise.all(keys.map((k) => fetched(/URI="([^"]+)"/.exec(k)![1])))), []);
  });

  test("Debian's ffmpeg as an HLS client plays the encrypted fMP4 playlist from the store", async (t) => {
    if (!requireProgram(t, DEBIAN_FFMPEG, DEBIAN_FFMPEG_WHY)) return;
    const ff = spawn(DEBIAN_FFMPEG, ['-v', 'error', '-nostdin', '-i', httpPrefix + 'cam.m3u8', '-map', '0:v', '-f', 'framemd5', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    ff.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    ff.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => ff.once('close', resolve));
    assert.equal(code, 0, stderr);
    assert.equal(stderr.trim(), '', 'played without errors');
    assert.ok(frameLines(stdout) >= 6 * 25 - 25, `${frameLines(stdout)} frames played`);
  });
});
