/**
 * What the uploader does when a segment, a playlist or a delete is refused for good: the stream
 * goes on, the playlist stays honest, and the daemon does not die.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { silentLogger } from '@hlsrelay/log';
import type { IndexMessage } from '@hlsrelay/protocol';
import { FileTarget, PermanentTransferError, Uploader } from '@hlsrelay/uploader';
import { tempDir } from '../../support/temp-dir';

function setup() {
  const dir = tempDir('left-out');
  const segs = path.join(dir, 'segs');
  mkdirSync(segs);
  const message = (n: number, end = false, size?: number): IndexMessage => {
    const body = `segment ${n}`;
    writeFileSync(path.join(segs, `s-${String(n).padStart(5, '0')}.ts`), body);
    return {
      index: 's.m3u8', outputDirectory: segs, segmentDuration: 1, outputPrefix: 's', httpPrefix: 'http://cdn/',
      firstSegment: 1, lastSegment: n, end, bucketName: 'b', keyPrefix: 'live', ext: { duration: 1, size: size ?? Buffer.byteLength(body) },
    };
  };
  const root = path.join(dir, 'store');
  return { message, root, playlist: () => readFileSync(path.join(root, 'b/live/s.m3u8'), 'utf8'), done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('a segment whose file differs from its announced size is not listed, and the next one follows a discontinuity', async () => {
  const s = setup();
  const uploader = new Uploader({ target: new FileTarget({ root: s.root }), logger: silentLogger(), window: 5 });
  try {
    await uploader.accept(s.message(1));
    await uploader.accept(s.message(2, false, 999)); // cut short: 9 bytes on disk, 999 announced
    await uploader.accept(s.message(3, true));
    await uploader.onIdle();
    const text = s.playlist();
    assert.deepEqual(text.split('\n').filter((l) => l.endsWith('.ts')), ['http://cdn/s-00001.ts', 'http://cdn/s-00003.ts']);
    assert.match(text, /s-00001\.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:1\.000,\nhttp:\/\/cdn\/s-00003\.ts\n#EXT-X-ENDLIST\n$/);
    assert.equal(uploader.stats.segmentsSkipped, 1);
  } finally {
    await uploader.close();
    s.done();
  }
});

test('a delete refused for good is logged and dropped; expiry goes on and never rejects', async () => {
  const s = setup();
  let now = 1_000_000;
  const refused: string[] = [];
  class NoDeletes extends FileTarget {
    override async delete(_bucket: string, key: string): Promise<void> {
      refused.push(key);
      throw new PermanentTransferError('AccessDenied');
    }
  }
  const uploader = new Uploader({ target: new NoDeletes({ root: s.root }), logger: silentLogger(), window: 1, deleteAfter: true, retentionIntervalMs: 0, wallClock: () => now });
  try {
    for (const n of [1, 2, 3]) {
      await uploader.accept(s.message(n));
      await uploader.onIdle();
      now += 10_000;
    }
    assert.equal(await uploader.expireDue(), 0, 'nothing could be deleted');
    assert.deepEqual(refused, ['live/s-00001.ts', 'live/s-00002.ts']);
    assert.equal(await uploader.expireDue(), 0);
    assert.equal(refused.length, 2, 'a refused delete is not tried again every tick');
  } finally {
    await uploader.close();
    s.done();
  }
});
