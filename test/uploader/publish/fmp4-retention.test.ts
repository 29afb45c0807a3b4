/**
 * fMP4 with --delete-after on a file target: an init section stays while any listed segment needs
 * it and goes with the grace of the last one that did, like the segments themselves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { silentLogger } from '@hlsrelay/log';
import type { IndexMessage } from '@hlsrelay/protocol';
import { FileTarget, Uploader } from '@hlsrelay/uploader';
import { tempDir } from '../../support/temp-dir';

test('--delete-after: an init is deleted only after the last segment that needs it left and its grace passed', async () => {
  const dir = tempDir('fmp4-retention');
  const segs = path.join(dir, 'segs');
  mkdirSync(segs);
  for (const init of ['s-init.mp4', 's-init-2.mp4']) writeFileSync(path.join(segs, init), `bytes of ${init}`);
  const message = (n: number, init: string): IndexMessage => {
    const body = `segment ${n}`;
    writeFileSync(path.join(segs, `s-${String(n).padStart(5, '0')}.m4s`), body);
    return {
      index: 's.m3u8', outputDirectory: segs, segmentDuration: 1, outputPrefix: 's', httpPrefix: 'http://cdn/',
      firstSegment: 1, lastSegment: n, end: false, bucketName: 'b', keyPrefix: 'live',
      ext: { duration: 1, size: Buffer.byteLength(body), format: 'fmp4', init, discontinuity: init !== 's-init.mp4' && n === 3 },
    };
  };
  const root = path.join(dir, 'store');
  const stored = (name: string) => existsSync(path.join(root, 'b/live', name));
  let now = 1_000_000;
  const uploader = new Uploader({ target: new FileTarget({ root }), logger: silentLogger(), window: 2, deleteAfter: true, retentionIntervalMs: 0, wallClock: () => now });
  try {
    for (const [n, init] of [[1, 's-init.mp4'], [2, 's-init.mp4'], [3, 's-init-2.mp4']] as const) {
      await uploader.accept(message(n, init));
      await uploader.onIdle();
      now += 10_000;
    }
    const text = readFileSync(path.join(root, 'b/live/s.m3u8'), 'utf8');
    assert.match(text, /#EXT-X-MAP:URI="http:\/\/cdn\/s-init\.mp4"\n#EXTINF:1\.000,\nhttp:\/\/cdn\/s-00002\.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="http:\/\/cdn\/s-init-2\.mp4"\n/);
    await uploader.expireDue();
    assert.equal(stored('s-00001.m4s'), false, 'segment 1 left and its grace passed');
    assert.equal(stored('s-init.mp4'), true, 'segment 2 is listed and needs the first init');
    await uploader.accept(message(4, 's-init-2.mp4'));
    await uploader.onIdle();
    // Segment 2 left with this playlist: its grace (and the init's) runs from now.
    assert.equal(await uploader.expireDue(), 0);
    assert.equal(stored('s-init.mp4'), true, 'kept through the grace of the last segment that needed it');
    now += 10_000;
    assert.equal(await uploader.expireDue(), 2);
    assert.deepEqual([stored('s-00002.m4s'), stored('s-init.mp4'), stored('s-init-2.mp4')], [false, false, true]);
  } finally {
    await uploader.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
