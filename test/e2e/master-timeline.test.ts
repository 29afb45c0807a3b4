/**
 * RFC 8216 §6.2.4 and §6.2.1 end to end, with real processes: ffmpeg, segmenters, the uploader
 * bin (killed with -9 and started again on its state directory mid-stream) and a recording
 * proxy in front of the store that keeps every playlist version the uploader stored.
 *
 * - Renditions of one master give the same PTS the same EXT-X-PROGRAM-DATE-TIME (within 1 ms) in
 *   every stored version: two segmenters on one ffmpeg, the second started a segment later, and
 *   `segmenter ladder`.
 * - The ladder run again after it ended (end=1): each rendition's ended playlist is kept as its own
 *   object, its URL becomes a fresh live playlist past the ended media sequence, and no stored
 *   version that carried EXT-X-ENDLIST is ever altered.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { TS_PACKET_SIZE } from '@hlsrelay/mpegts';
import { assertEndedNeverAltered } from '../support/ended-playlists';
import { ffmpeg, FFMPEG } from '../support/ffmpeg';
import { SEGMENTER_BIN } from '../support/paths';
import { until } from '../support/until';
import { assertOneTimeline, BUCKET, CDN, datedSegments, PREFIX, TimelineRig, type Child } from './timeline-rig';

const rigs: TimelineRig[] = [];
after(async () => Promise.all(rigs.map((r) => r.close())));

async function rig(): Promise<TimelineRig> {
  const r = new TimelineRig();
  rigs.push(r);
  await r.start();
  return r;
}

/** Listed segments of the last stored version of `name`. */
function listedNow(r: TimelineRig, name: string): number {
  return datedSegments(r.latest(`${PREFIX}/${name}`) ?? '').length;
}

const ended = (r: TimelineRig, name: string) => /#EXT-X-ENDLIST\n$/.test(r.latest(`${PREFIX}/${name}`) ?? '');

test('two segmenters on one ffmpeg, the second started a segment later: one date-time per PTS in every version, across an uploader kill -9', { timeout: 180_000 }, async (t) => {
  const r = await rig();
  const out = path.join(r.dir, 'out');
  fs.mkdirSync(out);
  const source = r.spawn(FFMPEG, [
    '-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25:duration=16', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=16',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-sc_threshold', '0', '-c:a', 'aac', '-b:a', '32k', '-f', 'mpegts', '-',
  ]);
  const segmenter = (name: string) =>
    r.spawn(process.execPath, [
      SEGMENTER_BIN, '-', '1', out, name, `${name}.m3u8`, CDN, BUCKET, PREFIX, '--master', 'pdt.m3u8',
      '--uploader', `127.0.0.1:${r.gate.port}`, '--spool-dir', path.join(r.dir, `spool-${name}`), '--drain-timeout', '60',
      '--log-json', '--status', 'never',
    ], 'pipe');
  const a = segmenter('a');
  let b: Child | undefined;
  let joined = false;
  let sent = 0;
  source.child.stdout!.on('data', (chunk: Buffer) => {
    a.child.stdin!.write(chunk);
    if (b && joined) b.child.stdin!.write(chunk);
    else if (b) {
      // The second segmenter joins the live pipe at a packet boundary, as a tee started later would.
      const skip = (TS_PACKET_SIZE - (sent % TS_PACKET_SIZE)) % TS_PACKET_SIZE;
      if (skip < chunk.length) {
        joined = true;
        b.child.stdin!.write(chunk.subarray(skip));
      }
    }
    sent += chunk.length;
  });
  source.child.stdout!.on('end', () => {
    a.child.stdin!.end();
    b?.child.stdin!.end();
  });
  a.child.stdin!.on('error', () => {});
  await until(() => a.text.includes('"segment complete"'), 30_000, 'the first segmenter cut a segment');
  b = segmenter('b');
  b.child.stdin!.on('error', () => {});

  await until(() => listedNow(r, 'a.m3u8') >= 4 && listedNow(r, 'b.m3u8') >= 2, 60_000, 'both renditions listed');
  const before = r.versions().length;
  await r.crashAndRestartUploader();
  await until(() => ended(r, 'a.m3u8') && ended(r, 'b.m3u8'), 90_000, 'both playlists ended');
  assert.equal(await a.exited, 0, a.text.slice(-3000));
  assert.equal(await b.exited, 0, b.text.slice(-3000));

  const after = r.versions().slice(before);
  assert.ok(after.some((v) => v.key === `${PREFIX}/a.m3u8`) && after.some((v) => v.key === `${PREFIX}/b.m3u8`), 'versions stored after the restart');
  const { shared, widestMs } = await assertOneTimeline(r, ['a.m3u8', 'b.m3u8']);
  t.diagnostic(`${shared} PTS values listed by both variants; widest spread of date-times for one PTS: ${widestMs} ms`);
  assert.ok(shared >= 8, `PTS values both variants list: ${shared}`);
  assert.match(r.latest(`${PREFIX}/pdt.m3u8`) ?? '', /a\.m3u8[^]*b\.m3u8|b\.m3u8[^]*a\.m3u8/, 'the master lists both');
  assert.deepEqual(r.logged('warn').filter((l) => String(l.message).includes('not on the timeline')), [], 'no rendition off the timeline');
  assert.equal(r.logged('info').filter((l) => String(l.message).startsWith('master timeline anchored')).length, 1, 'one anchor, kept across the restart');
});

test('segmenter ladder: one date-time per PTS across renditions and an uploader kill -9; run again after end=1, no ended version is altered', { timeout: 240_000 }, async (t) => {
  const r = await rig();
  const source = path.join(r.dir, 'source.ts');
  await ffmpeg([
    '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '12', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-c:a', 'aac', '-f', 'mpegts', source,
  ]);
  const ladder = path.join(r.dir, 'ladder.json');
  fs.writeFileSync(ladder, JSON.stringify({
    fps: 25,
    preset: 'ultrafast',
    profiles: [
      { name: 'lo', resolution: '160x90', videoBitrate: '100k', audioBitrate: '32k' },
      { name: 'hi', resolution: '320x180', videoBitrate: '250k', audioBitrate: '64k' },
    ],
  }));
  const runLadder = (input: string) =>
    r.spawn(process.execPath, [
      SEGMENTER_BIN, 'ladder', input, '1', path.join(r.dir, 'out'), 'cam', CDN, BUCKET, PREFIX, '--config', ladder, '--realtime',
      '--uploader', `127.0.0.1:${r.gate.port}`, '--ffmpeg', FFMPEG, '--spool-dir', path.join(r.dir, 'spool'), '--drain-timeout', '60',
      '--log-json',
    ]);
  const variants = ['cam-lo.m3u8', 'cam-hi.m3u8'];

  // Run 0, with the uploader killed and started again while it runs.
  const first = runLadder(source);
  await until(() => variants.every((v) => listedNow(r, v) >= 3), 60_000, 'both renditions listed');
  await r.crashAndRestartUploader();
  await until(() => variants.every((v) => ended(r, v)), 90_000, 'both playlists ended');
  assert.equal(await first.exited, 0, first.text.slice(-3000));
  const endedRun = Object.fromEntries(variants.map((v) => [v, r.latest(`${PREFIX}/${v}`)!]));

  // Run 1 of the same ladder after the end: the weekly service at the same URL.
  const second = runLadder(source);
  assert.equal(await second.exited, 0, second.text.slice(-3000));
  await until(() => variants.every((v) => ended(r, v) && r.latest(`${PREFIX}/${v}`) !== endedRun[v]), 60_000, 'the second run ended');

  const { shared, widestMs } = await assertOneTimeline(r, variants);
  t.diagnostic(`${shared} PTS values listed by both renditions; widest spread of date-times for one PTS: ${widestMs} ms`);
  assert.ok(shared >= 12, `PTS values both renditions list: ${shared}`);
  assertEndedNeverAltered(r.versions());
  for (const v of variants) {
    const kept = r.versions().filter((x) => /-ended-\d+\.m3u8$/.test(x.key) && x.key.startsWith(`${PREFIX}/${v.replace(/\.m3u8$/, '')}-ended-`));
    assert.equal(new Set(kept.map((k) => k.key)).size, 1, `${v}: one kept ended run`);
    assert.equal(kept[0].text, endedRun[v], `${v}: the ended run kept byte for byte as ${kept[0].key}`);
    const endedSeq = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(endedRun[v])![1]);
    const endedCount = datedSegments(endedRun[v]).length;
    assert.equal(kept[0].key, `${PREFIX}/${v.replace(/\.m3u8$/, '')}-ended-${endedSeq + endedCount - 1}.m3u8`);
    // Every version of the new run: past the ended media sequence, only this run's objects.
    const newRun = r.versions().filter((x) => x.key === `${PREFIX}/${v}` && /-r1-/.test(x.text));
    assert.ok(newRun.length >= 3, `${v}: versions of the new run`);
    for (const x of newRun) {
      assert.ok(Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(x.text)![1]) >= endedSeq + endedCount, `${v}: media sequence past the ended run`);
      assert.ok(datedSegments(x.text).every((s) => /-r1-\d+\.ts$/.test(s.uri)), `${v}: lists only the new run`);
    }
  }
  assert.equal(
    r.logged('info').filter((l) => String(l.message).includes('this run starts a fresh live playlist')).length,
    variants.length,
    'the new run of each ended rendition is said at info',
  );
  assert.deepEqual(r.logged('warn').filter((l) => String(l.message).includes('not on the timeline')), [], 'no rendition off the timeline');
  // The first run's anchor, kept across the restart, and one for the run after the end.
  assert.equal(r.logged('info').filter((l) => String(l.message).startsWith('master timeline anchored')).length, 2);
});
