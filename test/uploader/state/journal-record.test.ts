/**
 * The journal records the parsed message and takes it back without parsing it again; a journal
 * written by an earlier version (each message as its wire line) is still read after an upgrade.
 * All on one RecordLog (protocol record-log.ts), shared with the segmenter's spool.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '@hlsrelay/log';
import { encodeRecord, formatMessage, RecordLog, type IndexMessage } from '@hlsrelay/protocol';
import { FileTarget, JOURNAL_FILE, Journal, readJournal, Uploader } from '@hlsrelay/uploader';

function message(dir: string, n: number): IndexMessage {
  return {
    index: 'cam.m3u8', outputDirectory: dir, segmentDuration: 2, outputPrefix: 'cam', httpPrefix: 'https://cdn/',
    firstSegment: 1, lastSegment: n, end: false, bucketName: 'live', keyPrefix: 'show',
    ext: { duration: 2, programDateTime: new Date('2026-01-02T03:04:05.678Z') },
  };
}

test('record log: replace is whole, appends follow it, a torn tail is left out of what is read', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hlsrelay-record-log-'));
  try {
    const log = new RecordLog(path.join(dir, 'x.log'));
    assert.deepEqual(log.read().payloads, [], 'a missing file reads as empty');
    assert.equal(log.replace(['a', 'b']), encodeRecord('a').length + encodeRecord('b').length);
    log.appendSync(['c']);
    assert.deepEqual(log.read().payloads, ['a', 'b', 'c']);
    log.replace(['d']);
    log.appendSync(['e']);
    assert.deepEqual(log.read().payloads, ['d', 'e'], 'appends after a replace go to the new file');
    appendFileSync(log.file, 'deadbeef tor');
    const torn = log.read();
    assert.deepEqual([torn.payloads, torn.ignoredBytes], [['d', 'e'], 12]);
    log.truncateSync();
    assert.equal(readFileSync(log.file).length, 0);
    log.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('journal: a parsed message comes back as it was accepted, dates included', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hlsrelay-journal-record-'));
  try {
    const { journal } = await Journal.open(dir, { logger: silentLogger() });
    const m = message('/srv/seg', 4);
    const id = await journal.accept(m);
    await journal.close();
    const [pending] = readJournal(dir).pending;
    assert.deepEqual(pending, { id, message: m });
    assert.ok(pending.message?.ext.programDateTime instanceof Date);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('journal of an earlier version (messages as wire lines): restored and uploaded after an upgrade', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hlsrelay-journal-upgrade-'));
  const state = path.join(dir, 'state');
  const segments = path.join(dir, 'segments');
  mkdirSync(state);
  mkdirSync(segments);
  writeFileSync(path.join(segments, 'cam-00001.ts'), 'segment one');
  const line = formatMessage(message(segments, 1));
  // Exactly as the previous release wrote an accepted, unfinished message.
  writeFileSync(path.join(state, JOURNAL_FILE), encodeRecord(JSON.stringify({ m: 1, l: line })));
  try {
    const { journal, recovered } = await Journal.open(state, { logger: silentLogger() });
    assert.deepEqual(recovered.pending, [{ id: 1, line }]);
    const root = path.join(dir, 'www');
    const uploader = new Uploader({ target: new FileTarget({ root }), logger: silentLogger(), journal });
    uploader.restore(recovered);
    await uploader.onIdle();
    await uploader.close();
    await journal.close();
    assert.equal(readFileSync(path.join(root, 'live', 'show', 'cam-00001.ts'), 'utf8'), 'segment one');
    assert.match(readFileSync(path.join(root, 'live', 'show', 'cam.m3u8'), 'utf8'), /cam-00001\.ts/);
    assert.deepEqual(readJournal(state).pending, [], 'done once its playlist is stored');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
