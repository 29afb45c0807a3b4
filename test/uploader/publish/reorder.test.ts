/**
 * One-shot messages (the 2009 form: a connection per message) overtaking each other. On a busy
 * transcode machine segment N+1's connection can be handled before segment N's. The uploader
 * holds a message that skips numbers for a moment (min(reorderHoldMs, half a segment)) so the
 * playlist lists segments in order; one that comes after the hold gave up on it is stored under
 * its own name, never listed (RFC 8216 §6.2.2: segments are never added before listed ones), and
 * said so. A segmenter that really restarts (numbers from 1 again) is still a restart, and
 * messages of a session (one connection, in order) are never held.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { formatMessage, segmentFileName, type IndexMessage } from '@hlsrelay/protocol';
import { FileTarget, StreamState, startUploaderService, streamKeyOf, type UploaderService } from '@hlsrelay/uploader';
import { captureLog, type CapturedLog } from '../../support/log-capture';
import { tempDir } from '../../support/temp-dir';
import { until } from '../../support/until';

interface Rig {
  service: UploaderService;
  log: CapturedLog;
  /** Writes segment `n`'s file and returns its message. */
  message(n: number, end?: boolean): IndexMessage;
  /** Sends `m` as live_upload did: connect, write the line, close. */
  send(m: IndexMessage): Promise<void>;
  playlist(): string;
  stored(name: string): boolean;
  close(): Promise<void>;
}

async function rig(name: string, options: { reorderHoldMs?: number; segmentDuration?: number; deleteAfter?: boolean; wallClock?: () => number } = {}): Promise<Rig> {
  const dir = tempDir(name);
  const segments = path.join(dir, 'segments');
  const www = path.join(dir, 'www');
  fs.mkdirSync(segments);
  const log = captureLog('uploader', 'info');
  const { segmentDuration = 2, ...uploaderOptions } = options;
  const service = await startUploaderService({
    target: new FileTarget({ root: www }), logger: log.logger, host: '127.0.0.1', port: 0, retentionIntervalMs: 0, ...uploaderOptions,
  });
  const message = (n: number, end = false): IndexMessage => {
    fs.writeFileSync(path.join(segments, segmentFileName('r', n)), Buffer.from(`segment ${n}`));
    return {
      index: 'r.m3u8', outputDirectory: segments, segmentDuration, outputPrefix: 'r', httpPrefix: 'https://cdn.example/live/',
      firstSegment: 1, lastSegment: n, end, bucketName: 'b', keyPrefix: 'live', ext: { duration: segmentDuration },
    };
  };
  const send = (m: IndexMessage) =>
    new Promise<void>((resolve, reject) => {
      const socket = net.connect(service.address.port, '127.0.0.1', () => socket.end(formatMessage(m)));
      socket.on('error', reject);
      socket.on('close', () => resolve());
      socket.resume();
    });
  const file = (n: string) => path.join(www, 'b', 'live', n);
  return {
    service, log, message, send,
    playlist: () => (fs.existsSync(file('r.m3u8')) ? fs.readFileSync(file('r.m3u8'), 'utf8') : ''),
    stored: (n) => fs.existsSync(file(n)),
    close: async () => {
      await service.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const listed = (playlist: string) => [...playlist.matchAll(/^https:\/\/cdn\.example\/live\/(.+)$/gm)].map((m) => m[1]);

test('segment 3 handled before segment 2 (2009 senders, a connection each): held, then both listed in order, no discontinuity', async () => {
  const r = await rig('reorder-held');
  try {
    await r.send(r.message(1));
    await until(() => listed(r.playlist()).length === 1, 10_000, 'segment 1 listed');
    await r.send(r.message(3));
    // Segment 3 waits for 2: nothing new is listed meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(listed(r.playlist()), ['r-00001.ts'], 'segment 3 is not listed before segment 2 had its chance');
    await r.send(r.message(2));
    await r.send(r.message(4));
    await until(() => listed(r.playlist()).length === 4, 10_000, 'four segments listed');
    await r.service.uploader.onIdle();
    const text = r.playlist();
    assert.deepEqual(listed(text), ['r-00001.ts', 'r-00002.ts', 'r-00003.ts', 'r-00004.ts']);
    assert.doesNotMatch(text, /EXT-X-DISCONTINUITY/);
    await r.log.settle();
    const warnings = r.log.entries.filter((e) => e.level === 'warn' || e.level === 'error');
    assert.deepEqual(warnings.map((e) => e.message), [], 'nothing to warn about: every segment came within the hold');
  } finally {
    await r.close();
  }
});

test('segment 2 after segment 3 was listed: stored under its own name, never listed, said so; the stream goes on without a discontinuity', async () => {
  let now = 1_000_000;
  const r = await rig('reorder-late', { reorderHoldMs: 20, deleteAfter: true, wallClock: () => now });
  try {
    await r.send(r.message(1));
    await until(() => listed(r.playlist()).length === 1, 10_000, 'segment 1 listed');
    await r.send(r.message(3));
    await until(() => listed(r.playlist()).length === 2, 10_000, 'segment 3 listed once the hold gave up on 2');
    const before = r.playlist();
    await r.send(r.message(2));
    await until(() => r.stored('r-00002.ts'), 10_000, 'segment 2 stored');
    await r.service.uploader.onIdle();
    assert.equal(r.playlist(), before, 'the playlist did not change: a segment is never listed before one already listed');
    await r.log.settle();
    const late = r.log.entries.find((e) => e.message.startsWith('segment 2 arrived after segment 3 was listed'));
    assert.ok(late, 'the late segment is reported');
    assert.equal(late.level, 'warn');
    assert.equal(late.message, 'segment 2 arrived after segment 3 was listed: stored as live/r-00002.ts, not listed');

    await r.send(r.message(4));
    await until(() => listed(r.playlist()).length === 3, 10_000, 'segment 4 listed');
    const text = r.playlist();
    assert.deepEqual(listed(text), ['r-00001.ts', 'r-00003.ts', 'r-00004.ts']);
    assert.doesNotMatch(text, /EXT-X-DISCONTINUITY/, 'a late segment is not a restart');
    assert.doesNotMatch(text, /-r1-/, 'no restart epoch in the names');

    // Unlisted, it goes with the retention grace as a segment that left the window does.
    now += 10 * 60_000;
    await r.service.uploader.expireDue();
    assert.equal(r.stored('r-00002.ts'), false, 'the late segment is deleted once its grace passed');
    assert.equal(r.stored('r-00004.ts'), true, 'listed segments stay');
  } finally {
    await r.close();
  }
});

test('a segmenter that numbers from 1 again is a restart, not a late segment: not held, listed behind a discontinuity', async () => {
  const r = await rig('reorder-restart');
  try {
    for (let n = 1; n <= 3; n++) {
      await r.send(r.message(n));
      await until(() => listed(r.playlist()).length === n, 10_000, `segment ${n} listed`);
    }
    await r.send(r.message(1));
    await until(() => listed(r.playlist()).length === 4, 10_000, 'the restarted run listed');
    const text = r.playlist();
    assert.deepEqual(listed(text), ['r-00001.ts', 'r-00002.ts', 'r-00003.ts', 'r-r1-00001.ts']);
    assert.match(text, /#EXT-X-DISCONTINUITY\n#EXTINF:2\.000,\nhttps:\/\/cdn\.example\/live\/r-r1-00001\.ts\n/);
  } finally {
    await r.close();
  }
});

test('a restart while a message is held: the held one belongs to the run before, and is listed before the discontinuity', async () => {
  const r = await rig('reorder-restart-held', { reorderHoldMs: 60_000, segmentDuration: 600 });
  try {
    for (const n of [1, 2]) {
      await r.send(r.message(n));
      await until(() => listed(r.playlist()).length === n, 10_000, `segment ${n} listed`);
    }
    await r.send(r.message(4));
    await until(() => r.service.uploader.streams().some((s) => s.queued === 1), 10_000, 'segment 4 held');
    await r.send(r.message(1));
    await until(() => listed(r.playlist()).length === 4, 10_000, 'segment 4 and the new run listed');
    const text = r.playlist();
    assert.deepEqual(listed(text), ['r-00001.ts', 'r-00002.ts', 'r-00004.ts', 'r-r1-00001.ts']);
    assert.match(text, /r-00004\.ts\n#EXT-X-DISCONTINUITY\n/);
  } finally {
    await r.close();
  }
});

test('shutdown does not wait out the hold: a held segment is stored and listed by close()', async () => {
  const r = await rig('reorder-close', { reorderHoldMs: 60_000, segmentDuration: 600 });
  try {
    await r.send(r.message(1));
    await until(() => listed(r.playlist()).length === 1, 10_000, 'segment 1 listed');
    await r.send(r.message(3));
    await until(() => r.service.uploader.streams().some((s) => s.queued === 1), 10_000, 'segment 3 held');
    assert.deepEqual(listed(r.playlist()), ['r-00001.ts']);
    assert.equal(r.service.uploader.queuedMessages, 1, 'a held message counts as queued');
    await r.service.close();
    assert.deepEqual(listed(r.playlist()), ['r-00001.ts', 'r-00003.ts'], 'close() let the held message go before it returned');
  } finally {
    await r.close().catch(() => undefined);
  }
});

test('messages of a session (one connection, in order) are never held: a gap there is numbers the segmenter skipped', async () => {
  // With a one-minute hold, a held message would not be handled within the test's timeout.
  const r = await rig('reorder-session', { reorderHoldMs: 60_000, segmentDuration: 600 });
  try {
    await r.service.uploader.accept(r.message(1));
    await r.service.uploader.accept(r.message(3));
    assert.deepEqual(listed(r.playlist()), ['r-00001.ts', 'r-00003.ts']);
    await r.log.settle();
    assert.ok(r.log.entries.some((e) => e.level === 'warn' && String(e.message).includes('segments 2..2 were never announced')));
  } finally {
    await r.close();
  }
});

test('StreamState: a number skipped a moment ago is late; one outside any recent gap is a restart; a restart forgets the gaps', () => {
  const m = (n: number): IndexMessage => ({
    index: 'r.m3u8', outputDirectory: '/tmp', segmentDuration: 2, outputPrefix: 'r', httpPrefix: 'https://cdn/',
    firstSegment: 1, lastSegment: n, end: false, bucketName: 'b', keyPrefix: '', ext: {},
  });
  const s = new StreamState(streamKeyOf(m(1)), { window: 5 });
  for (const n of [1, 2, 4, 5]) s.append(m(n));
  assert.deepEqual(s.classify(m(3)), { kind: 'late' });
  assert.deepEqual(s.classify(m(2)), { kind: 'new', restart: true }, 'a listed number again: the segmenter counts again');
  assert.deepEqual(s.classify(m(6)), { kind: 'new', restart: false });
  s.append(m(40)); // 35 numbers skipped at once: a jump, not overtaking
  assert.deepEqual(s.classify(m(20)), { kind: 'new', restart: true });
  assert.deepEqual(s.classify(m(3)), { kind: 'late' }, 'the small gap is still recent');
  assert.equal(s.objectName(m(3)), 'r-00003.ts', 'a late segment keeps its epoch\'s name');
  s.append(m(1)); // restart
  assert.deepEqual(s.classify(m(3)), { kind: 'new', restart: false }, 'a new run: 3 is simply next-but-one');
  assert.equal(s.snapshot().gaps, undefined);
});
