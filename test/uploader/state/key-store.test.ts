/** The key store: random keys on disk, 0600, the same bytes for the same name after a restart. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { KeyStore } from '@hlsrelay/uploader';
import { tempDir } from '../../support/temp-dir';

test('a new key is 16 random bytes with its IV, stored 0600 in a 0700 folder, and the same after reopening', async () => {
  const dir = tempDir('key-store');
  try {
    const store = new KeyStore(dir);
    const a = await store.obtain('mybucket/live/cam.m3u8', 'cam-0a1b2c3d-00000.key');
    const b = await store.obtain('mybucket/live/cam.m3u8', 'cam-0a1b2c3d-00001.key');
    const other = await store.obtain('mybucket/live/other.m3u8', 'cam-0a1b2c3d-00000.key');
    assert.equal(a.key.length, 16);
    assert.equal(a.iv.length, 16);
    assert.notDeepEqual(a.key, b.key);
    assert.notDeepEqual(a.key, other.key, 'streams sharing a key name never share a key');
    const again = await new KeyStore(dir).obtain('mybucket/live/cam.m3u8', 'cam-0a1b2c3d-00000.key');
    assert.deepEqual(again, a);
    const files = fs.readdirSync(store.dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    assert.equal(files.length, 3);
    for (const f of files) assert.equal(fs.statSync(path.join(f.parentPath, f.name)).mode & 0o777, 0o600);
    assert.equal(fs.statSync(store.dir).mode & 0o777, 0o700);
    await store.forget('mybucket/live/cam.m3u8', ['cam-0a1b2c3d-00000.key']);
    assert.notDeepEqual((await store.obtain('mybucket/live/cam.m3u8', 'cam-0a1b2c3d-00000.key')).key, a.key, 'a forgotten name is a new key');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a key file cut short (a crash before its rename) is replaced; a name that could leave the folder is refused', async () => {
  const dir = tempDir('key-store');
  try {
    const store = new KeyStore(dir, () => Buffer.alloc(32, 7));
    const first = await store.obtain('s', 'k.key');
    const file = fs.readdirSync(store.dir, { recursive: true, withFileTypes: true }).find((e) => e.isFile())!;
    fs.writeFileSync(path.join(file.parentPath, file.name), Buffer.alloc(5));
    assert.deepEqual(await store.obtain('s', 'k.key'), first);
    await assert.rejects(store.obtain('s', '../k.key'), /not a key name/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
