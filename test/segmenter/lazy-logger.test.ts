import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@hlsrelay/log';
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

/** Keeps what is written, as text (captureStream parses JSON lines). */
function textStream(): { stream: Writable; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

/** The same calls on a logger; the last line needs winston (a nested field), and the ones after it go through winston too. */
function sayThings(logger: Logger): void {
  const stream = logger.child({ stream: 's3://b/cam/index.m3u8' });
  stream.warn('Node.js v20.20.2 reached its end of life on 2026-04-30: run Node.js 22 or 24', { node: 'v20.20.2', endOfLife: '2026-04-30' });
  logger.error('plain');
  stream.child({ rendition: '720p' }).warn('nested child', { n: 3, ok: true });
  stream.warn('a reserved field', { service: 'other' });
  stream.error('an object field', { error: { code: 'EIO' } });
  stream.warn('after winston', { n: 4 });
}

for (const json of [true, false]) {
  test(`${json ? 'JSON' : 'readable'} lines written before winston loads are the lines winston writes, timestamps aside`, async () => {
    const ours = textStream();
    const theirs = textStream();
    sayThings(lazyLogger({ service: 'segmenter', level: 'warn', json, stream: ours.stream }));
    sayThings(createLogger({ service: 'segmenter', level: 'warn', json, stream: theirs.stream }));
    await new Promise((r) => setImmediate(r));
    const untimed = (text: string) => (json ? text.replace(/"timestamp":"[^"]+"/g, '"timestamp":T') : text.replace(/^\d\d:\d\d:\d\d\.\d{3} /gm, 'T '));
    assert.equal(untimed(ours.text()).split('\n').length, 7);
    assert.equal(untimed(ours.text()), untimed(theirs.text()));
    if (!json) assert.match(ours.text(), /^\d\d:\d\d:\d\d\.\d{3} warn  Node\.js v20/);
  });
}

test('a warn line of flat fields, JSON or readable, at --log-level warn, does not load winston', () => {
  const script = `
    const { lazyLogger } = require('@hlsrelay/segmenter');
    for (const json of [true, false]) lazyLogger({ service: 'segmenter', level: 'warn', json }).child({ stream: 's' }).warn('old Node.js', { node: 'v20' });
    process.stdout.write(String(Object.keys(require.cache).some((f) => f.includes('/node_modules/winston/'))));
  `;
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.equal(out, 'false');
});
