/**
 * buildTargetStack: every leaf target is confined to the policy — one target or each member of
 * a mirror set — so no caller can forget it; several targets make a mirror.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '@hlsrelay/log';
import { AllowedKeys, AllowedPaths, buildTargetStack, FileTarget, MirrorTarget, parseBucketGrant, PermanentTransferError } from '@hlsrelay/uploader';

test('target stack: one target or a mirror, each leaf refuses files outside the allowed directories and keys outside the grants', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hlsrelay-target-stack-'));
  try {
    const segments = path.join(dir, 'segments');
    const outside = path.join(dir, 'outside');
    await mkdir(segments);
    await mkdir(outside);
    await writeFile(path.join(segments, 'a-00001.ts'), 'inside');
    await writeFile(path.join(outside, 'secret.ts'), 'outside');
    const policy = { paths: await AllowedPaths.resolve([segments]), keys: new AllowedKeys([parseBucketGrant('live/show')]) };
    const roots = [path.join(dir, 'www1'), path.join(dir, 'www2')];
    for (const targets of [[new FileTarget({ root: roots[0] })], roots.map((root) => new FileTarget({ root }))]) {
      const stack = buildTargetStack({ targets, policy, logger: silentLogger() });
      assert.equal(stack instanceof MirrorTarget, targets.length > 1);
      await stack.putSegment({ bucket: 'live', key: 'show/a-00001.ts', file: path.join(segments, 'a-00001.ts') });
      assert.ok(existsSync(path.join(roots[0], 'live', 'show', 'a-00001.ts')));
      await assert.rejects(stack.putSegment({ bucket: 'live', key: 'show/secret.ts', file: path.join(outside, 'secret.ts') }), PermanentTransferError);
      await assert.rejects(stack.putPlaylist({ bucket: 'other', key: 'x.m3u8', text: '#EXTM3U\n', maxAgeSeconds: 1 }), PermanentTransferError);
      assert.equal(existsSync(path.join(roots[0], 'live', 'show', 'secret.ts')), false);
      assert.equal(existsSync(path.join(roots[0], 'other')), false);
      await stack.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('target stack: a stored playlist reads back through the confinement; of mirrors that differ, the one furthest along', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hlsrelay-target-stack-'));
  try {
    const policy = { paths: await AllowedPaths.resolve([dir]), keys: new AllowedKeys([parseBucketGrant('live/show')]) };
    const roots = [path.join(dir, 'www1'), path.join(dir, 'www2')];
    const playlist = (sequence: number) =>
      ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2', `#EXT-X-MEDIA-SEQUENCE:${sequence}`, '#EXTINF:2.000,', `a-${sequence}.ts`, ''].join('\n');
    // The first mirror lagged when the last run stopped: it holds an older playlist.
    for (const [root, sequence] of [[roots[0], 20], [roots[1], 23]] as const) {
      await mkdir(path.join(root, 'live', 'show'), { recursive: true });
      await writeFile(path.join(root, 'live', 'show', 'index.m3u8'), playlist(sequence));
    }
    const mirror = buildTargetStack({ targets: roots.map((root) => new FileTarget({ root })), policy, logger: silentLogger() });
    assert.equal(await mirror.get!('live', 'show/index.m3u8'), playlist(23));
    assert.equal(await mirror.get!('live', 'show/none.m3u8'), undefined);
    await assert.rejects(mirror.get!('other', 'x.m3u8'), PermanentTransferError);
    await mirror.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
