import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pbkdf2 } from 'node:crypto';
import { promisify } from 'node:util';
import { readSpool, Spool, SPOOL_FILE } from '@hlsrelay/segmenter';
import { tempDir } from '../../support/temp-dir';

const pbkdf2Async = promisify(pbkdf2);

const tmp = () => tempDir('spool');

test('a restarted segmenter finds what its previous run did not deliver, in order', () => {
  const dir = tmp();
  try {
    const first = new Spool(dir);
    const a = first.add('one').id;
    first.add('two');
    first.add('three');
    first.remove(a);
    // Killed here: no close.
    const second = new Spool(dir);
    assert.deepEqual(second.messages().map((m) => m.line), ['two', 'three']);
    const four = second.add('four').id;
    assert.ok(four > second.messages()[1].id, 'ids keep growing after a restart');
    for (const m of second.messages()) second.remove(m.id);
    assert.equal(statSync(path.join(dir, SPOOL_FILE)).size, 0, 'an empty spool is an empty file');
    second.close();
    first.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bounded: past the limit the oldest undelivered message is dropped, and says so', () => {
  const dir = tmp();
  try {
    const spool = new Spool(dir, { maxMessages: 3 });
    for (const m of ['a', 'b', 'c']) assert.equal(spool.add(m).dropped, undefined);
    const r = spool.add('d');
    assert.equal(r.dropped?.line, 'a');
    assert.equal(spool.dropped, 1);
    assert.deepEqual(readSpool(dir).pending.map((m) => m.line), ['b', 'c', 'd']);
    assert.throws(() => new Spool(dir, { maxMessages: 0 }), /whole number ≥ 1, got 0/);
    spool.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a torn record at the end is ignored', () => {
  const dir = tmp();
  try {
    const spool = new Spool(dir);
    spool.add('whole');
    spool.close();
    appendFileSync(path.join(dir, SPOOL_FILE), '1234abcd {"a":2,"l":"to');
    assert.deepEqual(new Spool(dir).messages().map((m) => m.line), ['whole']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a record is in the file when add returns, and its durable promise resolves once it is synced; close syncs what is left', async () => {
  const dir = tmp();
  try {
    const spool = new Spool(dir);
    const added = ['one', 'two', 'three'].map((m) => spool.add(m));
    // Written before any sync: a killed segmenter would find them.
    assert.deepEqual(readSpool(dir).pending.map((m) => m.line), ['one', 'two', 'three']);
    await Promise.all(added.map((a) => a.durable));
    spool.remove(added[0].id);
    const four = spool.add('four');
    spool.close();
    await four.durable.catch(() => undefined);
    assert.deepEqual(readSpool(dir).pending.map((m) => m.line), ['two', 'three', 'four']);
    const again = new Spool(dir);
    for (const m of again.messages()) again.remove(m.id);
    again.close();
    assert.equal(statSync(path.join(dir, SPOOL_FILE)).size, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('closed at once after add: the sync still queued for the record never fails (close synced it)', async () => {
  const dir = tmp();
  try {
    for (let n = 0; n < 5; n++) {
      // The thread pool kept busy, so the record's fdatasync is still queued when close() runs.
      const busy = Array.from({ length: 4 }, () => pbkdf2Async('x', 'y', 40_000, 32, 'sha256'));
      const spool = new Spool(dir);
      const added = spool.add(`message ${n}`);
      spool.close();
      await added.durable;
      await Promise.all(busy);
    }
    assert.equal(readSpool(dir).pending.length, 5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an empty or missing spool file is opened as it is (nothing to rewrite); one with records is rewritten to what is pending', () => {
  const dir = tmp();
  try {
    const file = path.join(dir, SPOOL_FILE);
    new Spool(dir).close();
    assert.equal(existsSync(file), false, 'no file until a record is written');
    writeFileSync(file, '');
    const inode = statSync(file).ino;
    const empty = new Spool(dir);
    assert.equal(statSync(file).ino, inode, 'the empty file is the same file');
    empty.remove(empty.add('one').id);
    empty.add('two');
    empty.close();
    const reopened = new Spool(dir);
    assert.notEqual(statSync(file).ino, inode, 'a file with records is replaced');
    assert.deepEqual(reopened.messages().map((m) => m.line), ['two']);
    assert.equal(readSpool(dir).size, statSync(file).size);
    reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
