/**
 * The spool for shipped segment bytes: complete payloads land under the segment's name in the
 * stream's own directory and the message points there; short, long or mismatched ones never do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { segmentFileName, type IndexMessage } from '@hlsrelay/protocol';
import { PayloadSpool } from '@hlsrelay/uploader';
import { tempDir } from '../../support/temp-dir';

const message = (over: Partial<IndexMessage> = {}): IndexMessage => ({
  index: 'cam-360p.m3u8',
  outputDirectory: '/on/another/machine',
  segmentDuration: 2,
  outputPrefix: 'cam-360p',
  httpPrefix: 'https://cdn.example/live/',
  firstSegment: 1,
  lastSegment: 7,
  end: false,
  bucketName: 'b',
  keyPrefix: 'live',
  ext: { size: 1000 },
  ...over,
});

test('a payload written in pieces is committed under the segment name; the message points at the spool', () => {
  const dir = tempDir('spool');
  try {
    const spool = new PayloadSpool(dir);
    const bytes = Buffer.alloc(1000, 0x47);
    const p = spool.open(bytes.length);
    for (let at = 0; at < bytes.length; at += 333) p.write(bytes.subarray(at, at + 333));
    const m = p.commit(message());
    assert.notEqual(m.outputDirectory, '/on/another/machine');
    assert.ok(m.outputDirectory.startsWith(path.resolve(dir)));
    assert.deepEqual(fs.readFileSync(path.join(m.outputDirectory, segmentFileName('cam-360p', 7))), bytes);
    // Another stream with the same file names gets its own directory.
    const other = spool.open(0).commit(message({ keyPrefix: 'other', ext: {} }));
    assert.notEqual(other.outputDirectory, m.outputDirectory);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('.incoming')), [], 'no temporary files left');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('too many bytes, too few, or a size that disagrees with the message: refused, nothing left behind', () => {
  const dir = tempDir('spool');
  try {
    const spool = new PayloadSpool(dir);
    const long = spool.open(4);
    assert.throws(() => long.write(Buffer.alloc(5)), /longer than announced 4/);
    long.discard();
    const short = spool.open(4);
    short.write(Buffer.alloc(3));
    assert.throws(() => short.commit(message({ ext: {} })), /3 of 4 bytes/);
    short.discard();
    const mismatched = spool.open(4);
    mismatched.write(Buffer.alloc(4));
    assert.throws(() => mismatched.commit(message()), /does not match size=1000/);
    assert.deepEqual(fs.readdirSync(dir), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
