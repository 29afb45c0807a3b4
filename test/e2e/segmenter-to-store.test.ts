/**
 * The whole chain with real processes: ffmpeg → segmenter (its bin) → uploader → s3rver.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { until } from '../support/until';
import { getObject, listedUris, startHarness, type Harness } from '../support/uploader-rig';
import { FFMPEG as ffmpegPath } from '../support/ffmpeg';
import { SEGMENTER_BIN as segmenterBin } from '../support/paths';


let h: Harness | undefined;
after(async () => h?.close());

test('ffmpeg → segmenter → uploader → store: every segment byte-identical, playlist ends with ENDLIST', async () => {
  h = await startHarness({ window: 5 });
  const out = path.join(h.dir, 'segments');
  const ffmpeg = spawn(ffmpegPath, [
    '-hide_banner', '-loglevel', 'error',
    '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25:duration=8',
    '-f', 'lavfi', '-i', 'sine=frequency=440:duration=8',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-sc_threshold', '0',
    '-c:a', 'aac', '-b:a', '64k', '-f', 'mpegts', '-',
  ], { stdio: ['ignore', 'pipe', 'inherit'] });
  const segmenter = spawn(process.execPath, [
    segmenterBin, '-', '2', out, 'e2e', 'e2e.m3u8', 'http://cdn.example/e2e/', 'mybucket', 'live/e2e',
    '--uploader', `127.0.0.1:${h.service.address.port}`, '--log-level', 'warn', '--status', 'never',
  ], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  segmenter.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  ffmpeg.stdout!.pipe(segmenter.stdin!);
  const code = await new Promise<number | null>((resolve) => segmenter.once('exit', resolve));
  assert.equal(code, 0, `segmenter exit code; stderr: ${stderr}`);

  const key = 'live/e2e/e2e.m3u8';
  await until(async () => /#EXT-X-ENDLIST/.test((await getObject(h!.store, 'mybucket', key)).body.toString()));
  await h.service.uploader.onIdle();
  const files = (await readdir(out)).filter((f) => f.endsWith('.ts')).sort();
  assert.ok(files.length >= 3, `segmenter cut ${files.length} segments`);
  for (const f of files) {
    const stored = await getObject(h.store, 'mybucket', `live/e2e/${f}`);
    assert.equal(stored.status, 200, `${f} stored`);
    assert.deepEqual(stored.body, await readFile(path.join(out, f)), `${f} byte-identical`);
  }
  const text = (await getObject(h.store, 'mybucket', key)).body.toString();
  assert.deepEqual(listedUris(text), files.slice(-5).map((f) => `http://cdn.example/e2e/${f}`));
  const target = Number(/#EXT-X-TARGETDURATION:(\d+)/.exec(text)![1]);
  for (const d of text.matchAll(/#EXTINF:([\d.]+),/g)) assert.ok(Math.round(Number(d[1])) <= target);
  assert.match(text, /^#EXTM3U\n#EXT-X-VERSION:3\n/);
  assert.match(text, /#EXT-X-ENDLIST\n$/);
});
