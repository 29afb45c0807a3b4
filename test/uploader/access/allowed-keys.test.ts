import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '@hlsrelay/protocol';
import { AllowedKeys, bucketNameProblem, fileNameProblem, keyPrefixProblem, parseBucketGrant } from '@hlsrelay/uploader';

test('bucket names: the S3 alphabet, one safe path segment', () => {
  for (const good of ['mybucket', 'my-bucket.v2', 'b', 'a'.repeat(255), '1live', 'Legacy_Bucket']) {
    assert.equal(bucketNameProblem(good), undefined, good);
  }
  const bad: Array<[string, RegExp]> = [
    ['a'.repeat(256), /1 to 255/],
    ['-bucket', /starting and ending/],
    ['bucket-', /starting and ending/],
    ['.hidden', /starting and ending/],
    ['my..bucket', /".."/],
    ['../etc', /only letters/],
    ['bucket/key', /only letters/],
    ['buck et', /only letters/],
    ['bucket\u0000', /only letters/],
    ['', /1 to 255/],
  ];
  for (const [name, reason] of bad) assert.match(bucketNameProblem(name) ?? '', reason, name);
});

test('key prefixes: relative, printable, no dot segments, bounded', () => {
  for (const good of ['', 'live', 'live/', 'live/channel-1', 'a b/ünïcode', 'x'.repeat(768)]) {
    assert.equal(keyPrefixProblem(good), undefined, JSON.stringify(good));
  }
  const bad: Array<[string, RegExp]> = [
    ['/live', /start with "\/"/],
    ['live/../other', /"\.\."/],
    ['..', /"\.\."/],
    ['live//x', /empty/],
    ['./live', /"\."/],
    ['live\\x', /"\\"/],
    ['live\u0000', /control/],
    ['live\u0007x', /control/],
    ['live\u202e', /invisible/],
    ['x'.repeat(769), /longer than 768/],
  ];
  for (const [prefix, reason] of bad) assert.match(keyPrefixProblem(prefix) ?? '', reason, JSON.stringify(prefix));
});

test('file names: one printable path segment without ".."', () => {
  for (const good of ['stream.m3u8', 'segment-720p', 'a']) assert.equal(fileNameProblem(good), undefined, good);
  for (const bad of ['', '.', '..', '../x', 'a/b', 'a\\b', 'x\ny', 'a..b', 'x'.repeat(201)]) {
    assert.notEqual(fileNameProblem(bad), undefined, JSON.stringify(bad));
  }
});

test('--allow-bucket NAME[/PREFIX] parses, or names the option and what came', () => {
  assert.deepEqual(parseBucketGrant('videos'), { bucket: 'videos', prefix: '' });
  assert.deepEqual(parseBucketGrant('videos/live/'), { bucket: 'videos', prefix: 'live' });
  assert.deepEqual(parseBucketGrant('videos/live/ch1'), { bucket: 'videos', prefix: 'live/ch1' });
  assert.throws(() => parseBucketGrant('vid eos'), /--allow-bucket expects NAME\[\/PREFIX\].*"vid eos"/);
  assert.throws(() => parseBucketGrant('videos//x'), /--allow-bucket.*prefix "\/x"/);
  assert.throws(() => parseBucketGrant('videos/../x'), /--allow-bucket.*"\.\."/);
});

test('grants restrict buckets and prefixes on whole path segments', () => {
  const keys = new AllowedKeys([parseBucketGrant('videos/live'), parseBucketGrant('archive')]);
  assert.equal(keys.restricted, true);
  assert.deepEqual(keys.describe(), ['videos/live', 'archive']);
  keys.check('videos', 'live');
  keys.check('videos', 'live/');
  keys.check('videos', 'live/ch1');
  keys.check('archive', '');
  keys.check('archive', 'any/thing');
  assert.throws(() => keys.check('videos', 'livex'), (e) => e instanceof ProtocolError && /key prefix "livex".*--allow-bucket/.test(e.message));
  assert.throws(() => keys.check('videos', ''), /key prefix "" in bucket "videos" is not one/);
  assert.throws(() => keys.check('other', 'live'), /bucket "other" is not one this uploader writes to/);
  assert.throws(() => keys.check('videos', 'live/../../x'), /"\.\."/);
  keys.checkKey('videos', 'live/ch1/stream.m3u8');
  assert.throws(() => keys.checkKey('videos', 'other/stream.m3u8'), /not one this uploader writes to/);
  assert.throws(() => keys.checkKey('videos', 'live/..'), /object name/);
});

test('without grants every well-formed bucket is allowed, malformed names still refused', () => {
  const keys = new AllowedKeys();
  assert.equal(keys.restricted, false);
  keys.check('anybucket', 'any/prefix');
  assert.throws(() => keys.check('any bucket', ''), ProtocolError);
  assert.throws(() => keys.check('anybucket', '/abs'), ProtocolError);
});
