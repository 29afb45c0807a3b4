import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { silentLogger } from '@hlsrelay/log';
import { formatMessage } from '@hlsrelay/protocol';
import { Notifier, Spool } from '@hlsrelay/segmenter';
import { FileTarget, readJournal, startUploaderService, Uploader } from '@hlsrelay/uploader';
import { tempStream } from '../support/stream-fixture';


function readLines(socket: net.Socket, n: number): Promise<string[]> {
  return new Promise((resolve) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      text += d;
      const lines = text.split('\n');
      if (lines.length > n) resolve(lines.slice(0, n));
    });
  });
}

test('the ack exchange: greeting, hello, OK per message once journaled, numbered ERR for a bad one', async () => {
  const s = tempStream('ack');
  const service = await startUploaderService({ target: new FileTarget({ root: s.root }), logger: silentLogger(), host: '127.0.0.1', port: 0, stateDir: path.join(s.dir, 'state') });
  try {
    const socket = net.connect(service.address.port, '127.0.0.1');
    const lines = readLines(socket, 3);
    socket.write('HLSRELAY 1\n' + formatMessage(s.message(1)) + '\nnot a message\n');
    // With a state directory the uploader also offers to take shipped segment bytes (payload).
    assert.deepEqual(await lines, ['HLSRELAY 1 ack payload payload-init', 'OK 1', 'ERR 2 expected at least 10 comma-separated fields, got 1']);
    socket.destroy();
    await service.uploader.onIdle();
    assert.ok(existsSync(path.join(s.root, 'b/live/s-00001.ts')));
  } finally {
    await service.close();
    s.done();
  }
  assert.deepEqual(readJournal(path.join(s.dir, 'state')).pending, [], 'done messages leave the journal');
});

test('a new segmenter gets every message acknowledged; one the uploader refuses is not sent again', async () => {
  const s = tempStream('ack');
  const service = await startUploaderService({ target: new FileTarget({ root: s.root }), logger: silentLogger(), host: '127.0.0.1', port: 0, stateDir: path.join(s.dir, 'state') });
  const spool = new Spool(path.join(s.dir, 'spool'));
  const notifier = new Notifier({ uploader: { host: '127.0.0.1', port: service.address.port }, spool, logger: silentLogger() });
  try {
    notifier.send(formatMessage(s.message(1)));
    notifier.send('refused, because it is short');
    notifier.send(formatMessage(s.message(2, true)));
    await notifier.onIdle();
    assert.equal(notifier.acknowledged, 2);
    assert.equal(notifier.refused, 1);
    assert.equal(spool.size, 0, 'acknowledged messages leave the spool');
    await service.uploader.onIdle();
    assert.ok(existsSync(path.join(s.root, 'b/live/s-00002.ts')));
  } finally {
    notifier.close();
    spool.close();
    await service.close();
    s.done();
  }
});

test('an original uploader that never greets gets one message per connection, no newline', async () => {
  const received: string[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.on('end', () => {
      received.push(text);
      socket.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const notifier = new Notifier({ uploader: { host: '127.0.0.1', port: (server.address() as net.AddressInfo).port }, greetingTimeoutMs: 100 });
  try {
    notifier.send('first, message');
    notifier.send('second, message');
    await notifier.onIdle();
    // Delivered means handed to the kernel with FIN; the server reads it a moment later.
    for (let i = 0; i < 100 && received.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(received, ['first, message', 'second, message']);
    assert.equal(notifier.acknowledged, 0);
    assert.equal(notifier.delivered, 2);
  } finally {
    notifier.close();
    server.close();
  }
});

test('retention: a segment is deleted only once its duration plus the longest playlist that listed it has passed', async () => {
  const s = tempStream('ack');
  let now = 1_000_000;
  const uploader = new Uploader({ target: new FileTarget({ root: s.root }), logger: silentLogger(), window: 2, deleteAfter: true, retentionIntervalMs: 0, wallClock: () => now });
  try {
    for (const n of [1, 2]) {
      await uploader.accept(s.message(n));
      await uploader.onIdle();
    }
    now += 10_000;
    await uploader.accept(s.message(3)); // playlist [2, 3]: segment 1 left at this moment
    await uploader.onIdle();
    const left = now;
    const first = path.join(s.root, 'b/live/s-00001.ts');
    // Segment 1 lasted 1 s; the longest playlist that listed it, [1, 2], lasted 2 s: 3 s of grace.
    now = left + 2_999;
    assert.equal(await uploader.expireDue(), 0);
    assert.ok(existsSync(first), 'still there within the grace');
    now = left + 3_000;
    assert.equal(await uploader.expireDue(), 1);
    assert.ok(!existsSync(first), 'deleted after it');
    assert.ok(existsSync(path.join(s.root, 'b/live/s-00002.ts')), 'listed segments stay');
    assert.throws(() => new Uploader({ target: new FileTarget({ root: s.root }), logger: silentLogger(), deleteAfter: true, archive: '%s-a.m3u8' }), /exclude each other/);
  } finally {
    await uploader.close();
    s.done();
  }
});
