/**
 * --ship-bytes without --keep-local: what the segmenter removes once the uploader acknowledged a
 * message — the segment file, and an fMP4 init once a later message names the next one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { formatMessage } from '@hlsrelay/protocol';
import { removeShippedSegment } from '@hlsrelay/segmenter';
import { tempDir } from '../../support/temp-dir';

test('acknowledged: the segment goes; an init goes once a message names the next init, the newest stays', () => {
  const dir = tempDir('shipped-removal');
  try {
    const files = ['cam-00001.m4s', 'cam-00002.m4s', 'cam-00003.m4s', 'cam-init.mp4', 'cam-init-2.mp4'];
    for (const f of files) fs.writeFileSync(path.join(dir, f), f);
    const message = (n: number, init: string) =>
      formatMessage({
        index: 'cam.m3u8', outputDirectory: dir, segmentDuration: 2, outputPrefix: 'cam', httpPrefix: 'http://cdn/',
        firstSegment: 1, lastSegment: n, end: false, bucketName: 'b', keyPrefix: 'live', ext: { format: 'fmp4', init },
      });
    const left = () => files.filter((f) => fs.existsSync(path.join(dir, f)));
    const acknowledged = removeShippedSegment(undefined);
    acknowledged(message(1, 'cam-init.mp4'));
    acknowledged(message(2, 'cam-init.mp4'));
    assert.deepEqual(left(), ['cam-00003.m4s', 'cam-init.mp4', 'cam-init-2.mp4']);
    acknowledged(message(3, 'cam-init-2.mp4'));
    assert.deepEqual(left(), ['cam-init-2.mp4']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
