/**
 * A full uploader pushes back on the TCP side (access/backlog-limit.ts): past its limit of
 * messages accepted and not yet stored, a session's lines wait unread — no OK, so the segmenter
 * keeps them in its spool — and are taken, in order, once the uploads catch up. A 2009 one-shot
 * message is still taken at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { formatHello, formatMessage } from '@hlsrelay/protocol';
import { silentLogger } from '@hlsrelay/log';
import { BacklogLimit, startUploaderService, type SegmentUpload, type TransferTarget } from '@hlsrelay/uploader';
import { tempDir } from '../../support/temp-dir';
import { sleep, until } from '../../support/until';
import { PersistentClient, sendOriginal } from '../../support/uploader-rig';

/** A store that holds every segment PUT until released. */
function heldTarget() {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const stored: string[] = [];
  const target: TransferTarget = {
    name: 'held',
    async putSegment(u: SegmentUpload) {
      await released;
      stored.push(u.key);
    },
    async putPlaylist() {},
    async delete() {},
    async close() {},
  };
  return { target, stored, release };
}

const message = (stream: string, n: number) => formatMessage({
  index: `${stream}.m3u8`, outputDirectory: '/nonexistent', segmentDuration: 2, outputPrefix: stream, httpPrefix: '',
  firstSegment: 1, lastSegment: n, end: false, bucketName: 'b', keyPrefix: 'live', ext: {},
});

test('past the queued-message limit a session is not read (no OK) until the uploads catch up; then every message is taken in order', async (t) => {
  const dir = tempDir('backlog-limit');
  const held = heldTarget();
  const service = await startUploaderService({
    target: held.target, logger: silentLogger(), host: '127.0.0.1', port: 0, concurrency: 1, stateDir: dir, maxQueuedMessages: 2,
  });
  const client = await PersistentClient.connect(service.address.port);
  t.after(async () => {
    held.release();
    client.socket.destroy();
    await service.close();
    await rm(dir, { recursive: true, force: true });
  });
  client.socket.write(`${formatHello()}\n`);
  for (let n = 1; n <= 5; n++) client.send(message('cam', n));
  assert.deepEqual(await client.waitForLines(2), ['OK 1', 'OK 2']);
  await until(() => service.uploader.stats.messages === 2, 5_000, 'two messages taken');
  await sleep(300);
  assert.equal(client.replies, 'OK 1\nOK 2\n', 'the rest wait unread: no OK, so the segmenter keeps them');
  assert.equal(service.uploader.stats.messages, 2);

  // A 2009 segmenter reads no answer and closes: its message is taken even now.
  await sendOriginal(service.address.port, message('old', 1));
  await until(() => service.uploader.stats.messages === 3, 5_000, 'the one-shot message taken');

  held.release();
  assert.deepEqual(await client.waitForLines(5), ['OK 1', 'OK 2', 'OK 3', 'OK 4', 'OK 5']);
  await service.uploader.onIdle();
  assert.deepEqual(held.stored.filter((k) => k.startsWith('live/cam')), [1, 2, 3, 4, 5].map((n) => `live/cam-0000${n}.ts`));
});

test('backlog limit: waiters are called, oldest first, once the queue is under the limit; a bad limit is refused', async () => {
  let queued = 3;
  const limit = new BacklogLimit(() => queued, 3);
  assert.equal(limit.hasRoom(), false);
  const called: string[] = [];
  limit.whenRoom(() => called.push('a'));
  limit.whenRoom(() => called.push('b'));
  assert.equal(limit.waiting, 2);
  await sleep(100);
  assert.deepEqual(called, [], 'still full');
  queued = 2;
  await until(() => called.length === 2, 5_000, 'the waiters');
  assert.deepEqual(called, ['a', 'b']);
  assert.equal(limit.waiting, 0);
  assert.throws(() => new BacklogLimit(() => 0, 0), /queued-message limit must be a whole number ≥ 1, got 0/);
});
