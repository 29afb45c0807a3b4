/**
 * Program date-times through the uploader service: renditions of one master dated on its shared
 * timeline (continued from the state directory after a restart), a rendition whose PTS is not on
 * it warned about once and dated by its own segmenter, and streams without a master or without
 * `pts=` dated as their segmenter said.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { segmentFileName, type IndexMessage } from '@hlsrelay/protocol';
import { FileTarget, startUploaderService, TIMELINE_FILE } from '@hlsrelay/uploader';
import { captureLog } from '../../support/log-capture';
import { tempDir } from '../../support/temp-dir';

const T0 = Date.parse('2026-12-02T13:00:00.000Z');

test('one timeline per master, continued after a restart; an off-timeline rendition warned once; other streams keep their own dates', async () => {
  const dir = tempDir('master-timelines');
  const segments = path.join(dir, 'segments');
  fs.mkdirSync(segments);
  const stateDir = path.join(dir, 'state');
  const log = captureLog('uploader', 'info');
  const start = () =>
    startUploaderService({ target: new FileTarget({ root: path.join(dir, 'www') }), logger: log.logger, host: '127.0.0.1', port: 0, stateDir });
  /** Segment n (2 s each) of `name`: PTS from `pts0`, its segmenter's clock from `clock0`. */
  const message = (name: string, n: number, ext: IndexMessage['ext']): IndexMessage => {
    fs.writeFileSync(path.join(segments, segmentFileName(name, n)), Buffer.alloc(100, n));
    return {
      index: `${name}.m3u8`, outputDirectory: segments, segmentDuration: 2, outputPrefix: name, httpPrefix: 'https://cdn.example/live/',
      firstSegment: 1, lastSegment: n, end: false, bucketName: 'b', keyPrefix: 'live', ext: { duration: 2, size: 100, ...ext },
    };
  };
  const rendition = (name: string, n: number, pts0: number, clock0: number) =>
    message(name, n, { master: 'm.m3u8', pts: pts0 + (n - 1) * 180_000, programDateTime: new Date(clock0 + (n - 1) * 2000) });
  const dates = (name: string) =>
    fs.readFileSync(path.join(dir, 'www', 'b', 'live', `${name}.m3u8`), 'utf8').split('\n').filter((l) => l.startsWith('#EXT-X-PROGRAM-DATE-TIME:')).map((l) => l.slice(25));
  try {
    let service = await start();
    const accept = async (m: IndexMessage) => service.uploader.accept(m);
    // The first segment the master sees anchors its timeline: a's.
    await accept(rendition('a', 1, 126_000, T0));
    await service.uploader.onIdle();
    for (let n = 1; n <= 2; n++) {
      if (n > 1) await accept(rendition('a', n, 126_000, T0));
      // Cut by another segmenter that started 155 ms later and whose clock is 1.3 s ahead.
      await accept(rendition('b', n, 126_000, T0 + 1_455));
      // An encoder with a PTS timeline of its own: 100 s off.
      await accept(rendition('c', n, 126_000 + 9_000_000, T0 + 2));
      // No master; a master but no pts (an older segmenter).
      await accept(message('d', n, { pts: 126_000 + (n - 1) * 180_000, programDateTime: new Date(T0 + 77 + (n - 1) * 2000) }));
      await accept(message('e', n, { master: 'm.m3u8', programDateTime: new Date(T0 + 99 + (n - 1) * 2000) }));
    }
    await service.uploader.onIdle();
    await service.close();
    assert.ok(fs.existsSync(path.join(stateDir, TIMELINE_FILE)), 'the timeline is in the state directory');

    // After a restart, b's segment 3 is dated on the same anchor, though its clock now says 3 s later.
    service = await start();
    await accept(rendition('b', 3, 126_000, T0 + 3_000));
    await accept(rendition('a', 3, 126_000, T0 - 1_000));
    await service.uploader.onIdle();
    await service.close();

    assert.deepEqual(dates('a'), ['2026-12-02T13:00:00.000Z', '2026-12-02T13:00:02.000Z', '2026-12-02T13:00:04.000Z']);
    assert.deepEqual(dates('b'), dates('a'), 'the same PTS, the same date-time');
    assert.deepEqual(dates('c'), ['2026-12-02T13:00:00.002Z', '2026-12-02T13:00:02.002Z'], 'its own segmenter clock');
    assert.deepEqual(dates('d'), ['2026-12-02T13:00:00.077Z', '2026-12-02T13:00:02.077Z']);
    assert.deepEqual(dates('e'), ['2026-12-02T13:00:00.099Z', '2026-12-02T13:00:02.099Z']);
    await log.settle();
    const warnings = log.entries.filter((l) => l.level === 'warn' && l.message.includes('not on the timeline'));
    assert.equal(warnings.length, 1, 'warned once');
    assert.equal(warnings[0].stream, 's3://b/live/c.m3u8');
    assert.equal(warnings[0].offsetSeconds, -99.998);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
