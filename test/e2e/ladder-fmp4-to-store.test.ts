/**
 * `segmenter ladder --format fmp4` end to end: one real ffmpeg, two renditions remuxed to fMP4,
 * the uploader (in-process) storing into s3rver. Each rendition's init is stored once and mapped
 * by EXT-X-MAP; the master's CODECS are what the stored inits say (read by mp4box.js, not by our
 * code); Debian's ffmpeg 5.1 plays the master over HTTP (the bundled 2018 build cannot read fMP4
 * HLS over HTTP).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { getObject, listedUris, startHarness, type Harness } from '../support/uploader-rig';
import { parseM3u8 } from '../support/m3u8';
import { parseMp4 } from '../support/mp4-parse';
import { tempDir } from '../support/temp-dir';
import { testSourceFile, FFMPEG } from '../support/ffmpeg';
import { SEGMENTER_BIN } from '../support/paths';
import { DEBIAN_FFMPEG, DEBIAN_FFMPEG_WHY, requireProgram } from '../support/system-programs';

const LADDER = {
  fps: 25,
  preset: 'veryfast',
  profiles: [
    { name: '360p', resolution: '640x360', videoBitrate: '800k', audioBitrate: '96k' },
    { name: '180p', resolution: '320x180', videoBitrate: '250k', audioBitrate: '64k' },
  ],
};
const SEGMENT_SECONDS = 2;
const SOURCE_SECONDS = 7;

describe('ladder --format fmp4 → uploader → store', { timeout: 180_000 }, () => {
  let h: Harness;
  let dir: string;
  let run: { code: number | null; stderr: string };

  before(async () => {
    dir = tempDir('ladder-fmp4');
    const source = path.join(dir, 'source.ts');
    await testSourceFile(source, SOURCE_SECONDS);
    fs.writeFileSync(path.join(dir, 'ladder.json'), JSON.stringify(LADDER));
    h = await startHarness({ window: 100 });
    const child = spawn(process.execPath, [
      SEGMENTER_BIN, 'ladder', source, String(SEGMENT_SECONDS), path.join(dir, 'out'), 'cam', h.store.url('mybucket', 'live/'), 'mybucket', 'live',
      '--config', path.join(dir, 'ladder.json'), '--format', 'fmp4', '--uploader', `127.0.0.1:${h.service.address.port}`, '--ffmpeg', FFMPEG,
      '--log-json', '--drain-timeout', '20',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    run = await new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
    await h.service.uploader.onIdle();
  });

  after(async () => {
    await h?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const text = async (key: string) => (await getObject(h.store, 'mybucket', key)).body.toString();

  test('each rendition: its init stored once, byte-identical, mapped by EXT-X-MAP before every segment, version 6', async () => {
    assert.equal(run.code, 0, run.stderr);
    for (const p of LADDER.profiles) {
      const name = `cam-${p.name}`;
      const media = await text(`live/${name}.m3u8`);
      assert.match(media, /^#EXTM3U\n#EXT-X-VERSION:6\n/, name);
      assert.match(media, /#EXT-X-ENDLIST\n$/, name);
      const maps = [...media.matchAll(/#EXT-X-MAP:URI="([^"]+)"/g)].map((m) => m[1]);
      assert.deepEqual(maps, [h.store.url('mybucket', `live/${name}-init.mp4`)], name);
      assert.ok(media.indexOf('#EXT-X-MAP') < media.indexOf('#EXTINF'), `${name}: the map comes before the first segment`);
      const uris = listedUris(media);
      assert.ok(uris.length >= Math.floor(SOURCE_SECONDS / SEGMENT_SECONDS), `${name}: ${uris.length} segments`);
      assert.ok(uris.every((u) => u.endsWith('.m4s')), name);
      const puts = h.stored.filter((s) => s === `PUT /mybucket/live/${name}-init.mp4`);
      assert.equal(puts.length, 1, `${name}-init.mp4 stored once`);
      const firstPlaylist = h.stored.indexOf(`PUT /mybucket/live/${name}.m3u8`);
      assert.ok(h.stored.indexOf(puts[0]) < firstPlaylist, `${name}: the init is stored before the first playlist`);
      const stored = await getObject(h.store, 'mybucket', `live/${name}-init.mp4`);
      assert.equal(stored.headers.get('content-type'), 'video/mp4');
      assert.deepEqual(stored.body, fs.readFileSync(path.join(dir, 'out', `${name}-init.mp4`)));
    }
  });

  test('the master lists both renditions with CODECS read from their stored inits', async () => {
    const master = parseM3u8(await text('live/cam.m3u8'));
    const playlists = master.playlists ?? [];
    assert.deepEqual(playlists.map((p) => p.uri).sort(), ['cam-180p.m3u8', 'cam-360p.m3u8']);
    for (const variant of playlists) {
      const name = variant.uri.replace(/\.m3u8$/, '');
      const media = await text(`live/${variant.uri}`);
      const first = (await getObject(h.store, 'mybucket', `live/${path.basename(listedUris(media)[0])}`)).body;
      const init = (await getObject(h.store, 'mybucket', `live/${name}-init.mp4`)).body;
      const codecs = parseMp4(Buffer.concat([init, first])).tracks.map((t) => t.codec);
      assert.equal(codecs.length, 2, `${name}: ${codecs.join(' ')}`);
      assert.equal(variant.attributes.CODECS, codecs.join(','), name);
      const profile = LADDER.profiles.find((x) => `cam-${x.name}` === name)!;
      const [width, height] = profile.resolution.split('x').map(Number);
      assert.deepEqual(variant.attributes.RESOLUTION, { width, height }, name);
    }
  });

  test("Debian's ffmpeg 5.1 plays the master over HTTP without an error, every frame of the stream", async (t) => {
    if (!requireProgram(t, DEBIAN_FFMPEG, DEBIAN_FFMPEG_WHY)) return;
    // Asynchronously: the store answers ffmpeg's requests from this process.
    const ff = spawn(DEBIAN_FFMPEG, ['-v', 'error', '-i', h.store.url('mybucket', 'live/cam.m3u8'), '-map', '0:v:0', '-map', '0:a:0', '-f', 'framemd5', '-'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    ff.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    ff.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const status = await new Promise((resolve) => ff.once('close', resolve));
    assert.equal(status, 0, stderr);
    assert.equal(stderr.trim(), '', 'no error output');
    const video = stdout.split('\n').filter((l) => /^0,/.test(l)).length;
    const audio = stdout.split('\n').filter((l) => /^1,/.test(l)).length;
    assert.equal(video, SOURCE_SECONDS * LADDER.fps, `${video} video frames`);
    assert.ok(audio >= (SOURCE_SECONDS - 0.2) * (48000 / 1024), `${audio} audio frames`);
  });
});
