import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { silentLogger } from '@hlsrelay/log';
import { encodeRecord } from '@hlsrelay/protocol';
import { JOURNAL_FILE, Journal, readJournal } from '@hlsrelay/uploader';
import { tempDir } from '../../support/temp-dir';

const tmp = () => tempDir('journal');

test('accepted messages survive until a commit marks them done; stream state is the latest committed', async () => {
  const dir = tmp();
  try {
    const { journal, recovered } = await Journal.open(dir, { logger: silentLogger() });
    assert.deepEqual(recovered.pending, []);
    const a = await journal.accept('a, /d, 1, p, h/, 1, 1, 0, b, k');
    const b = await journal.accept('a, /d, 1, p, h/, 1, 2, 0, b, k');
    await journal.commit('s1', { n: 1 }, [a]);
    // A crash now: no close, the file is read as it is.
    const seen = readJournal(dir);
    assert.deepEqual(seen.pending, [{ id: b, line: 'a, /d, 1, p, h/, 1, 2, 0, b, k' }]);
    assert.deepEqual(seen.streams.get('s1'), { n: 1 });
    await journal.commit('s1', { n: 2 }, [b]);
    await journal.close();
    const after = readJournal(dir);
    assert.deepEqual(after.pending, []);
    assert.deepEqual([...after.streams], [['s1', { n: 2 }]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a torn last record (a crash mid-write) is ignored and cut off; ids go on after the survivors', async () => {
  const dir = tmp();
  try {
    const file = path.join(dir, JOURNAL_FILE);
    const whole = encodeRecord(JSON.stringify({ m: 7, l: 'kept' }));
    const torn = encodeRecord(JSON.stringify({ m: 8, l: 'never acknowledged' })).subarray(0, 20);
    writeFileSync(file, Buffer.concat([whole, torn]));
    const { journal, recovered } = await Journal.open(dir, { logger: silentLogger() });
    assert.deepEqual(recovered.pending, [{ id: 7, line: 'kept' }]);
    assert.equal(recovered.ignoredBytes, torn.length);
    assert.equal(statSync(file).size, whole.length, 'the torn tail is gone before anything is appended');
    assert.equal(await journal.accept('next'), 8);
    await journal.close();
    assert.deepEqual(readJournal(dir).pending.map((p) => p.line), ['kept', 'next']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('compaction: once nothing is pending a grown journal shrinks to the stream states; appends go on in the new file', async () => {
  const dir = tmp();
  try {
    const { journal } = await Journal.open(dir, { logger: silentLogger(), compactBytes: 8 * 1024 });
    const file = path.join(dir, JOURNAL_FILE);
    let biggest = 0;
    for (let i = 0; i < 200; i++) {
      const id = await journal.accept(`message ${i} `.padEnd(120, 'x'));
      await journal.commit('s', { last: i }, [id]);
      biggest = Math.max(biggest, statSync(file).size);
    }
    assert.ok(biggest <= 8 * 1024 + 400, `the file stayed near the threshold (${biggest} bytes)`);
    const id = await journal.accept('after compaction');
    const seen = readJournal(dir);
    assert.deepEqual(seen.pending, [{ id, line: 'after compaction' }]);
    assert.deepEqual(seen.streams.get('s'), { last: 199 });
    await journal.close();
    assert.ok(readFileSync(file).length < 200, 'close leaves one state record and the one pending message');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('concurrent accepts share fsyncs (group commit) and keep their order', async () => {
  const dir = tmp();
  try {
    const { journal } = await Journal.open(dir, { logger: silentLogger() });
    const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => journal.accept(`m${i}`)));
    assert.deepEqual(ids, Array.from({ length: 50 }, (_, i) => i + 1));
    assert.ok(journal.syncs < 50, `${journal.syncs} fsyncs for 50 records`);
    assert.deepEqual(readJournal(dir).pending.map((p) => p.line), ids.map((i) => `m${i - 1}`));
    await journal.close();
    // Garbage appended after a clean close (a damaged disk block) is not trusted either.
    appendFileSync(path.join(dir, JOURNAL_FILE), Buffer.alloc(512));
    assert.equal(readJournal(dir).pending.length, 50);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
