/**
 * Fault tests with real processes: the uploader killed with -9 and restarted on its state
 * directory, the store down for 20 s, the uploader down for 20 s, the segmenter killed and
 * restarted mid-stream. Each checks that nothing was lost and no player could have been misled:
 * every segment cut is in the store byte-identical, every playlist version a watcher saw was
 * valid with a non-decreasing media sequence and listed only stored segments, the archive lists
 * every segment exactly once in order, the final playlist ends, and journal and spool are empty.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readSpool } from '@hlsrelay/segmenter';
import { readJournal } from '@hlsrelay/uploader';
import { parseM3u8 } from '../support/m3u8';
import { until, sleep } from '../support/until';
import { CDN, readFile, Rig, segmentFiles, Watcher } from './fault-rig';

const LIVE = 'fault/fault.m3u8';
const ARCHIVE = 'fault/fault-archive.m3u8';
const WINDOW = 5;

const rigs: Rig[] = [];
after(async () => Promise.all(rigs.map((r) => r.close())));

async function rig(options: { defaultDirs?: boolean } = {}): Promise<Rig> {
  const r = await Rig.create(options);
  rigs.push(r);
  await r.startStore();
  await r.startUploader();
  return r;
}

/** Segments the live playlist lists right now (0 while the store is down). */
async function listedCount(r: Rig): Promise<number> {
  const got = await r.get(LIVE);
  return got?.status === 200 ? (parseM3u8(got.body.toString()).segments?.length ?? 0) : 0;
}

/**
 * The end state every scenario must reach. `runs` are the segmenter output directories in order;
 * run k ≥ 1 follows a restart whose numbers start over, so its objects carry `-r<k>`.
 */
async function verify(r: Rig, watcher: Watcher, runs: string[]): Promise<void> {
  await until(async () => /#EXT-X-ENDLIST\n$/.test((await r.get(LIVE))?.body.toString() ?? ''), 90_000, 'final playlist with ENDLIST');
  await watcher.stop();
  assert.deepEqual(watcher.problems, [], 'every playlist version seen was valid and listed only stored segments');
  assert.ok(watcher.versions.length >= 3, `the watcher saw ${watcher.versions.length} versions`);

  const expected: Array<{ file: string; name: string }> = [];
  for (const [k, dir] of runs.entries()) {
    for (const f of await segmentFiles(dir)) expected.push({ file: path.join(dir, f), name: k === 0 ? f : f.replace(/^fault-/, `fault-r${k}-`) });
  }
  assert.ok(expected.length >= 8, `segments cut: ${expected.length}`);
  for (const e of expected) {
    const stored = await r.get(`fault/${e.name}`);
    assert.equal(stored?.status, 200, `${e.name} stored`);
    assert.ok(stored!.body.equals(await readFile(e.file)), `${e.name} byte-identical to ${e.file}`);
  }
  const archive = parseM3u8((await r.get(ARCHIVE))!.body.toString());
  assert.deepEqual(archive.segments!.map((s) => s.uri), expected.map((e) => CDN + e.name), 'archive: every segment once, in order');
  assert.equal(archive.endList, true);
  const live = parseM3u8((await r.get(LIVE))!.body.toString());
  // The first segment is number 1, and the sequence starts at its number.
  assert.equal(live.mediaSequence, 1 + expected.length - WINDOW, 'media sequence counts every segment that left the window');
  assert.deepEqual(live.segments!.map((s) => s.uri), expected.slice(-WINDOW).map((e) => CDN + e.name));

  assert.equal(await r.uploader!.stop('SIGTERM'), 0, r.uploader!.text.slice(-2000));
  assert.deepEqual(readJournal(r.stateDir).pending, [], 'journal: nothing left to upload');
  assert.deepEqual(readSpool(r.spoolDir).pending, [], 'spool: nothing left to deliver');
}

// Once on directories given by flags, once on the defaults a user's login gives (durable by default).
for (const defaultDirs of [false, true]) {
  const name = defaultDirs
    ? 'durable by default (no --state-dir, no --spool-dir): the uploader killed with -9 mid-stream and started again'
    : 'the uploader killed with -9 mid-stream and started again on its state directory';
  test(name, async () => {
    const r = await rig({ defaultDirs });
    assert.ok(r.uploader!.text.includes(`"dir":${JSON.stringify(r.stateDir)}`), `the journal is in ${r.stateDir}`);
    const watcher = new Watcher(r, LIVE);
    const out = path.join(r.dir, 'out');
    const { segmenter } = r.startStream(14, out);
    await until(async () => (await listedCount(r)) >= 3, 60_000, 'three segments listed').catch((e: Error) => {
      // What each daemon said, so a stream that never got going can be told from a slow machine.
      throw new Error(`${e.message}\nuploader: ${r.uploader!.text.slice(-1500)}\nsegmenter: ${segmenter.text.slice(-1500)}\nstore: ${r.store!.text.slice(-1500)}`);
    });
    await r.uploader!.stop('SIGKILL');
    await sleep(3000);
    await r.startUploader();
    // The killed uploader's lock is still there: a dead pid's, taken over and said so.
    assert.match(r.uploader!.text, /took over the lock of a process that is gone/);
    assert.equal(await segmenter.exited, 0, segmenter.text.slice(-2000));
    assert.ok(segmenter.text.includes(`"dir":${JSON.stringify(r.spoolDir)}`), `the spool is in ${r.spoolDir}`);
    await verify(r, watcher, [out]);
    assert.match(r.uploader!.text, /continuing from the state directory/);
  });
}

test('the store down for 20 s mid-stream: retried with backoff, caught up in order', async () => {
  const r = await rig();
  const watcher = new Watcher(r, LIVE);
  const out = path.join(r.dir, 'out');
  const { segmenter } = r.startStream(30, out);
  await until(async () => (await listedCount(r)) >= 3, 60_000, 'three segments listed');
  await r.store!.stop('SIGKILL');
  await sleep(20_000);
  await r.startStore();
  assert.equal(await segmenter.exited, 0, segmenter.text.slice(-2000));
  await verify(r, watcher, [out]);
  assert.match(r.uploader!.text, /segment upload failed; retrying|playlist upload failed; retrying/);
});

test('the uploader down for 20 s while the segmenter keeps cutting: the spool delivers in order', async () => {
  const r = await rig();
  const watcher = new Watcher(r, LIVE);
  const out = path.join(r.dir, 'out');
  const { segmenter } = r.startStream(30, out);
  await until(async () => (await listedCount(r)) >= 3, 60_000, 'three segments listed');
  assert.equal(await r.uploader!.stop('SIGTERM'), 0);
  await sleep(20_000);
  const spooled = readSpool(r.spoolDir).pending.length;
  assert.ok(spooled >= 10, `messages spooled while the uploader was away: ${spooled}`);
  await r.startUploader();
  assert.equal(await segmenter.exited, 0, segmenter.text.slice(-2000));
  await verify(r, watcher, [out]);
});

test('the segmenter killed and restarted mid-stream: discontinuity, sequence keeps growing, nothing overwritten', async () => {
  const r = await rig();
  const watcher = new Watcher(r, LIVE);
  const first = path.join(r.dir, 'out-1');
  const second = path.join(r.dir, 'out-2');
  const run1 = r.startStream(30, first);
  await until(async () => (await listedCount(r)) >= 4, 60_000, 'four segments listed');
  await run1.segmenter.stop('SIGKILL');
  await run1.ffmpeg.stop('SIGKILL');
  const run2 = r.startStream(8, second);
  assert.equal(await run2.segmenter.exited, 0, run2.segmenter.text.slice(-2000));
  await verify(r, watcher, [first, second]);
  assert.ok(watcher.versions.some((v) => /#EXT-X-DISCONTINUITY\n/.test(v)), 'a playlist marked the restart');
  assert.match((await r.get(ARCHIVE))!.body.toString(), /#EXT-X-DISCONTINUITY\n(#EXT-X-PROGRAM-DATE-TIME:[^\n]+\n)?#EXTINF:[\d.]+,\nhttp:\/\/cdn\.example\/fault\/fault-r1-\d{5}\.ts\n/);
  assert.match(r.uploader!.text, /segment numbers reused after a restart/);
});
