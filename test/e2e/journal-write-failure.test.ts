/**
 * The uploader's journal cannot write (its state disk is full): that is no fault of the message,
 * so it must not be answered ERR — a segmenter drops an ERR'd message for good. The connection
 * closes unanswered instead, and the segmenter's spool sends the message again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { formatMessage } from '@hlsrelay/protocol';
import { Notifier, Spool } from '@hlsrelay/segmenter';
import { FileTarget, IndexServer, Journal, readJournal, Uploader } from '@hlsrelay/uploader';
import { captureLog } from '../support/log-capture';
import { tempStream } from '../support/stream-fixture';


/**
 * An uploader on a real journal whose next `failures` appends of an accepted message fail as a
 * full disk does; the rest of the journal (and everything else) is real.
 */
async function uploaderWithFailingJournal(dir: string, failures: number) {
  const log = captureLog('uploader', 'debug');
  const stateDir = path.join(dir, 'state');
  const { journal } = await Journal.open(stateDir, { logger: log.logger });
  const accept = journal.accept.bind(journal);
  let left = failures;
  let calls = 0;
  journal.accept = (line: string) => {
    calls++;
    if (left-- > 0) return Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
    return accept(line);
  };
  const root = path.join(dir, 'store');
  const uploader = new Uploader({ target: new FileTarget({ root }), logger: log.logger, journal });
  const server = new IndexServer({ logger: log.logger, onMessage: (m, peer) => uploader.accept(m, peer) });
  const address = await server.listen('127.0.0.1', 0);
  let closing: Promise<void> | undefined;
  return {
    address,
    uploader,
    server,
    root,
    stateDir,
    records: log.entries,
    accepts: () => calls,
    close() {
      closing ??= (async () => {
        await server.close();
        await uploader.close();
        await journal.close();
      })();
      return closing;
    },
  };
}


test('a journal write failure closes the session unanswered: no ERR, and the error log names peer and stream', async () => {
  const s = tempStream('journal-fault');
  const up = await uploaderWithFailingJournal(s.dir, 1);
  try {
    const socket = net.connect(up.address.port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (received += d));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => {});
    socket.write('HLSRELAY 1\n' + formatMessage(s.message(1)) + '\n');
    await closed;
    assert.deepEqual(received.split('\n').filter(Boolean), ['HLSRELAY 1 ack'], 'the greeting, then nothing: no OK, no ERR');
    assert.equal(up.server.malformed, 0, 'not counted as a bad message');
    const error = up.records.find((r) => r.level === 'error' && String(r.message).includes('could not be recorded'));
    assert.ok(error, `an error is logged; got ${JSON.stringify(up.records)}`);
    assert.match(String(error.peer), /^127\.0\.0\.1:\d+$/);
    assert.ok(String(error.stream).includes('s.m3u8'), `stream named: ${String(error.stream)}`);
    assert.match(String(error.error), /ENOSPC/);
  } finally {
    await up.close();
    s.done();
  }
});

test('a segmenter keeps a message the journal could not record and delivers it once the fault clears', async () => {
  const s = tempStream('journal-fault');
  // Two failures: the first send and its first resend both meet the full disk.
  const up = await uploaderWithFailingJournal(s.dir, 2);
  const spool = new Spool(path.join(s.dir, 'spool'));
  const notifier = new Notifier({ uploader: { host: '127.0.0.1', port: up.address.port }, spool, initialRetryMs: 20, maxRetryMs: 100 });
  try {
    notifier.send(formatMessage(s.message(1)));
    notifier.send(formatMessage(s.message(2)));
    notifier.send(formatMessage(s.message(3, true)));
    await notifier.onIdle();
    assert.equal(notifier.refused, 0, 'nothing was answered ERR');
    assert.equal(notifier.acknowledged, 3, 'every message acknowledged once the journal could write it');
    assert.equal(spool.size, 0);
    assert.equal(up.accepts(), 5, 'message 1 was offered three times: twice to a full disk, then recorded');
    await up.uploader.onIdle();
    for (const n of [1, 2, 3]) assert.ok(existsSync(path.join(up.root, `b/live/s-0000${n}.ts`)), `segment ${n} stored`);
    const playlist = readFileSync(path.join(up.root, 'b/live/s.m3u8'), 'utf8');
    const listed = playlist.split('\n').filter((l) => l.endsWith('.ts'));
    assert.deepEqual(listed, ['http://cdn/s-00001.ts', 'http://cdn/s-00002.ts', 'http://cdn/s-00003.ts'], 'each segment listed once, in order');
    assert.match(playlist, /#EXT-X-ENDLIST/);
    await up.close();
    assert.deepEqual(readJournal(up.stateDir).pending, [], 'every recorded message is done');
  } finally {
    notifier.close();
    spool.close();
    await up.close();
    s.done();
  }
});
