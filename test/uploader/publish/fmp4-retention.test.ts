/**
 * fMP4 on a file target: with --delete-after an init section stays while any listed segment needs
 * it and goes with the grace of the last one that did, like the segments themselves; the archive
 * playlist maps every init its segments need.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { silentLogger } from '@hlsrelay/log';
import type { IndexMessage } from '@hlsrelay/protocol';
import { FileTarget, Uploader } from '@hlsrelay/uploader';
import { tempDir } from '../../support/temp-dir';

function setup() {
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
  const text = (name: string) => readFileSync(path.join(root, 'b/live', name), 'utf8');
  return { dir, root, message, stored, text };
}

test('--delete-after: an init is deleted only after the last segment that needs it left and its grace passed', async () => {
  const { dir, root, message, stored } = setup();
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

test('the archive playlist lists every segment with the EXT-X-MAP each init needs, version 6', async () => {
  const { dir, root, message, text } = setup();
  const uploader = new Uploader({ target: new FileTarget({ root }), logger: silentLogger(), window: 1, archive: '%s-archive.m3u8' });
  try {
    for (const [n, init] of [[1, 's-init.mp4'], [2, 's-init.mp4'], [3, 's-init-2.mp4']] as const) await uploader.accept(message(n, init));
    await uploader.onIdle();
    const archive = text('s-archive.m3u8');
    assert.match(archive, /^#EXTM3U\n#EXT-X-VERSION:6\n/);
    assert.match(archive, /#EXT-X-MAP:URI="http:\/\/cdn\/s-init\.mp4"\n#EXTINF:1\.000,\nhttp:\/\/cdn\/s-00001\.m4s\n#EXTINF:1\.000,\nhttp:\/\/cdn\/s-00002\.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="http:\/\/cdn\/s-init-2\.mp4"\n#EXTINF:1\.000,\nhttp:\/\/cdn\/s-00003\.m4s\n/);
    // The live window holds one segment: its own init is mapped before it.
    assert.match(text('s.m3u8'), /#EXT-X-DISCONTINUITY-SEQUENCE:0\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="http:\/\/cdn\/s-init-2\.mp4"\n/);
  } finally {
    await uploader.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('removing local files: an init goes once a stored segment needs the next one; the newest init stays', async () => {
  for (const removeLocal of [true, false]) {
    const { dir, root, message, stored } = setup();
    const local = (name: string) => existsSync(path.join(dir, 'segs', name));
    const uploader = new Uploader({ target: new FileTarget({ root }), logger: silentLogger(), window: 5, removeLocal });
    try {
      for (const n of [1, 2]) await uploader.accept(message(n, 's-init.mp4'));
      await uploader.onIdle();
      assert.equal(local('s-init.mp4'), true, 'the init segments still name stays');
      await uploader.accept(message(3, 's-init-2.mp4'));
      await uploader.onIdle();
      assert.deepEqual([stored('s-init.mp4'), stored('s-init-2.mp4')], [true, true]);
      assert.deepEqual(
        ['s-00001.m4s', 's-00003.m4s', 's-init.mp4', 's-init-2.mp4'].map(local),
        removeLocal ? [false, false, false, true] : [true, true, true, true],
        `removeLocal ${removeLocal}`,
      );
    } finally {
      await uploader.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('an uploader without state continues an fMP4 stream from its stored playlist: EXT-X-MAP kept, new names never reuse a stored run, the old init retired', async () => {
  const { dir, root, message, stored, text } = setup();
  let now = 1_000_000;
  const options = { target: new FileTarget({ root }), logger: silentLogger(), window: 2, deleteAfter: true, retentionIntervalMs: 0, wallClock: () => now };
  let uploader = new Uploader(options);
  try {
    // Two runs before: segments 1..2, then a segmenter restart (numbers from 1 again) stored as run 1.
    for (const n of [1, 2, 1, 2]) {
      await uploader.accept(message(n, 's-init.mp4'));
      await uploader.onIdle();
    }
    await uploader.close();
    const before = text('s.m3u8');
    assert.match(before, /#EXT-X-MAP:URI="http:\/\/cdn\/s-r1-init\.mp4"\n#EXTINF:1\.000,\nhttp:\/\/cdn\/s-r1-00001\.m4s\n/);

    // A new uploader, no journal: it reads the stored playlist back.
    uploader = new Uploader(options);
    await uploader.accept(message(1, 's-init.mp4'));
    await uploader.onIdle();
    const after = text('s.m3u8');
    assert.match(
      after,
      /^#EXTM3U\n#EXT-X-VERSION:6\n[^]*#EXT-X-MAP:URI="http:\/\/cdn\/s-r1-init\.mp4"\n#EXTINF:1\.000,\nhttp:\/\/cdn\/s-r1-00002\.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="http:\/\/cdn\/s-r2-init\.mp4"\n#EXTINF:1\.000,\nhttp:\/\/cdn\/s-r2-00001\.m4s\n$/,
      'the recovered segment keeps its init; this run is stored as run 2, its init under a name of its own',
    );
    assert.equal(text('s-r1-00001.m4s'), 'segment 1', 'run 1 was not overwritten');

    // Once the recovered segment left and its grace passed, its init goes too.
    await uploader.accept(message(2, 's-init.mp4'));
    await uploader.accept(message(3, 's-init.mp4'));
    await uploader.onIdle();
    now += 60_000;
    await uploader.expireDue();
    assert.equal(stored('s-r1-init.mp4'), false, 'the recovered window\'s init was retired with its last segment');
    assert.equal(stored('s-r2-init.mp4'), true, 'the init listed segments need stays');
  } finally {
    await uploader.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
