/**
 * A stream started again after it ended (RFC 8216 §6.2.1: an ended playlist never changes): the
 * ended playlist and archive are kept, unchanged, under their own names; the URL becomes a fresh
 * live playlist whose media sequence goes on past the ended run; nothing ended is ever rewritten,
 * also across an uploader restart between the runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { silentLogger } from '@hlsrelay/log';
import { segmentFileName, type IndexMessage } from '@hlsrelay/protocol';
import { FileTarget, startUploaderService, type PlaylistUpload } from '@hlsrelay/uploader';
import { assertEndedNeverAltered } from '../../support/ended-playlists';
import { captureLog } from '../../support/log-capture';
import { parseM3u8 } from '../../support/m3u8';
import { tempDir } from '../../support/temp-dir';

/** A file target that keeps every playlist version it was sent, in order. */
class RecordingFileTarget extends FileTarget {
  readonly versions: Array<{ key: string; text: string }> = [];
  override async putPlaylist(upload: PlaylistUpload): Promise<void> {
    await super.putPlaylist(upload);
    this.versions.push({ key: upload.key, text: upload.text });
  }
}

test('a new run of an ended stream: ended playlist and archive kept as their own objects, a fresh live playlist at the URL, across a restart', async () => {
  const dir = tempDir('ended-run');
  const segments = path.join(dir, 'segments');
  fs.mkdirSync(segments);
  const www = path.join(dir, 'www');
  const target = new RecordingFileTarget({ root: www });
  const log = captureLog('uploader', 'info');
  const { logger } = log;
  const start = () =>
    startUploaderService({ target, logger, host: '127.0.0.1', port: 0, stateDir: path.join(dir, 'state'), archive: '%s-archive.m3u8', window: 3 });
  let run = 0;
  const message = (n: number, end = false): IndexMessage => {
    fs.writeFileSync(path.join(segments, segmentFileName('r', n)), Buffer.from(`run ${run} segment ${n}`));
    return {
      index: 'r.m3u8', outputDirectory: segments, segmentDuration: 2, outputPrefix: 'r', httpPrefix: 'https://cdn.example/live/',
      firstSegment: 1, lastSegment: n, end, bucketName: 'b', keyPrefix: 'live', ext: { duration: 2 },
    };
  };
  const read = (name: string) => fs.readFileSync(path.join(www, 'b', 'live', name), 'utf8');
  try {
    // Run 0: five segments, the last with end=1 (a segmenter stopped with SIGTERM).
    let service = await start();
    for (let n = 1; n <= 5; n++) await service.uploader.accept(message(n, n === 5));
    await service.uploader.onIdle();
    await service.close();
    const endedLive = read('r.m3u8');
    const endedArchive = read('r-archive.m3u8');
    assert.match(endedLive, /#EXT-X-MEDIA-SEQUENCE:3\n[^]*r-00005\.ts\n#EXT-X-ENDLIST\n$/);

    // Run 1, after an uploader restart: the segmenter numbers from 1 again.
    run = 1;
    service = await start();
    await service.uploader.accept(message(1));
    await service.uploader.onIdle();
    assert.equal(read('r-ended-5.m3u8'), endedLive, 'the ended playlist, byte for byte, under its own name');
    assert.equal(read('r-ended-5-archive.m3u8'), endedArchive, 'the ended archive, byte for byte');
    const fresh = parseM3u8(read('r.m3u8'));
    assert.equal(fresh.endList, undefined);
    assert.equal(fresh.mediaSequence, 6, 'the media sequence goes on past the ended run');
    assert.deepEqual(fresh.segments!.map((s) => s.uri), ['https://cdn.example/live/r-r1-00001.ts']);
    assert.deepEqual(parseM3u8(read('r-archive.m3u8')).segments!.map((s) => s.uri), ['https://cdn.example/live/r-r1-00001.ts']);
    await log.settle();
    assert.ok(
      log.entries.some((l) => l.message.includes('this run starts a fresh live playlist') && l.level === 'info' && l.kept === 'live/r-ended-5.m3u8'),
      'said at info',
    );
    for (let n = 2; n <= 4; n++) await service.uploader.accept(message(n, n === 4));
    await service.uploader.onIdle();
    const secondEnd = read('r.m3u8');
    assert.match(secondEnd, /#EXT-X-MEDIA-SEQUENCE:7\n[^]*r-r1-00004\.ts\n#EXT-X-ENDLIST\n$/);

    // Run 2, same uploader: the second ended run is kept under the next name.
    run = 2;
    await service.uploader.accept(message(1));
    await service.uploader.onIdle();
    await service.close();
    assert.equal(read('r-ended-9.m3u8'), secondEnd);
    assert.equal(read('r-ended-5.m3u8'), endedLive, 'the first kept run is untouched');
    assert.equal(parseM3u8(read('r.m3u8')).mediaSequence, 10);
    assert.deepEqual(parseM3u8(read('r.m3u8')).segments!.map((s) => s.uri), ['https://cdn.example/live/r-r2-00001.ts']);
    assertEndedNeverAltered(target.versions);
    await log.settle();
    assert.ok(!log.entries.some((l) => l.level === 'warn' && l.message.includes('segment number went')), 'a new run after an end is no warning');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
