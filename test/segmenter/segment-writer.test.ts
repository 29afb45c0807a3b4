/** Segment files written from lists of views (fMP4 fragments): every byte, in order, however many views. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SegmentWriter, writePartsSync } from '@hlsrelay/segmenter';
import { tempDir } from '../support/temp-dir';

test('writePartsSync: 5,000 views (beyond one writev) of varied sizes, empty ones too, land in order', () => {
  const dir = tempDir('write-parts');
  try {
    const parts = Array.from({ length: 5000 }, (_, i) => new Uint8Array(i % 7).fill(i & 0xff));
    const file = path.join(dir, 'out');
    const fd = fs.openSync(file, 'w');
    const written = writePartsSync(fd, parts);
    fs.closeSync(fd);
    const expected = Buffer.concat(parts);
    assert.equal(written, expected.length);
    assert.deepEqual(fs.readFileSync(file), expected);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a sealed segment is published under the number it gets later; a failed one leaves no file', () => {
  const dir = tempDir('sealed');
  try {
    const pieces = new SegmentWriter({ outputDirectory: dir, outputPrefix: 'cam', fileName: (n) => `cam-piece-${n}.m4s` });
    const media = new SegmentWriter({ outputDirectory: dir, outputPrefix: 'cam', format: 'fmp4' });
    pieces.open(1);
    pieces.writeParts([Buffer.from('styp'), Buffer.from('moof'), Buffer.from('mdat')]);
    pieces.writeParts([Buffer.from('moof2')]);
    const sealed = pieces.seal()!;
    assert.equal(sealed.size, 17);
    assert.deepEqual(fs.readdirSync(dir), ['.cam-piece-1.m4s.tmp'], 'sealed under its temporary name');
    const published = media.publish(sealed, 7)!;
    assert.equal(published.path, path.join(dir, 'cam-00007.m4s'));
    assert.equal(fs.readFileSync(published.path, 'latin1'), 'stypmoofmdatmoof2');
    fs.rmSync(dir, { recursive: true });
    assert.equal(media.publish(sealed, 8), null, 'its temporary file is gone: nothing published');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('small writes gathered for the next large one: every byte in order, though the caller reuses its views at once', () => {
  const dir = tempDir('gathered');
  try {
    const writer = new SegmentWriter({ outputDirectory: dir, outputPrefix: 'cam' });
    const expected: Buffer[] = [];
    // One scratch buffer for every small write, overwritten after each call as the core's views may be.
    const scratch = new Uint8Array(188);
    const small = (fill: number, length = 188) => {
      scratch.fill(fill);
      writer.write(scratch.subarray(0, length));
      expected.push(Buffer.alloc(length, fill));
      scratch.fill(0xee);
    };
    const large = (fill: number, length: number) => {
      const bytes = new Uint8Array(length).fill(fill);
      writer.write(bytes);
      expected.push(Buffer.from(bytes));
      bytes.fill(0xee);
    };
    writer.open(1);
    small(1);
    small(2);
    large(3, 1 << 20);
    small(4, 100);
    large(5, 5000);
    // More small writes than the gathering holds, then only small ones up to the end.
    for (let i = 0; i < 200; i++) small(6 + (i % 50), 1 + (i % 188));
    const written = writer.commit()!;
    const all = Buffer.concat(expected);
    assert.equal(written.size, all.length);
    assert.deepEqual(fs.readFileSync(written.path), all);

    writer.open(2);
    small(7);
    writer.abort();
    writer.open(3);
    small(8, 10);
    const next = writer.commit()!;
    assert.deepEqual(fs.readFileSync(next.path), Buffer.alloc(10, 8), 'nothing of an aborted segment carries over');
    assert.deepEqual(fs.readdirSync(dir).sort(), ['cam-00001.ts', 'cam-00003.ts']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
