/** Each kind of object is counted under its own kind: a content key is neither a segment nor a playlist. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FileTarget, MeteredTarget } from '@hlsrelay/uploader';
import { tempDir } from '../../support/temp-dir';

test('metered target: segment, playlist, key and delete attempts each counted under their kind, with their bytes', async () => {
  const dir = tempDir('metered');
  try {
    const attempts: Array<{ kind: string; bytes: number; outcome: string }> = [];
    const target = new MeteredTarget(new FileTarget({ root: path.join(dir, 'root') }), { transferAttempted: (a) => attempts.push(a) });
    const file = path.join(dir, 's-00001.ts');
    writeFileSync(file, Buffer.alloc(188 * 3));
    await target.putSegment({ bucket: 'b', key: 'live/s-00001.ts', file });
    await target.putPlaylist({ bucket: 'b', key: 'live/s.m3u8', text: '#EXTM3U\n', maxAgeSeconds: 1 });
    await target.putKey!({ bucket: 'b', key: 'live/keys/s-1-00000.key', bytes: new Uint8Array(16) });
    await target.delete('b', 'live/s-00001.ts');
    assert.deepEqual(
      attempts.map((a) => [a.kind, a.bytes, a.outcome]),
      [
        ['segment', 564, 'stored'],
        ['playlist', 8, 'stored'],
        ['key', 16, 'stored'],
        ['delete', 0, 'stored'],
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
