/**
 * The `uploader` command itself: flags, credentials from the standard AWS environment, and a
 * SIGTERM that stops accepting but finishes what was queued, then exits 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { startEmbeddedStore } from '@hlsrelay/embedded-store';
import { FakeStream, getObject, listedUris, PersistentClient } from '../../support/uploader-rig';
import { UPLOADER_BIN as bin } from '../../support/paths';
import { tempDir } from '../../support/temp-dir';


test('rejects bad flags with the flag, what was expected and what came', async () => {
  const child = spawn(process.execPath, [bin, '--window', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise((r) => child.once('exit', r));
  assert.notEqual(code, 0);
  assert.match(stderr, /--window must be an integer ≥ 1, got 0/);
});

test('SIGTERM: queued uploads finish, the playlist is complete, exit code 0', async () => {
  const dir = tempDir('uploader-daemon');
  const store = await startEmbeddedStore({ directory: path.join(dir, 'store'), buckets: ['mybucket'] });
  try {
    const child = spawn(
      process.execPath,
      [bin, '--listen', '127.0.0.1:0', '--s3-endpoint', store.endpoint, '--s3-path-style', '--log-json', '--concurrency', '2'],
      {
        // The standard AWS chain: credentials only from the environment here.
        env: { ...process.env, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    const port = await new Promise<number>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /"address":"127\.0\.0\.1:(\d+)"/.exec(stderr);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (c) => reject(new Error(`uploader exited ${c}: ${stderr}`)));
    });
    const s = new FakeStream(dir, {
      index: 'd.m3u8', segmentDuration: 2, outputPrefix: 'd', httpPrefix: '', firstSegment: 1, bucketName: 'mybucket', keyPrefix: 'live',
    });
    const client = await PersistentClient.connect(port);
    for (let n = 1; n <= 8; n++) {
      await s.cut(n);
      client.send(s.message(n, n === 8));
    }
    // Let the lines arrive, then stop the daemon while its uploads are still queued.
    await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.once('exit', r));
    assert.equal(code, 0, stderr);
    assert.match(stderr, /finishing queued uploads/);
    const text = (await getObject(store, 'mybucket', 'live/d.m3u8')).body.toString();
    assert.deepEqual(listedUris(text), [4, 5, 6, 7, 8].map((n) => `d-0000${n}.ts`));
    assert.match(text, /#EXT-X-ENDLIST\n$/);
    for (let n = 1; n <= 8; n++) assert.deepEqual((await getObject(store, 'mybucket', `live/d-0000${n}.ts`)).body, s.content(n));
    client.socket.destroy();
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
