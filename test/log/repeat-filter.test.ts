import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RepeatFilter } from '@hlsrelay/log';

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
