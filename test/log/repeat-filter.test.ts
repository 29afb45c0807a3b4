import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RepeatFilter, repeatKind } from '@hlsrelay/log';

test('repeat filter: the first of a kind passes, repeats within the interval are held and counted on the next one let through', () => {
  let now = 0;
  const f = new RepeatFilter({ intervalMs: 10_000, now: () => now });
  assert.equal(f.pass('wrong token'), 0);
  assert.equal(f.pass('wrong token'), undefined);
  assert.equal(f.pass('wrong token'), undefined);
  assert.equal(f.pass('wrong port'), 0, 'another kind is its own');
  now = 9_999;
  assert.equal(f.pass('wrong token'), undefined);
  now = 10_000;
  assert.equal(f.pass('wrong token'), 3, 'three held back since the last one');
  assert.equal(f.pass('wrong token'), undefined);
  assert.throws(() => new RepeatFilter({ intervalMs: -1 }), /intervalMs must be ≥ 0, got -1/);
});

test('repeat kind: one kind whatever the quoted values, paths and numbers; other wording is another kind', () => {
  const a = repeatKind('segment file /srv/a/cam-00001.ts lies outside the directories this uploader may read (--allow-dir)');
  assert.equal(a, repeatKind('segment file /tmp/x/y-00942.ts lies outside the directories this uploader may read (--allow-dir)'));
  assert.equal(repeatKind('bucket "a" is not one this uploader writes to'), repeatKind('bucket "other" is not one this uploader writes to'));
  assert.equal(repeatKind('segment_duration must be 1 to 86400 seconds, got 0'), repeatKind('segment_duration must be 1 to 86400 seconds, got 99999'));
  assert.notEqual(a, repeatKind('segment file /srv/a/cam-00001.ts cannot be resolved (ENOENT)'));
  assert.notEqual(repeatKind('wrong token'), repeatKind('authentication required: send AUTH <token> first'));
});
