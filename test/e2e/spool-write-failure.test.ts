/**
 * The segmenter's `--spool-dir` disk fills up (or fails) during a live stream: the stream must
 * go on. A message the spool cannot record is still delivered from memory; a delivered one the
 * spool cannot strike off is logged and delivery goes on — nothing throws, nothing is lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { silentLogger } from '@hlsrelay/log';
import { formatMessage, type IndexMessage } from '@hlsrelay/protocol';
import { Notifier, Spool } from '@hlsrelay/segmenter';
import { FileTarget, startUploaderService, type MessageAccepted } from '@hlsrelay/uploader';
import { captureLog } from '../support/log-capture';
import { tempDir } from '../support/temp-dir';

/** A real spool whose disk writes can be made to fail as a full disk does. */
class FullDiskSpool extends Spool {
  failAdd = false;
  failRemove = false;

  override add(line: string): ReturnType<Spool['add']> {
    if (this.failAdd) throw enospc();
    return super.add(line);
  }

  override remove(id: number): void {
    if (this.failRemove) throw enospc();
    super.remove(id);
  }
}

function enospc(): Error {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
}


test('a spool that cannot write: every message is still delivered, in order, and nothing throws', async () => {
  const dir = tempDir('spool-fault');
  const segs = path.join(dir, 'segs');
  mkdirSync(segs);
  const message = (n: number, end = false): string => {
    writeFileSync(path.join(segs, `s-${String(n).padStart(5, '0')}.ts`), `segment ${n}`);
    const m: IndexMessage = {
      index: 's.m3u8', outputDirectory: segs, segmentDuration: 1, outputPrefix: 's', httpPrefix: 'http://cdn/',
      firstSegment: 1, lastSegment: n, end, bucketName: 'b', keyPrefix: 'live', ext: { duration: 1 },
    };
    return formatMessage(m);
  };
  const root = path.join(dir, 'store');
  const service = await startUploaderService({ target: new FileTarget({ root }), logger: silentLogger(), host: '127.0.0.1', port: 0 });
  const arrived: number[] = [];
  service.uploader.on('message-accepted', (e: MessageAccepted) => arrived.push(e.segment));
  const log = captureLog('segmenter', 'info');
  const spool = new FullDiskSpool(path.join(dir, 'spool'));
  const notifier = new Notifier({ uploader: { host: '127.0.0.1', port: service.address.port }, spool, logger: log.logger });
  try {
    notifier.send(message(1));
    spool.failAdd = true;
    assert.doesNotThrow(() => notifier.send(message(2)), 'a spool write failure does not reach the segmenter');
    assert.doesNotThrow(() => notifier.send(message(3)));
    spool.failAdd = false;
    // The disk is back for adding but not for striking off: removals fail inside a promise callback.
    spool.failRemove = true;
    notifier.send(message(4));
    assert.equal(notifier.pending, 4, 'messages the spool could not record wait in memory');
    notifier.send(message(5, true));
    await notifier.onIdle();
    assert.equal(notifier.delivered, 5);
    assert.equal(notifier.acknowledged, 5);
    assert.equal(notifier.refused, 0);
    assert.deepEqual(arrived, [1, 2, 3, 4, 5], 'the uploader got every message, in order');
    await service.uploader.onIdle();
    const listed = readFileSync(path.join(root, 'b/live/s.m3u8'), 'utf8').split('\n').filter((l) => l.endsWith('.ts'));
    assert.deepEqual(listed, [1, 2, 3, 4, 5].map((n) => `http://cdn/s-0000${n}.ts`));

    const errors = log.entries.filter((r) => r.level === 'error');
    const unspooled = errors.filter((r) => String(r.message).includes('kept in memory only'));
    assert.deepEqual(unspooled.map((r) => r.segment), [2, 3], 'each message kept only in memory is logged, naming it');
    assert.ok(unspooled.every((r) => r.stream === 's.m3u8' && /ENOSPC/.test(String(r.error))));
    const unremoved = errors.filter((r) => String(r.message).includes('removing a delivered'));
    assert.deepEqual(unremoved.map((r) => r.segment), [1, 4, 5], 'each failed removal is logged, naming it');
    // Those the spool could not strike off stay on disk: a restart sends them again (the uploader recognises repeats).
    assert.deepEqual(spool.messages().map((m) => m.line), [message(1), message(4), message(5, true)]);
  } finally {
    notifier.close();
    spool.close();
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
