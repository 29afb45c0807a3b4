/**
 * The embedded store stands in for S3, which has no directories: a DELETE beside a PUT under the
 * same prefix (the uploader's first-sight probe next to a stream's first segment) must never
 * take the store down, a GET racing a PUT of the same key reads one whole version (a player
 * polling a playlist), and close() waits for handlers still at work.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { PutObjectCommand, DeleteObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { EMBEDDED_CREDENTIALS, EMBEDDED_REGION, startEmbeddedStore } from '@hlsrelay/embedded-store';
import { tempDir } from '../support/temp-dir';

const SEGMENTS = [1, 2, 3, 4, 5, 6, 7, 8];

test('a probe PUT+DELETE racing first PUTs under the same prefix: every object stored, the store still up', async () => {
  const dir = tempDir('store-races');
  const store = await startEmbeddedStore({ directory: path.join(dir, 'store'), buckets: ['b'] });
  const s3 = new S3Client({ endpoint: store.endpoint, forcePathStyle: true, region: EMBEDDED_REGION, credentials: EMBEDDED_CREDENTIALS, requestChecksumCalculation: 'WHEN_REQUIRED' });
  try {
    // Each round a fresh prefix: its directory is created by one PUT while the probe's DELETE
    // empties it (s3rver removed emptied directories, and the racing PUT's file failed to open).
    for (let round = 0; round < 40; round++) {
      const prefix = `live/r${round}`;
      await s3.send(new PutObjectCommand({ Bucket: 'b', Key: `${prefix}/.probe`, Body: 'x' }));
      await Promise.all([
        s3.send(new DeleteObjectCommand({ Bucket: 'b', Key: `${prefix}/.probe` })),
        ...SEGMENTS.map((n) => s3.send(new PutObjectCommand({ Bucket: 'b', Key: `${prefix}/seg-${n}.ts`, Body: `segment ${n}` }))),
      ]);
      for (const n of SEGMENTS) {
        const got = await s3.send(new GetObjectCommand({ Bucket: 'b', Key: `${prefix}/seg-${n}.ts` }));
        assert.equal(await got.Body!.transformToString(), `segment ${n}`, `${prefix}/seg-${n}.ts`);
      }
    }
  } finally {
    s3.destroy();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('GETs racing PUTs of one key (a player polling a playlist as it is stored): every body is one whole version', async () => {
  const dir = tempDir('store-races');
  const store = await startEmbeddedStore({ directory: path.join(dir, 'store'), buckets: ['b'] });
  const s3 = new S3Client({ endpoint: store.endpoint, forcePathStyle: true, region: EMBEDDED_REGION, credentials: EMBEDDED_CREDENTIALS, requestChecksumCalculation: 'WHEN_REQUIRED' });
  // Versions of different lengths, each ending in a line that names it: a short read shows.
  const version = (v: number) => `${'#EXTINF:2.000,\nhttp://cdn/seg.ts\n'.repeat(200 + (v % 7) * 150)}#version ${v}\n`;
  const versions = new Set<string>();
  try {
    await s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'live/p.m3u8', Body: version(0) }));
    versions.add(version(0));
    let writing = true;
    const writer = (async () => {
      for (let v = 1; v <= 150; v++) {
        versions.add(version(v));
        await s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'live/p.m3u8', Body: version(v) }));
      }
      writing = false;
    })();
    const bad: string[] = [];
    let reads = 0;
    const reader = async () => {
      while (writing) {
        const r = await fetch(store.url('b', 'live/p.m3u8'));
        const body = await r.text();
        reads += 1;
        if (r.status !== 200 || !versions.has(body)) bad.push(`HTTP ${r.status}, ${body.length} bytes ending ${JSON.stringify(body.slice(-60))}`);
      }
    };
    await Promise.all([writer, reader(), reader(), reader()]);
    assert.ok(reads >= 50, `the readers raced the writer: ${reads} reads`);
    assert.deepEqual(bad.slice(0, 5), [], `${bad.length} of ${reads} reads were not a whole version`);
  } finally {
    s3.destroy();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
