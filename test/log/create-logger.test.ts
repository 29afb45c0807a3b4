import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createLogger } from '@hlsrelay/log';

test('createLogger: a line below the level is neither written nor formatted; a child and a later level change follow the level', async () => {
  const stream = new PassThrough();
  let out = '';
  stream.on('data', (d: Buffer) => (out += d.toString()));
  const logger = createLogger({ service: 'test', level: 'info', json: true, stream });
  let formatted = 0;
  const meta = { get costly() { formatted += 1; return 'x'; } };
  logger.debug('below the level', meta);
  logger.child({ part: 'c' }).debug('below the level, from a child', meta);
  assert.equal(formatted, 0, 'nothing read the fields of a dropped line');
  logger.info('at the level', { n: 1 });
  logger.child({ part: 'c' }).warn('above the level, from a child');
  logger.level = 'debug';
  logger.debug('now at the level', meta);
  await new Promise((r) => setImmediate(r));
  const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(lines.map((l) => [l.level, l.message, l.part, l.costly]), [
    ['info', 'at the level', undefined, undefined],
    ['warn', 'above the level, from a child', 'c', undefined],
    ['debug', 'now at the level', undefined, 'x'],
  ]);
  assert.equal(lines[0].service, 'test');
  assert.equal(formatted, 1);
});
