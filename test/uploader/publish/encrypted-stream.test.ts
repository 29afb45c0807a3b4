/**
 * One encrypted stream through the Uploader on a file target, as main.ts composes it (the
 * target confined to the policy, segments to encrypt opened past the same read-time check):
 * the window always starts with the EXT-X-KEY of its first segment, the archive lists every key
 * change, key files are private, ciphertext does not pile up, and a segment swapped for a
 * symbolic link is never encrypted and published.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { silentLogger } from '@hlsrelay/log';
import { formatMessage, parseMessage, ProtocolError, type IndexMessage } from '@hlsrelay/protocol';
import { AllowedKeys, AllowedPaths, ConfinedTarget, createEncryptionWorkDir, FileTarget, Uploader } from '@hlsrelay/uploader';
import { decrypt, keyedSegments, keyLines } from '../../support/hls-keys';
import { tempDir } from '../../support/temp-dir';

async function setup(options: { streams?: 'all' | 'requested'; deleteAfter?: { now: () => number } } = {}) {
  const dir = tempDir('encrypted-stream');
  const segs = path.join(dir, 'segs');
  const state = path.join(dir, 'state');
  fs.mkdirSync(segs);
  fs.mkdirSync(state);
  const root = path.join(dir, 'store');
  const paths = await AllowedPaths.resolve([segs, createEncryptionWorkDir(state)]);
  const body = (n: number) => Buffer.from(`segment ${n} `.repeat(50 + n));
  const message = (n: number, end = false, prefix = 's', ext: IndexMessage['ext'] = {}): IndexMessage => {
    fs.writeFileSync(path.join(segs, `${prefix}-${String(n).padStart(5, '0')}.ts`), body(n));
    return {
      index: `${prefix}.m3u8`, outputDirectory: segs, segmentDuration: 1, outputPrefix: prefix, httpPrefix: 'http://cdn/',
      firstSegment: 1, lastSegment: n, end, bucketName: 'b', keyPrefix: 'live', ext: { duration: 1, ...ext },
    };
  };
  /** An uploader on the same store: on `state`, or on another state directory (a lost one). */
  const uploaderOn = (stateDir: string) =>
    new Uploader({
      target: new ConfinedTarget(new FileTarget({ root }), paths, new AllowedKeys()),
      logger: silentLogger(),
      window: 2,
      stateDir,
      ...(options.deleteAfter ? { deleteAfter: true, retentionIntervalMs: 0, wallClock: options.deleteAfter.now } : { archive: '%s-archive.m3u8' }),
      encryption: { method: 'aes-128', rotation: 3, keyUriPrefix: 'https://keys.example/live/', streams: options.streams },
      openSource: (file) => paths.open(file),
    });
  const uploader = uploaderOn(state);
  const stored = (key: string) => fs.readFileSync(path.join(root, 'b/live', key));
  const keyOf = (uri: string) => stored(`keys/${uri.replace('https://keys.example/live/', '')}`);
  return { dir, segs, state, uploader, uploaderOn, message, body, stored, keyOf, done: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

test('rotation every 3 segments in a window of 2: each window starts with the key of its first segment; the archive lists every change', async () => {
  const s = await setup();
  try {
    const windows: string[] = [];
    for (let n = 1; n <= 7; n++) {
      await s.uploader.accept(s.message(n, n === 7));
      await s.uploader.onIdle();
      windows.push(s.stored('s.m3u8').toString());
    }
    for (const w of windows) assert.match(w, /#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-KEY:METHOD=AES-128,URI="https:\/\/keys\.example\/live\/s-[0-9a-f]{8}-\d{5}\.key"\n#EXTINF/, w);
    const last = keyedSegments(windows.at(-1)!);
    assert.deepEqual(last.map((k) => [path.basename(k.uri), k.sequence, k.keyUri!.slice(-10)]), [['s-00006.ts', 6, '-00001.key'], ['s-00007.ts', 7, '-00002.key']]);
    const archive = s.stored('s-archive.m3u8').toString();
    assert.equal(keyLines(archive).length, 3, archive);
    const archived = keyedSegments(archive);
    assert.equal(archived.length, 7);
    for (const k of archived) {
      const n = Number(/s-(\d+)\.ts$/.exec(k.uri)![1]);
      assert.deepEqual(decrypt(s.stored(path.basename(k.uri)), s.keyOf(k.keyUri!), k.iv!), s.body(n), `${k.uri} decrypts from the archive`);
    }
    for (const name of fs.readdirSync(path.join(s.dir, 'store/b/live/keys'))) {
      assert.equal(fs.statSync(path.join(s.dir, 'store/b/live/keys', name)).mode & 0o777, 0o600, `${name} on the file target is 0600`);
    }
    assert.deepEqual(fs.readdirSync(path.join(s.state, 'encrypting')), [], 'no ciphertext left once stored');
  } finally {
    await s.uploader.close();
    s.done();
  }
});

test('a segment that is a symbolic link is refused before it is encrypted: never stored, not listed, the stream goes on', async () => {
  const s = await setup();
  try {
    const secret = path.join(s.segs, 'secret.txt');
    fs.writeFileSync(secret, 'not a segment');
    await s.uploader.accept(s.message(1));
    const second = s.message(2);
    fs.rmSync(path.join(s.segs, 's-00002.ts'));
    fs.symlinkSync(secret, path.join(s.segs, 's-00002.ts'));
    await s.uploader.accept(second);
    await s.uploader.accept(s.message(3, true));
    await s.uploader.onIdle();
    assert.deepEqual(keyedSegments(s.stored('s.m3u8').toString()).map((k) => path.basename(k.uri)), ['s-00001.ts', 's-00003.ts']);
    assert.equal(fs.existsSync(path.join(s.dir, 'store/b/live/s-00002.ts')), false);
    assert.equal(s.uploader.stats.segmentsSkipped, 1);
  } finally {
    await s.uploader.close();
    s.done();
  }
});

test('--encrypt-streams requested: a stream whose messages say encrypt=aes-128 is encrypted, the others stay clear', async () => {
  const s = await setup({ streams: 'requested' });
  try {
    const asked = s.message(1, true, 'paid', { encrypt: 'aes-128' });
    // The field travels on the wire as an extension after the 2009 ten.
    const line = formatMessage(asked);
    assert.match(line, /, encrypt=aes-128/);
    assert.equal(parseMessage(line).ext.encrypt, 'aes-128');
    assert.throws(() => parseMessage(line.replace('encrypt=aes-128', 'encrypt=aes-256')), /encrypt must be one of aes-128/);
    await s.uploader.accept(asked);
    await s.uploader.accept(s.message(1, true, 'free'));
    await s.uploader.onIdle();
    const paid = keyedSegments(s.stored('paid.m3u8').toString());
    assert.equal(paid.length, 1);
    assert.deepEqual(decrypt(s.stored('paid-00001.ts'), s.keyOf(paid[0].keyUri!), paid[0].iv!), s.body(1));
    assert.doesNotMatch(s.stored('free.m3u8').toString(), /EXT-X-KEY/);
    assert.deepEqual(s.stored('free-00001.ts'), s.body(1), 'stored clear');
  } finally {
    await s.uploader.close();
    s.done();
  }
});

test('an uploader without --encrypt refuses a message that asks for encryption, rather than store it clear', async () => {
  const dir = tempDir('unencrypted');
  const uploader = new Uploader({ target: new FileTarget({ root: dir }), logger: silentLogger() });
  try {
    const m: IndexMessage = {
      index: 'paid.m3u8', outputDirectory: dir, segmentDuration: 1, outputPrefix: 'paid', httpPrefix: '',
      firstSegment: 1, lastSegment: 1, end: false, bucketName: 'b', keyPrefix: 'live', ext: { encrypt: 'aes-128' },
    };
    assert.throws(() => uploader.accept(m), (err: Error) => err instanceof ProtocolError && /runs without --encrypt aes-128/.test(err.message));
    assert.equal(uploader.stats.messages, 0);
  } finally {
    await uploader.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--delete-after: a key goes once no listed segment uses it, with the grace of its last segment; the key in use stays', async () => {
  let now = 1_000_000;
  const s = await setup({ deleteAfter: { now: () => now } });
  try {
    for (let n = 1; n <= 7; n++) await s.uploader.accept(s.message(n, n === 7));
    await s.uploader.onIdle();
    const keysDir = path.join(s.dir, 'store/b/live/keys');
    const names = () => fs.readdirSync(keysDir).sort();
    const all = names();
    assert.equal(all.length, 3, all.join(' '));
    // Segments 1-5 left the window of 2: all of key 0's, not yet key 1's (segment 6 is listed). Nothing is due yet.
    await s.uploader.expireDue();
    assert.deepEqual(names(), all);
    now += 60_000;
    await s.uploader.expireDue();
    const listedKeys = new Set(keyedSegments(s.stored('s.m3u8').toString()).map((k) => path.basename(k.keyUri!)));
    assert.deepEqual(names(), all.filter((n) => listedKeys.has(n)), 'only the keys the window still names are stored');
    assert.ok(names().length >= 1);
  } finally {
    await s.uploader.close();
    s.done();
  }
});

test('--delete-after after a lost state directory: the keys of the window recovered from the stored playlist go like any other once no listed segment uses them', async () => {
  let now = 1_000_000;
  const s = await setup({ deleteAfter: { now: () => now } });
  const keysDir = path.join(s.dir, 'store/b/live/keys');
  const names = () => fs.readdirSync(keysDir).sort();
  let first: Uploader | undefined = s.uploader;
  let restarted: Uploader | undefined;
  try {
    // Segments 1-4: key 0 (1-3) and key 1 (4); the window of 2 lists 3 and 4, so both keys stay.
    for (let n = 1; n <= 4; n++) await first.accept(s.message(n));
    await first.onIdle();
    await first.close();
    first = undefined;
    const before = names();
    assert.equal(before.length, 2, before.join(' '));
    // No state for the stream: it continues from its stored playlist, in a new key run.
    const lost = path.join(s.dir, 'state-lost');
    fs.mkdirSync(lost);
    restarted = s.uploaderOn(lost);
    for (let n = 5; n <= 10; n++) await restarted.accept(s.message(n, n === 10));
    await restarted.onIdle();
    const playlist = s.stored('s.m3u8').toString();
    const listed = new Set(keyedSegments(playlist).map((k) => path.basename(k.keyUri!)));
    assert.ok(before.every((n) => !listed.has(n)), `the window has left the recovered keys behind:\n${playlist}`);
    // Within the grace a player may still fetch them for segments it holds.
    await restarted.expireDue();
    assert.deepEqual(names().filter((n) => before.includes(n)), before, 'the recovered keys stay through the grace');
    now += 60_000;
    await restarted.expireDue();
    assert.deepEqual(names(), [...listed].sort(), 'only the keys the window names are stored');
  } finally {
    await first?.close();
    await restarted?.close();
    s.done();
  }
});

test('--key-target: keys go to their own target (0600 on a file target), never beside the segments', async () => {
  const dir = tempDir('key-target');
  const segs = path.join(dir, 'segs');
  fs.mkdirSync(segs);
  const keys = path.join(dir, 'keys');
  const uploader = new Uploader({
    target: new FileTarget({ root: path.join(dir, 'store') }),
    logger: silentLogger(),
    stateDir: path.join(dir, 'state'),
    encryption: { method: 'aes-128', keyUriPrefix: 'https://keys.example/', keyTarget: new FileTarget({ root: keys }) },
  });
  try {
    fs.writeFileSync(path.join(segs, 's-00001.ts'), 'segment 1');
    await uploader.accept({
      index: 's.m3u8', outputDirectory: segs, segmentDuration: 1, outputPrefix: 's', httpPrefix: '',
      firstSegment: 1, lastSegment: 1, end: true, bucketName: 'b', keyPrefix: 'live', ext: { duration: 1 },
    });
    await uploader.onIdle();
    const [k] = keyedSegments(fs.readFileSync(path.join(dir, 'store/b/live/s.m3u8'), 'utf8'));
    const name = k.keyUri!.replace('https://keys.example/', '');
    const stored = path.join(keys, 'b/live/keys', name);
    assert.equal(fs.statSync(stored).mode & 0o777, 0o600);
    assert.deepEqual(decrypt(fs.readFileSync(path.join(dir, 'store/b/live/s-00001.ts')), fs.readFileSync(stored), k.iv!), Buffer.from('segment 1'));
    assert.equal(fs.existsSync(path.join(dir, 'store/b/live/keys')), false, 'no key beside the segments');
  } finally {
    await uploader.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
