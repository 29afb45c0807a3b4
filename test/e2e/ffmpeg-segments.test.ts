/**
 * Real MPEG-TS segments cut by ffmpeg, announced the way a segmenter does, stored byte-identical
 * and listed with their real durations in a playlist a standard parser accepts.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { formatMessage } from '@hlsrelay/protocol';
import { until } from '../support/until';
import { getObject, PersistentClient, startHarness, type Harness } from '../support/uploader-rig';
import { FFMPEG as ffmpegPath } from '../support/ffmpeg';

const run = promisify(execFile);
// m3u8-parser ships no types; the part used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Parser } = require('m3u8-parser') as { Parser: new () => { push(text: string): void; end(): void; manifest: unknown } };

let h: Harness | undefined;
after(async () => h?.close());

test('ffmpeg segments → uploader → store: byte-identical, real EXTINF, ENDLIST, parseable', async () => {
  h = await startHarness({ window: 3 });
  // 5 s of test picture and tone, a keyframe every second, cut at every keyframe.
  await run(ffmpegPath, [
    '-hide_banner', '-loglevel', 'error',
    '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25:duration=5',
    '-f', 'lavfi', '-i', 'sine=frequency=440:duration=5',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-keyint_min', '25', '-sc_threshold', '0',
    '-c:a', 'aac', '-b:a', '64k',
    '-f', 'segment', '-segment_time', '1', '-segment_start_number', '1', '-segment_format', 'mpegts',
    '-segment_list', path.join(h.dir, 'list.csv'), '-segment_list_type', 'csv',
    path.join(h.dir, 'clip-%05d.ts'),
  ]);
  const rows = (await readFile(path.join(h.dir, 'list.csv'), 'utf8')).trim().split('\n').map((l) => l.split(','));
  assert.ok(rows.length >= 4, `ffmpeg cut ${rows.length} segments`);
  const start = Date.UTC(2026, 4, 1, 12, 0, 0);
  const client = await PersistentClient.connect(h.service.address.port);
  rows.forEach(([, from, to], i) => {
    client.send(
      formatMessage({
        index: 'clip.m3u8', outputDirectory: h!.dir, segmentDuration: 1, outputPrefix: 'clip',
        httpPrefix: '', firstSegment: 1, lastSegment: i + 1, end: i === rows.length - 1,
        bucketName: 'mybucket', keyPrefix: 'events/clip',
        ext: { duration: Number(to) - Number(from), programDateTime: new Date(start + Number(from) * 1000) },
      }),
    );
  });
  await until(async () => /ENDLIST/.test((await getObject(h!.store, 'mybucket', 'events/clip/clip.m3u8')).body.toString()));
  await client.close();

  for (const [i, [file]] of rows.entries()) {
    const stored = await getObject(h.store, 'mybucket', `events/clip/${file}`);
    assert.equal(file, `clip-${String(i + 1).padStart(5, '0')}.ts`);
    assert.deepEqual(stored.body, await readFile(path.join(h.dir, file)), `${file} byte-identical`);
    assert.equal(stored.body[0], 0x47, 'stored bytes start with an MPEG-TS sync byte');
  }
  const text = (await getObject(h.store, 'mybucket', 'events/clip/clip.m3u8')).body.toString();
  const parser = new Parser();
  parser.push(text);
  parser.end();
  const m = parser.manifest as {
    targetDuration: number; mediaSequence: number; endList?: boolean;
    segments: Array<{ uri: string; duration: number; dateTimeString?: string }>;
  };
  assert.equal(m.endList, true);
  assert.equal(m.segments.length, 3);
  assert.equal(m.mediaSequence, rows.length - 2);
  const lastRows = rows.slice(-3);
  m.segments.forEach((seg, i) => {
    const [file, from, to] = lastRows[i];
    assert.equal(seg.uri, file, 'relative URI when the http prefix is empty');
    assert.equal(seg.duration, Number((Number(to) - Number(from)).toFixed(3)));
    assert.ok(Math.round(seg.duration) <= m.targetDuration);
    assert.equal(seg.dateTimeString, new Date(start + Number(from) * 1000).toISOString());
  });
});
