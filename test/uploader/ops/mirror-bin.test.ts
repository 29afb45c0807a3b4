/**
 * `uploader --target file:///… --target s3:`: the real command mirrors one live stream into a
 * directory and into an S3-compatible store, and says at shutdown what each mirror did.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { startEmbeddedStore } from '@hlsrelay/embedded-store';
import { until } from '../../support/until';
import { FakeStream, getObject, listedUris, PersistentClient } from '../../support/uploader-rig';
import { startUploader } from '../../support/uploader-process';
import { tempDir } from '../../support/temp-dir';

test('two --target values: every segment and the final playlist land in both, byte-identical', async () => {
  const dir = tempDir('mirror-bin');
  const store = await startEmbeddedStore({ directory: path.join(dir, 'store'), buckets: ['mybucket'] });
  const webRoot = path.join(dir, 'www');
  try {
    const up = await startUploader([
      '--target', `file://${webRoot}`, '--target', 's3:',
      '--s3-endpoint', store.endpoint, '--s3-path-style', '--acl', 'none', '--mirror-drain-timeout', '30',
    ]);
    assert.match(String(up.lines.find((l) => l.message === 'listening for segmenters')?.target), /^mirror\(file:\/\/.*www, s3 \(http/);
    const s = new FakeStream(dir, {
      index: 'm.m3u8', segmentDuration: 2, outputPrefix: 'm', httpPrefix: 'https://cdn.example/live/', firstSegment: 1,
      bucketName: 'mybucket', keyPrefix: 'live',
    });
    const client = await PersistentClient.connect(up.port);
    for (let n = 1; n <= 7; n++) {
      await s.cut(n);
      client.send(s.message(n, n === 7));
    }
    // Both mirrors publish the ended playlist before the daemon is stopped.
    const ended = (t: string) => t.endsWith('#EXT-X-ENDLIST\n');
    await until(async () => ended((await getObject(store, 'mybucket', 'live/m.m3u8')).body.toString()));
    await until(async () => ended(await readFile(path.join(webRoot, 'mybucket/live/m.m3u8'), 'utf8').catch(() => '')));
    await client.close();
    assert.equal(await up.stop(), 0, up.stderr());

    const fromS3 = (await getObject(store, 'mybucket', 'live/m.m3u8')).body.toString();
    const fromDir = await readFile(path.join(webRoot, 'mybucket/live/m.m3u8'), 'utf8');
    assert.equal(fromDir, fromS3);
    assert.deepEqual(listedUris(fromS3), [3, 4, 5, 6, 7].map((n) => `https://cdn.example/live/m-0000${n}.ts`));
    for (let n = 1; n <= 7; n++) {
      assert.deepEqual((await getObject(store, 'mybucket', `live/m-0000${n}.ts`)).body, s.content(n), `segment ${n} in S3`);
      assert.deepEqual(await readFile(path.join(webRoot, `mybucket/live/m-0000${n}.ts`)), s.content(n), `segment ${n} in the directory`);
    }
    // Shutdown reports each mirror's totals: 7 segments plus at least one playlist each, nothing behind.
    const totals = up.lines.filter((l) => l.message === 'mirror totals');
    assert.equal(totals.length, 2, up.stderr());
    for (const t of totals) {
      assert.ok((t.stored as number) + (t.superseded as number) >= 8, JSON.stringify(t));
      assert.equal(t.backlog, 0);
      assert.equal(t.failed, 0);
    }
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a bad --target is refused before anything starts, naming the flag and what was expected', async () => {
  await assert.rejects(startUploader(['--target', 'gopher://host/x']), /--target "gopher:\/\/host\/x": unknown scheme "gopher:"; expected s3:/);
  await assert.rejects(startUploader(['--target', 's3:', '--target', 'file:///tmp/x', '--mirror-drain-timeout', '-1']), /--mirror-drain-timeout must be seconds ≥ 0, got -1/);
});
