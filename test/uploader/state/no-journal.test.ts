/**
 * The uploader without a journal (`--state-dir none`), as a real process against s3rver behind a
 * recording proxy: it acknowledges a message only once its segment is stored, and after a
 * kill -9 (all its state gone) it continues each stream from the playlist the store holds —
 * the media sequence never goes back and no stored segment is written again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatHello, segmentFileName } from '@hlsrelay/protocol';
import { assertEndedNeverAltered } from '../../support/ended-playlists';
import { HeldStore } from '../../support/held-store';
import { parseM3u8 } from '../../support/m3u8';
import { RecordingProxy } from '../../support/recording-proxy';
import { tempDir } from '../../support/temp-dir';
import { sleep, until } from '../../support/until';
import { startUploader } from '../../support/uploader-process';
import { FakeStream, getObject, PersistentClient } from '../../support/uploader-rig';

const STREAM = { index: 'cam.m3u8', segmentDuration: 2, outputPrefix: 'cam', httpPrefix: 'https://cdn.example/live/', firstSegment: 1, bucketName: 'mybucket', keyPrefix: 'live' };

/** A client that answers the greeting: its messages are acknowledged (`OK <n>`). */
async function session(port: number): Promise<PersistentClient> {
  const c = await PersistentClient.connect(port);
  c.socket.write(`${formatHello()}\n`);
  return c;
}

test('--state-dir none: OK only once the segment is stored; after kill -9 the stream continues from its stored playlist', { timeout: 120_000 }, async () => {
  const dir = tempDir('no-journal');
  const store = await HeldStore.start(path.join(dir, 'store'), ['mybucket']);
  const proxy = await RecordingProxy.start(store.port);
  const args = ['--state-dir', 'none', '--s3-endpoint', proxy.endpoint, '--s3-path-style', '--window', '3', '--keep-local', '--retry-max-delay', '0.5'];
  const run1 = new FakeStream(path.join(dir, 'run1'), STREAM);
  mkdirSync(run1.dir);
  const up1 = await startUploader(args);
  const restarted: Array<Awaited<ReturnType<typeof startUploader>>> = [];
  /** A new uploader that knows nothing, and a restarted segmenter sending `count` segments numbered from 1 (the last with end=1 if `end`). */
  const runWithoutState = async (run: string, count: number, end: boolean) => {
    const up = await startUploader(args);
    restarted.push(up);
    const out = path.join(dir, run);
    mkdirSync(out);
    const c = await session(up.port);
    const stream = new FakeStream(out, STREAM);
    // One at a time, as a segmenter sends them (each after the OK of the one before).
    for (let n = 1; n <= count; n++) {
      writeFileSync(path.join(out, segmentFileName('cam', n)), `${run} run, segment ${n}\n`);
      c.send(stream.message(n, end && n === count));
      assert.match((await c.waitForLines(n))[n - 1], /^OK /);
    }
    await c.close();
    return up;
  };
  try {
    const c1 = await session(up1.port);
    // The store is slow with the first segment: no OK may come before it is stored.
    proxy.hold((r) => r.method === 'PUT' && r.path.endsWith('/cam-00001.ts'));
    await run1.cut(1);
    c1.send(run1.message(1));
    await until(() => proxy.heldCount === 1, 10_000, 'the segment PUT reached the store');
    await sleep(500);
    assert.equal(c1.replies, '', 'no acknowledgement while the segment is not stored');
    proxy.release();
    assert.match((await c1.waitForLines(1))[0], /^OK /);
    assert.equal((await getObject(store, 'mybucket', 'live/cam-00001.ts')).status, 200, 'stored by the time OK came');
    for (let n = 2; n <= 6; n++) {
      await run1.cut(n);
      c1.send(run1.message(n));
    }
    assert.ok((await c1.waitForLines(6)).every((l) => l.startsWith("OK ")));
    up1.child.kill('SIGKILL');
    await up1.stop();

    // A new uploader knows nothing; the segmenter was restarted too, its numbers start over, its
    // segments hold other pictures under the same file names.
    const readBackFrom = proxy.requests.length;
    const up2 = await runWithoutState('second', 4, true);
    c1.socket.destroy();

    assert.ok(proxy.requests.slice(readBackFrom).some((r) => r.method === 'GET' && r.path === '/mybucket/live/cam.m3u8'), 'the stored playlist was read back');
    const segmentPuts = proxy.storedPuts().filter((p) => p.endsWith('.ts'));
    assert.deepEqual(
      segmentPuts,
      [1, 2, 3, 4, 5, 6].map((n) => `/mybucket/live/cam-0000${n}.ts`).concat([1, 2, 3, 4].map((n) => `/mybucket/live/cam-r1-0000${n}.ts`)),
      'every segment stored once; the second run under new names',
    );
    for (let n = 1; n <= 6; n++) {
      assert.ok((await getObject(store, 'mybucket', `live/cam-0000${n}.ts`)).body.equals(run1.content(n)), `cam-0000${n}.ts still the first run's`);
    }

    const versions = proxy.requests.filter((r) => r.method === 'PUT' && r.path === '/mybucket/live/cam.m3u8' && r.status === 200).map((r) => parseM3u8(r.body!));
    let last = -1;
    for (const v of versions) {
      assert.ok(v.mediaSequence! >= last, `media sequence went from ${last} to ${v.mediaSequence}`);
      last = v.mediaSequence!;
    }
    const uris = (v: (typeof versions)[number]) => v.segments!.map((s) => s.uri.replace(STREAM.httpPrefix, ''));
    const firstOfRun2 = versions.find((v) => uris(v).includes('cam-r1-00001.ts'))!;
    assert.deepEqual(uris(firstOfRun2), ['cam-00005.ts', 'cam-00006.ts', 'cam-r1-00001.ts'], 'the stored window listed on');
    assert.equal(firstOfRun2.mediaSequence, 5);
    assert.equal(firstOfRun2.segments![2].discontinuity, true, 'the new run behind a discontinuity');
    const final = versions.at(-1)!;
    assert.deepEqual(uris(final), ['cam-r1-00002.ts', 'cam-r1-00003.ts', 'cam-r1-00004.ts']);
    assert.equal(final.mediaSequence, 8);
    assert.equal(final.discontinuitySequence, 1, 'the discontinuity that left the window is counted');
    assert.equal(final.endList, true);
    const continued = up2.lines.find((l) => l.message === 'stream continues from its stored playlist (no state for it here): listed behind a discontinuity, stored under new names');
    assert.equal(continued?.level, 'warn', up2.stderr());
    assert.equal(continued?.names, 'cam-r1-%05u.ts');
    assert.equal(await up2.stop(), 0);

    // The stream had ended (end=1): a third uploader, again without state, keeps that playlist and starts a fresh one.
    const endedText = proxy.requests.filter((r) => r.method === 'PUT' && r.path === '/mybucket/live/cam.m3u8' && r.status === 200).at(-1)!.body!;
    const up3 = await runWithoutState('third', 2, false);
    assert.equal((await getObject(store, 'mybucket', 'live/cam-ended-10.m3u8')).body.toString(), endedText, 'the ended playlist kept as it was');
    const fresh = parseM3u8((await getObject(store, 'mybucket', 'live/cam.m3u8')).body.toString());
    assert.equal(fresh.mediaSequence, 11);
    assert.deepEqual(uris(fresh), ['cam-r2-00001.ts', 'cam-r2-00002.ts']);
    assertEndedNeverAltered(proxy.requests.filter((r) => r.method === 'PUT' && r.status === 200 && r.body !== undefined).map((r) => ({ key: r.path, text: r.body! })));
    assert.equal(await up3.stop(), 0);
  } finally {
    up1.child.kill('SIGKILL');
    for (const u of restarted) u.child.kill('SIGKILL');
    await proxy.close();
    await store.release();
  }
});
