/** runtimeSupportNotice(): the daemons' own end-of-life warning, by release line and date. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NOTICE_DAYS, runtimeSupportNotice } from '@hlsrelay/protocol';

const at = (iso: string) => new Date(`${iso}T12:00:00Z`);

test('a release line is quiet while supported, warned of before its end of life, and past it', () => {
  assert.equal(runtimeSupportNotice('v22.12.0', at('2026-12-02')), undefined);
  assert.equal(runtimeSupportNotice('v20.19.0', at('2025-12-01')), undefined, `more than ${NOTICE_DAYS} days before`);
  assert.match(runtimeSupportNotice('v20.19.0', at('2026-03-01'))!.message, /^Node\.js v20\.19\.0 reaches its end of life on 2026-04-30/);
  const past = runtimeSupportNotice('v20.20.2', at('2026-12-02'))!;
  assert.equal(past.message, 'Node.js v20.20.2 reached its end of life on 2026-04-30: run Node.js 22 or 24');
  assert.deepEqual(past.meta, { node: 'v20.20.2', endOfLife: '2026-04-30' });
  assert.match(runtimeSupportNotice('v18.20.0', at('2026-12-02'))!.message, /past its end of life/);
  assert.equal(runtimeSupportNotice('v25.1.0', at('2026-12-02')), undefined, 'a line newer than the table');
});
