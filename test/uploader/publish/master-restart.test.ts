/**
 * A master playlist across an uploader restart with a state directory: the measured bandwidths
 * continue from the journal instead of starting over from the first segment after the restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { silentLogger } from '@hlsrelay/log';
import { segmentFileName, type IndexMessage } from '@hlsrelay/protocol';
import { FileTarget, startUploaderService } from '@hlsrelay/uploader';
import { parseM3u8 } from '../../support/m3u8';
import { tempDir } from '../../support/temp-dir';

test('after a restart the master keeps the peak and average measured before it', async () => {
  const dir = tempDir('master-restart');
  const segments = path.join(dir, 'segments');
  fs.mkdirSync(segments);
  const stateDir = path.join(dir, 'state');
  const start = () =>
    startUploaderService({ target: new FileTarget({ root: path.join(dir, 'www') }), logger: silentLogger(), host: '127.0.0.1', port: 0, stateDir });
  // 2 s segments: three of 500 kB (2 Mbit/s) before the restart, one of 50 kB after it.
  const message = (n: number, size: number, end = false): IndexMessage => {
    fs.writeFileSync(path.join(segments, segmentFileName('r', n)), Buffer.alloc(size, n));
    return {
      index: 'r.m3u8', outputDirectory: segments, segmentDuration: 2, outputPrefix: 'r', httpPrefix: 'https://cdn.example/live/',
      firstSegment: 1, lastSegment: n, end, bucketName: 'b', keyPrefix: 'live',
      ext: { duration: 2, size, master: 'm.m3u8', codecs: 'avc1.42c01e', resolution: '640x360' },
    };
  };
  const master = () => parseM3u8(fs.readFileSync(path.join(dir, 'www', 'b', 'live', 'm.m3u8'), 'utf8')).playlists ?? [];
  try {
    let service = await start();
    for (let n = 1; n <= 3; n++) await service.uploader.accept(message(n, 500_000));
    await service.uploader.onIdle();
    await service.close();
    assert.equal(master()[0].attributes.BANDWIDTH, 2_000_000);

    service = await start();
    await service.uploader.accept(message(4, 50_000, true));
    await service.uploader.onIdle();
    await service.close();
    const [variant] = master();
    assert.equal(variant.uri, 'r.m3u8');
    assert.equal(variant.attributes.BANDWIDTH, 2_000_000, 'the peak measured before the restart still counts');
    // (3 × 500 kB + 50 kB) × 8 bits over 8 s.
    assert.equal(Number(variant.attributes['AVERAGE-BANDWIDTH']), 1_550_000);
    assert.equal(variant.attributes.CODECS, 'avc1.42c01e');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
