/**
 * Segments encrypted in memory (segment-encryption.ts): the bytes are AES-128-CBC of the whole
 * file whatever its size, encrypted in place in one pooled buffer, reused without stale bytes,
 * and through the Uploader an encrypted segment goes to its target as bytes — no ciphertext
 * file — the same bytes again when an attempt fails; a mirror set (it reads after the first copy
 * is stored) still gets a ciphertext file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { silentLogger } from '@hlsrelay/log';
import type { IndexMessage } from '@hlsrelay/protocol';
import {
  AllowedKeys, AllowedPaths, BufferPool, ConfinedTarget, createEncryptionWorkDir, encryptToMemory, FileTarget, paddedSize, PermanentTransferError, Uploader,
  WHOLE_SEGMENT_BYTES, type SegmentUpload, type TransferTarget,
} from '@hlsrelay/uploader';
import { decrypt, keyedSegments } from '../../support/hls-keys';
import { tempDir } from '../../support/temp-dir';

const key = randomBytes(16);
const iv = randomBytes(16);
const cbc = (clear: Buffer) => {
  const c = createCipheriv('aes-128-cbc', key, iv);
  return Buffer.concat([c.update(clear), c.final()]);
};

test('in memory: AES-128-CBC of the whole file for sizes around the block; a reused buffer holds no stale bytes', async () => {
  const dir = tempDir('segment-encryption');
  try {
    const pool = new BufferPool(4);
    // Larger first, so later ones reuse its buffer: 0, around one block, around the pool's 256 KiB granule.
    for (const size of [300_000, 0, 15, 16, 17, 1000, 262_127, 262_128, 262_144, 262_145]) {
      const file = path.join(dir, `s-${size}.ts`);
      const clear = randomBytes(size);
      fs.writeFileSync(file, clear);
      const got = await encryptToMemory(file, key, iv, pool);
      assert.ok(got, `${size} bytes are encrypted in memory`);
      assert.equal(got.body.length, paddedSize(size), `${size} bytes pad to ${paddedSize(size)}`);
      assert.deepEqual(got.body, cbc(clear), `${size} bytes`);
      got.release();
    }
    assert.ok(pool.size >= 1, 'buffers go back to the pool');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('in memory: one pooled buffer per segment — the ciphertext goes over the clear bytes, and the next segment reuses that buffer', async () => {
  const dir = tempDir('segment-encryption');
  try {
    const pool = new BufferPool(1);
    const file = path.join(dir, 's.ts');
    const clear = randomBytes(200_000);
    fs.writeFileSync(file, clear);
    const first = (await encryptToMemory(file, key, iv, pool))!;
    assert.equal(pool.size, 0, 'the segment holds its one buffer; none went back meanwhile');
    const held = first.body.buffer;
    first.release();
    const second = (await encryptToMemory(file, key, iv, pool))!;
    assert.equal(second.body.buffer, held, 'the next segment is read and encrypted in the buffer the first gave back');
    assert.deepEqual(second.body, cbc(clear));
    second.release();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('in memory: larger than WHOLE_SEGMENT_BYTES is left to the streamed path; a missing or refused file is a PermanentTransferError', async () => {
  const dir = tempDir('segment-encryption');
  try {
    const big = path.join(dir, 'big.ts');
    fs.writeFileSync(big, '');
    fs.truncateSync(big, WHOLE_SEGMENT_BYTES + 1);
    assert.equal(await encryptToMemory(big, key, iv, new BufferPool(1)), undefined);
    await assert.rejects(encryptToMemory(path.join(dir, 'gone.ts'), key, iv, new BufferPool(1)), (err: Error) => err instanceof PermanentTransferError && /gone\.ts to encrypt it: ENOENT/.test(err.message));
    const paths = await AllowedPaths.resolve([path.join(dir, 'elsewhere')].map((p) => (fs.mkdirSync(p), p)));
    await assert.rejects(encryptToMemory(big, key, iv, new BufferPool(1), (file) => paths.open(file)), PermanentTransferError);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A target in front of a file target that fails the first attempt at each segment, and notes what each attempt was given. */
class FlakyTarget implements TransferTarget {
  readonly name = 'flaky';
  readonly attempts: { key: string; body?: Buffer; file: string; workFiles: string[] }[] = [];
  constructor(readonly inner: TransferTarget, readonly workDir: string) {}
  async putSegment(upload: SegmentUpload): Promise<void> {
    this.attempts.push({ key: upload.key, ...(upload.body ? { body: Buffer.from(upload.body) } : {}), file: upload.file, workFiles: fs.readdirSync(this.workDir) });
    if (upload.key.endsWith('.ts') && this.attempts.filter((a) => a.key === upload.key).length === 1) throw new Error('connection reset');
    await this.inner.putSegment(upload);
  }
  putPlaylist = (upload: Parameters<TransferTarget['putPlaylist']>[0]) => this.inner.putPlaylist(upload);
  putKey = (upload: Parameters<NonNullable<TransferTarget['putKey']>>[0]) => this.inner.putKey!(upload);
  delete = (bucket: string, k: string) => this.inner.delete(bucket, k);
  close = () => this.inner.close();
}

/** A mirror set answers before every copy exists (allStored): the uploader must then leave a file. */
class MirrorLike extends FlakyTarget {
  allStored = async (): Promise<void> => {};
}

async function encryptedRun(mirrored: boolean) {
  const dir = tempDir('segment-encryption');
  const segs = path.join(dir, 'segs');
  const state = path.join(dir, 'state');
  fs.mkdirSync(segs);
  fs.mkdirSync(state);
  const workDir = createEncryptionWorkDir(state);
  const paths = await AllowedPaths.resolve([segs, workDir]);
  const root = path.join(dir, 'store');
  const inner = new ConfinedTarget(new FileTarget({ root }), paths, new AllowedKeys());
  const flaky = mirrored ? new MirrorLike(inner, workDir) : new FlakyTarget(inner, workDir);
  // A mirror set answers before every copy exists (allStored); the uploader must then leave a file.
  const uploader = new Uploader({
    target: flaky, logger: silentLogger(), window: 5, stateDir: state,
    retry: { initialDelayMs: 1, maxDelayMs: 1 }, sleep: async () => {},
    encryption: { method: 'aes-128', keyUriPrefix: 'https://keys.example/' },
    openSource: (file) => paths.open(file),
  });
  const clear = (n: number) => Buffer.from(`segment ${n} `.repeat(7000 + n));
  for (let n = 1; n <= 2; n++) {
    fs.writeFileSync(path.join(segs, `s-0000${n}.ts`), clear(n));
    const m: IndexMessage = {
      index: 's.m3u8', outputDirectory: segs, segmentDuration: 1, outputPrefix: 's', httpPrefix: '',
      firstSegment: 1, lastSegment: n, end: n === 2, bucketName: 'b', keyPrefix: 'live', ext: { duration: 1 },
    };
    await uploader.accept(m);
  }
  await uploader.onIdle();
  await uploader.close();
  const stored = (k: string) => fs.readFileSync(path.join(root, 'b/live', k));
  const listed = keyedSegments(stored('s.m3u8').toString());
  return { dir, flaky, stored, listed, clear, workDir, done: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

test('through the Uploader: an encrypted segment goes to the target as bytes, no ciphertext file; a failed attempt is retried with the same bytes', async () => {
  const r = await encryptedRun(false);
  try {
    assert.equal(r.listed.length, 2);
    for (const [i, k] of r.listed.entries()) {
      const attempts = r.flaky.attempts.filter((a) => a.key === `live/${path.basename(k.uri)}`);
      assert.equal(attempts.length, 2, `${k.uri}: failed once, then stored`);
      for (const a of attempts) {
        assert.ok(a.body, 'given as bytes');
        assert.equal(path.dirname(a.file), path.join(r.dir, 'segs'), 'named by its clear segment');
        assert.deepEqual(a.workFiles, [], 'no ciphertext file made');
      }
      assert.deepEqual(attempts[1].body, attempts[0].body, 'the retry stores the same bytes');
      const keyBytes = r.stored(`keys/${k.keyUri!.replace('https://keys.example/', '')}`);
      assert.deepEqual(decrypt(r.stored(path.basename(k.uri)), keyBytes, k.iv!), r.clear(i + 1), `${k.uri} decrypts`);
    }
  } finally {
    r.done();
  }
});

test('through the Uploader with a mirror set: the ciphertext is a file of the work directory, as a lagging mirror reads it later', async () => {
  const r = await encryptedRun(true);
  try {
    assert.equal(r.listed.length, 2);
    const segmentAttempts = r.flaky.attempts.filter((a) => a.key.endsWith('.ts'));
    assert.equal(segmentAttempts.length, 4);
    for (const a of segmentAttempts) {
      assert.equal(a.body, undefined);
      assert.equal(path.dirname(a.file), r.workDir);
    }
    for (const [i, k] of r.listed.entries()) {
      const keyBytes = r.stored(`keys/${k.keyUri!.replace('https://keys.example/', '')}`);
      assert.deepEqual(decrypt(r.stored(path.basename(k.uri)), keyBytes, k.iv!), r.clear(i + 1), `${k.uri} decrypts`);
    }
  } finally {
    r.done();
  }
});
