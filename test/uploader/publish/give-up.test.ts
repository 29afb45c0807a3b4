/**
 * `--give-up-after`: a segment upload that keeps failing is given up after the configured time —
 * logged as an error naming the stream, segment, key and last error, counted as refused — and
 * the stream moves on without listing it. Without it (0), uploads retry for ever.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { silentLogger } from '@hlsrelay/log';
import { EMBEDDED_CREDENTIALS, EMBEDDED_REGION } from '@hlsrelay/embedded-store';
import { parseMessage } from '@hlsrelay/protocol';
import { GaveUpTransferError, MeteredTarget, S3Target, Uploader, UploaderMetrics, UploadQueue, type SegmentGivenUp } from '@hlsrelay/uploader';
import { until } from '../../support/until';
import { FakeStream, getObject, listedUris } from '../../support/uploader-rig';
import { captureLog } from '../../support/log-capture';
import { HeldStore } from '../../support/held-store';
import { tempDir } from '../../support/temp-dir';

/** A clock that only the queue's own waits move forward. */
function fakeTime() {
  let now = 0;
  const sleeps: number[] = [];
  return { now: () => now, sleep: async (ms: number) => void (sleeps.push(ms), (now += ms)), sleeps };
}

test('queue: a transfer with giveUp still failing at the give-up time ends with the last error; the last wait ends on time', async () => {
  const time = fakeTime();
  const q = new UploadQueue({ concurrency: 1, retry: { initialDelayMs: 100, maxDelayMs: 800 }, logger: silentLogger(), sleep: time.sleep, now: time.now, random: () => 0.5, giveUpAfterMs: 2000 });
  let attempts = 0;
  const err = await q.transfer('segment upload', {}, async () => {
    attempts += 1;
    throw new Error(`store away (attempt ${attempts})`);
  }, 0, true).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof GaveUpTransferError, String(err));
  assert.equal((err.lastError as Error).message, `store away (attempt ${attempts})`);
  assert.match(err.message, new RegExp(`segment upload still failing after ${attempts} attempts over 2 s; given up: Error: store away`));
  assert.equal(time.now(), 2000, `waits ${time.sleeps.join(', ')} add up to the give-up time exactly`);
  assert.equal(attempts, time.sleeps.length + 1);
});

test('queue: without giveUp, or with a give-up time of 0, a transfer is retried past it until it succeeds', async () => {
  for (const [giveUpAfterMs, giveUp] of [[2000, false], [0, true]] as const) {
    const time = fakeTime();
    const q = new UploadQueue({ concurrency: 1, retry: { initialDelayMs: 100, maxDelayMs: 800 }, logger: silentLogger(), sleep: time.sleep, now: time.now, giveUpAfterMs });
    let attempts = 0;
    const result = await q.transfer('playlist upload', {}, async () => {
      if (++attempts < 40) throw new Error('store away');
      return 'stored';
    }, 0, giveUp);
    assert.equal(result, 'stored');
    assert.ok(time.now() > 10_000, `retried for ${time.now()} ms of queue time`);
  }
  assert.throws(() => new UploadQueue({ concurrency: 1, retry: { initialDelayMs: 1, maxDelayMs: 1 }, logger: silentLogger(), giveUpAfterMs: -1 }), /giveUpAfterMs must be a number ≥ 0, got -1/);
});

test('uploader against a stopped store, give up after 2 s: the segment is logged, counted refused and left out; the stream goes on', { timeout: 60_000 }, async () => {
  const dir = tempDir('give-up');
  const storeDir = path.join(dir, 'store');
  const store = await HeldStore.start(storeDir, ['mybucket']);
  await store.close();
  const metrics = new UploaderMetrics({ processMetrics: false });
  const s3 = new S3Target({ acl: 'none', endpoint: store.endpoint, region: EMBEDDED_REGION, forcePathStyle: true, maxSockets: 4, clientConfig: { credentials: EMBEDDED_CREDENTIALS } });
  const log = captureLog('uploader');
  const uploader = new Uploader({ target: new MeteredTarget(s3, metrics), logger: log.logger, retry: { initialDelayMs: 50, maxDelayMs: 400 }, giveUpAfterMs: 2000 });
  metrics.watch(uploader);
  const givenUp: SegmentGivenUp[] = [];
  uploader.on('segment-given-up', (e: SegmentGivenUp) => givenUp.push(e));
  const stream = new FakeStream(path.join(dir, 'segments'), {
    index: 'cam.m3u8', segmentDuration: 2, outputPrefix: 'cam', httpPrefix: 'https://cdn.example/', firstSegment: 1, bucketName: 'mybucket', keyPrefix: 'live',
  });
  try {
    await mkdir(stream.dir, { recursive: true });
    await stream.cut(1);
    await uploader.accept(parseMessage(stream.message(1)));
    await until(() => givenUp.length === 1, 30_000);
    assert.deepEqual({ ...givenUp[0], error: undefined }, { stream: 's3://mybucket/live/cam.m3u8', segment: 1, key: 'live/cam-00001.ts', target: s3.name, error: undefined });
    assert.match(givenUp[0].error, /ECONNREFUSED|connect/i);
    await log.settle();
    const entry = log.entries.find((e) => e.message === 'segment cannot be uploaded; not listed');
    assert.ok(entry, JSON.stringify(log.entries.slice(-3)));
    assert.equal(entry.level, 'error');
    assert.equal(entry.stream, 's3://mybucket/live/cam.m3u8');
    assert.equal(entry.segment, 1);
    assert.equal(entry.key, 'live/cam-00001.ts');
    assert.match(String(entry.error), /given up: .*(ECONNREFUSED|connect)/i);
    const target = metrics.status().targets.find((t) => t.target === s3.name);
    assert.equal(target?.refused, 1);
    assert.ok((target?.retries ?? 0) >= 2, 'the failed attempts before giving up were counted as retried');
    assert.match(await metrics.metrics(), /hlsrelay_segments_given_up_total\{stream="s3:\/\/mybucket\/live\/cam.m3u8"\} 1/);

    // The store comes back: the stream goes on from segment 2, and segment 1 is never listed.
    await store.start();
    await stream.cut(2);
    await uploader.accept(parseMessage(stream.message(2, true)));
    await uploader.onIdle();
    const playlist = await getObject(store, 'mybucket', 'live/cam.m3u8');
    assert.equal(playlist.status, 200);
    assert.deepEqual(listedUris(playlist.body.toString()), ['https://cdn.example/cam-00002.ts']);
    assert.equal((await getObject(store, 'mybucket', 'live/cam-00002.ts')).status, 200);
    assert.equal((await getObject(store, 'mybucket', 'live/cam-00001.ts')).status, 404);
  } finally {
    await uploader.close();
    await store.release();
    await rm(dir, { recursive: true, force: true });
  }
});
