/**
 * fMP4 through the whole chain with real processes: ffmpeg → segmenter --format fmp4 (its bin) →
 * uploader (its bin) → s3rver; the stored init and segments checked with ffmpeg and mp4box, and
 * restarted segmenter runs that must never overwrite a stored init.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startEmbeddedStore, type EmbeddedStore } from '@hlsrelay/embedded-store';
import { FFMPEG } from '../support/ffmpeg';
import { parseMp4 } from '../support/mp4-parse';
import { SEGMENTER_BIN } from '../support/paths';
import { DEBIAN_FFMPEG, DEBIAN_FFMPEG_WHY, requireProgram } from '../support/system-programs';
import { tempDir } from '../support/temp-dir';
import { until } from '../support/until';
import { getObject, listedUris } from '../support/uploader-rig';
import { startUploader, type UploaderProcess } from '../support/uploader-process';

const storeArgs = (store: EmbeddedStore) => ['--s3-endpoint', store.endpoint, '--s3-path-style', '--acl', 'none', '--retry-max-delay', '0.5'];

interface Run {
  code: number | null;
  stderr: string;
}

const H264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-g', '25', '-bf', '2'];
const H265 = ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error:keyint=25'];

/** ffmpeg (test picture of `size`, `seconds` long) | segmenter --format fmp4 …`extra`. */
function segment(dir: string, size: string, seconds: number, prefix: string, port: number, httpPrefix: string, extra: string[] = [], video = H264): Promise<Run> {
  const ff = spawn(FFMPEG, [
    '-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=25`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds), ...video, '-c:a', 'aac', '-b:a', '64k', '-f', 'mpegts', '-',
  ], { stdio: ['ignore', 'pipe', 'ignore'] });
  const seg = spawn(process.execPath, [
    SEGMENTER_BIN, '-', '1', dir, prefix, `${prefix}.m3u8`, httpPrefix, 'mybucket', 'live', '--format', 'fmp4',
    '--uploader', `127.0.0.1:${port}`, '--log-json', '--status', 'never', '--drain-timeout', '30', ...extra,
  ], { stdio: ['pipe', 'ignore', 'pipe'] });
  ff.stdout.pipe(seg.stdin);
  let stderr = '';
  seg.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => seg.once('close', (code) => resolve({ code, stderr })));
}

describe('fMP4 segments from ffmpeg to the store', { timeout: 240_000 }, () => {
  let dir: string;
  let store: EmbeddedStore;
  let up: UploaderProcess;
  let httpPrefix: string;

  before(async () => {
    dir = tempDir('fmp4-store');
    store = await startEmbeddedStore({ directory: path.join(dir, 'store'), buckets: ['mybucket'] });
    up = await startUploader(['--state-dir', path.join(dir, 'state'), '--window', '100', ...storeArgs(store)]);
    httpPrefix = store.url('mybucket', 'live/');
  });

  after(async () => {
    await up?.stop();
    await store?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const playlist = async (name: string) => (await getObject(store, 'mybucket', `live/${name}`)).body.toString();
  const ended = (name: string) => until(async () => /#EXT-X-ENDLIST/.test(await playlist(name)), 30_000, `${name} ends`);
  const object = async (uri: string) => {
    const o = await getObject(store, 'mybucket', `live/${path.basename(uri)}`);
    assert.equal(o.status, 200, `${uri} stored`);
    return o;
  };
  /** Init + each segment decodes with ffmpeg, and mp4box sees a sync sample first in every segment. */
  const decodesAll = async (text: string, videoCodec = 'avc1') => {
    const maps = [...text.matchAll(/#EXT-X-MAP:URI="([^"]+)"/g)].map((m) => m[1]);
    let init: Buffer | undefined;
    let checked = 0;
    for (const line of text.split('\n')) {
      const map = /^#EXT-X-MAP:URI="([^"]+)"$/.exec(line);
      if (map) init = (await object(map[1])).body;
      if (line === '' || line.startsWith('#')) continue;
      assert.ok(init, `${line} is listed after an EXT-X-MAP`);
      const joined = path.join(dir, 'joined.mp4');
      fs.writeFileSync(joined, Buffer.concat([init, (await object(line)).body]));
      const r = spawnSync(FFMPEG, ['-v', 'error', '-i', joined, '-f', 'framemd5', '-'], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${line}: ${r.stderr}`);
      assert.equal(r.stderr.trim(), '', `${line} decodes without errors after its init`);
      const parsed = parseMp4(fs.readFileSync(joined));
      const video = parsed.tracks.find((t) => t.codec.startsWith(videoCodec));
      assert.ok(video, `${line}: a ${videoCodec} track in ${parsed.tracks.map((t) => t.codec).join(' ')}`);
      assert.equal(video.samples[0].sync, true, `${line} starts with a sync sample`);
      checked++;
    }
    return { maps, checked };
  };

  test('a live run: the init stored once before the first playlist, EXT-X-MAP, version 6, video/mp4, every segment decodes', async () => {
    const out = path.join(dir, 'cam');
    const run = await segment(out, '320x240', 6, 'cam', up.port, httpPrefix);
    assert.equal(run.code, 0, run.stderr);
    await ended('cam.m3u8');
    const text = await playlist('cam.m3u8');
    assert.match(text, /^#EXTM3U\n#EXT-X-VERSION:6\n/);
    assert.match(text, new RegExp(`#EXT-X-INDEPENDENT-SEGMENTS\\n#EXT-X-MAP:URI="${httpPrefix}cam-init\\.mp4"\\n`), 'the map comes before the first segment');
    const uris = listedUris(text);
    assert.ok(uris.length >= 5, `${uris.length} segments`);
    assert.ok(uris.every((u) => /cam-\d{5}\.m4s$/.test(u)));
    const { maps, checked } = await decodesAll(text);
    assert.deepEqual(maps, [`${httpPrefix}cam-init.mp4`]);
    assert.equal(checked, uris.length);
    // Stored byte-identical, with the headers a CDN needs.
    const init = await object('cam-init.mp4');
    assert.deepEqual(init.body, fs.readFileSync(path.join(out, 'cam-init.mp4')));
    for (const o of [init, await object(uris[0])]) {
      assert.equal(o.headers.get('content-type'), 'video/mp4');
      assert.match(o.headers.get('cache-control') ?? '', /max-age=86400/);
    }
    // One upload of the init, before the first playlist that maps it.
    const logged = up.lines.filter((l) => l.message === 'init section stored' && String(l.key).startsWith('live/cam'));
    assert.equal(logged.length, 1, JSON.stringify(logged));
  });

  test('restarted segmenters never overwrite a stored init: reused numbers get -r1-, other bytes under a used name get their digest', async () => {
    const before = (await object('cam-init.mp4')).body;
    const first = await playlist('cam.m3u8');
    // Numbers start at 1 again, another picture size: a new epoch of object names.
    const again = await segment(path.join(dir, 'cam-again'), '160x120', 3, 'cam', up.port, httpPrefix);
    assert.equal(again.code, 0, again.stderr);
    await until(async () => (await playlist('cam.m3u8')).includes('cam-r1-init.mp4'), 30_000, 'the restarted run listed');
    await ended('cam.m3u8');
    const second = await playlist('cam.m3u8');
    // Numbers go on (--start-number), another size again: the same epoch (r1), whose init name is taken.
    const later = await segment(path.join(dir, 'cam-later'), '240x160', 3, 'cam', up.port, httpPrefix, ['--start-number', '1000']);
    assert.equal(later.code, 0, later.stderr);
    await until(async () => /cam-r1-01000\.m4s/.test(await playlist('cam.m3u8')), 30_000, 'the third run listed');
    await ended('cam.m3u8');
    const third = await playlist('cam.m3u8');
    // Each run followed an end: a fresh playlist at the URL, the ended ones kept as they were (README).
    const keptName = (text: string) => `cam-ended-${Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)![1]) + listedUris(text).length - 1}.m3u8`;
    assert.equal(await playlist(keptName(first)), first);
    assert.equal(await playlist(keptName(second)), second);
    const maps: string[] = [];
    for (const text of [first, second, third]) maps.push(...(await decodesAll(text)).maps);
    assert.equal(maps.length, 3, maps.join(' '));
    assert.equal(maps[0], `${httpPrefix}cam-init.mp4`);
    assert.equal(maps[1], `${httpPrefix}cam-r1-init.mp4`);
    assert.match(maps[2], /cam-r1-init-[0-9a-f]{8}\.mp4$/);
    assert.deepEqual((await object('cam-init.mp4')).body, before, 'the first init is untouched');
    assert.match(second, /#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="[^"]+cam-r1-init\.mp4"/);
  });

  test('--ship-bytes: the init travels once, before the first message that names it, and the uploader stores it', async () => {
    const run = await segment(path.join(dir, 'far'), '320x240', 4, 'far', up.port, httpPrefix, ['--ship-bytes']);
    assert.equal(run.code, 0, run.stderr);
    await ended('far.m3u8');
    const text = await playlist('far.m3u8');
    const { maps, checked } = await decodesAll(text);
    assert.deepEqual(maps, [`${httpPrefix}far-init.mp4`]);
    assert.ok(checked >= 3);
    assert.deepEqual((await object('far-init.mp4')).body, fs.readFileSync(path.join(dir, 'far', 'far-init.mp4')));
    // The uploader read it from its own spool: the bytes came over the connection.
    const payload = path.join(dir, 'state', 'payload');
    const spooled = fs.readdirSync(payload).filter((d) => fs.existsSync(path.join(payload, d, 'far-init.mp4')));
    assert.equal(spooled.length, 1, 'far-init.mp4 in the uploader\'s payload spool');
  });

  // Chromium here has no HEVC decoder (MediaSource refuses hvc1), so H.265 is checked with ffmpeg
  // and mp4box: each stored segment after its init, and Debian's ffmpeg 5.1 as the HLS client.
  test('H.265: hvc1 segments stored, each decoding after its init, and the playlist read over HTTP by ffmpeg 5.1', async (t) => {
    const run = await segment(path.join(dir, 'hevc'), '320x240', 4, 'hevc', up.port, httpPrefix, [], H265);
    assert.equal(run.code, 0, run.stderr);
    await ended('hevc.m3u8');
    const text = await playlist('hevc.m3u8');
    const { maps, checked } = await decodesAll(text, 'hvc1');
    assert.deepEqual(maps, [`${httpPrefix}hevc-init.mp4`]);
    assert.ok(checked >= 3);
    const init = parseMp4(Buffer.concat([(await object('hevc-init.mp4')).body, (await object(listedUris(text)[0])).body]));
    assert.match(init.tracks.find((tr) => tr.codec.startsWith('hvc1'))!.codec, /^hvc1\.1\.6\.L\d+\.[0-9A-F]+/);
    if (!requireProgram(t, DEBIAN_FFMPEG, DEBIAN_FFMPEG_WHY)) return;
    // Asynchronously: the store answers ffmpeg's requests from this process.
    const ff = spawn(DEBIAN_FFMPEG, ['-v', 'error', '-i', store.url('mybucket', 'live/hevc.m3u8'), '-map', '0:v', '-f', 'framemd5', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const r = { stdout: '', stderr: '', status: null as number | null };
    ff.stdout.on('data', (d: Buffer) => (r.stdout += d.toString()));
    ff.stderr.on('data', (d: Buffer) => (r.stderr += d.toString()));
    r.status = await new Promise((resolve) => ff.once('close', resolve));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'ffmpeg 5.1 plays the H.265 fMP4 playlist without errors');
    const frames = r.stdout.split('\n').filter((l) => /^\d+,/.test(l)).length;
    assert.ok(frames >= 90, `${frames} frames of 4 s at 25 fps`);
  });
});
