import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lazyLogger } from '@hlsrelay/segmenter';
import { captureStream } from '../support/log-capture';

test('lines at enabled levels come out as from winston, with each child its own fields; lines below the level do not', async () => {
  const out = captureStream();
  const logger = lazyLogger({ service: 'segmenter', level: 'warn', json: true, stream: out.stream });
  const a = logger.child({ stream: 's3://b/a.m3u8' });
  const b = logger.child({ stream: 's3://b/b.m3u8' });
  a.info('not shown', { n: 1 });
  a.debug('not shown either');
  a.warn('shown', { n: 2 });
  b.error('also shown', { n: 3 });
  logger.warn('parent');
  await new Promise((r) => setImmediate(r));
  const lines = out.entries;
  assert.deepEqual(
    lines.map((l) => [l.level, l.message, l.stream, l.n, l.service]),
    [
      ['warn', 'shown', 's3://b/a.m3u8', 2, 'segmenter'],
      ['error', 'also shown', 's3://b/b.m3u8', 3, 'segmenter'],
      ['warn', 'parent', undefined, undefined, 'segmenter'],
    ],
  );
  assert.ok(lines.every((l) => typeof l.timestamp === 'string'));
});

test('other uses reach the real logger: its level, and is-enabled checks', () => {
  const out = captureStream();
  const logger = lazyLogger({ service: 'segmenter', level: 'info', json: true, stream: out.stream });
  assert.equal(logger.level, 'info');
  assert.equal(logger.isLevelEnabled('debug'), false);
  assert.equal(logger.isLevelEnabled('info'), true);
});
