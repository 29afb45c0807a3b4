/**
 * `--give-up-after` with several `--target`s: every mirror's own queue gives a failing segment
 * upload up at the give-up time. A mirror that is away must not retry one segment for ever
 * (its lane, and every later segment and playlist of the stream on it, would wait behind it,
 * and the local file could never be removed); when every mirror gives up, the segment is left
 * out of the playlist as with one target.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '@hlsrelay/log';
import { parseMessage } from '@hlsrelay/protocol';
import { FileTarget, MirrorTarget, Uploader, type SegmentGivenUp, type TransferTarget } from '@hlsrelay/uploader';
import { until } from '../../support/until';
import { FakeStream, listedUris } from '../../support/uploader-rig';

/** A clock that only the queues' own waits move forward. */
function fakeTime() {
  let now = 0;
  return { now: () => now, sleep: async (ms: number) => void (now += ms) };
}

/**
 * A mirror that is away until `back()`: every operation fails as a refused connection does
 * (retried, never permanent); once back, it stores what it is sent.
 */
class AwayTarget implements TransferTarget {
  attempts = 0;
  readonly stored: string[] = [];
  #away = true;
  constructor(readonly name: string) {}
  async putSegment(u: { key: string }): Promise<void> {
    return this.#try(u.key);
  }
  async putPlaylist(u: { key: string }): Promise<void> {
    return this.#try(u.key);
  }
  async delete(_bucket: string, key: string): Promise<void> {
    return this.#try(key);
  }
  async close(): Promise<void> {
    this.#away = false;
  }
  back(): void {
    this.#away = false;
  }
  async #try(key: string): Promise<void> {
    this.attempts += 1;
    // A turn of the event loop per attempt, as a real refused connect takes.
    await new Promise((resolve) => setImmediate(resolve));
    if (this.#away) throw Object.assign(new Error('connect ECONNREFUSED 192.0.2.1:21'), { code: 'ECONNREFUSED' });
    this.stored.push(key);
  }
}

const GIVE_UP_MS = 5_000;

async function rig(targets: (root: string) => TransferTarget[]) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hlsrelay-mirror-give-up-'));
  const time = fakeTime();
  const retry = { initialDelayMs: 100, maxDelayMs: 800 };
  const mirror = new MirrorTarget({ targets: targets(path.join(dir, 'www')), logger: silentLogger(), retry, sleep: time.sleep, now: time.now, giveUpAfterMs: GIVE_UP_MS });
  const uploader = new Uploader({ target: mirror, logger: silentLogger(), retry, sleep: time.sleep, clock: time.now, giveUpAfterMs: GIVE_UP_MS, removeLocal: true });
  const givenUp: SegmentGivenUp[] = [];
  uploader.on('segment-given-up', (e: SegmentGivenUp) => givenUp.push(e));
  const stream = new FakeStream(path.join(dir, 'segments'), {
    index: 'cam.m3u8', segmentDuration: 2, outputPrefix: 'cam', httpPrefix: 'https://cdn.example/', firstSegment: 1, bucketName: 'live', keyPrefix: 'show',
  });
  await mkdir(stream.dir, { recursive: true });
  const cleanup = async () => {
    await uploader.close();
    await mirror.close();
    await rm(dir, { recursive: true, force: true });
  };
  return { dir, mirror, uploader, givenUp, stream, cleanup };
}

test('mirrors + give-up: a mirror that is away gives each segment up on its own queue; the healthy one lists them all and local files go', { timeout: 60_000 }, async () => {
  const away = new AwayTarget('ftp://away.example');
  const { dir, mirror, uploader, givenUp, stream, cleanup } = await rig((root) => [new FileTarget({ root }), away]);
  try {
    for (let n = 1; n <= 3; n++) {
      await stream.cut(n);
      await uploader.accept(parseMessage(stream.message(n, n === 3)));
    }
    await uploader.onIdle();
    // Each segment is given up on the away mirror; only its newest playlist is still retried
    // (an older one is superseded by it), as a playlist on a single target is retried until stored.
    await until(() => mirror.stats()[1].failed === 3 && mirror.stats()[1].backlog === 1);
    const playlist = await readFile(path.join(dir, 'www', 'live', 'show', 'cam.m3u8'), 'utf8');
    assert.deepEqual(listedUris(playlist), [1, 2, 3].map((n) => `https://cdn.example/cam-0000${n}.ts`));
    assert.deepEqual(givenUp, [], 'the healthy mirror stored every segment: none is left out');
    const [healthy, lagging] = mirror.stats();
    assert.equal(healthy.failed, 0);
    assert.equal(lagging.name, away.name);
    assert.equal(lagging.failed, 3, 'the three segments given up on the away mirror');
    assert.ok(away.attempts > 3, 'each was retried before it was given up');
    // removeLocal: a file goes once every copy is stored or given up.
    for (let n = 1; n <= 3; n++) {
      const file = path.join(stream.dir, `cam-0000${n}.ts`);
      await mirror.allStored(file);
      for (let i = 0; i < 50 && existsSync(file); i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(existsSync(file), false, `${file} removed once every mirror settled it`);
    }
    // Back again: the newest playlist reaches it and nothing is left queued.
    away.back();
    await mirror.onIdle();
    assert.equal(mirror.stats()[1].backlog, 0);
    assert.deepEqual(away.stored, ['show/cam.m3u8']);
  } finally {
    await cleanup();
  }
});

test('mirrors + give-up: when every mirror is away the segment is given up, left out, and the stream goes on', { timeout: 60_000 }, async () => {
  const first = new AwayTarget('ftp://away.example');
  const second = new AwayTarget('sftp://away.example');
  const { mirror, uploader, givenUp, stream, cleanup } = await rig(() => [first, second]);
  try {
    await stream.cut(1);
    await uploader.accept(parseMessage(stream.message(1)));
    await uploader.onIdle();
    assert.equal(givenUp.length, 1);
    assert.equal(givenUp[0].segment, 1);
    assert.equal(givenUp[0].key, 'show/cam-00001.ts');
    assert.equal(givenUp[0].target, mirror.name);
    assert.match(givenUp[0].error, /ECONNREFUSED/);
    assert.equal(uploader.stats.segmentsSkipped, 1);
    assert.equal(uploader.streams()[0].lastSegment, undefined, 'nothing listed');
  } finally {
    await cleanup();
  }
});
