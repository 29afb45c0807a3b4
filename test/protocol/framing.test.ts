import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MessageDecoder, frameMessage, ProtocolError } from '@hlsrelay/protocol';

const enc = (s: string) => Buffer.from(s, 'utf8');

test('the original framing: one message, no newline, ended by EOF', () => {
  const d = new MessageDecoder();
  assert.deepEqual(d.push(enc('a, /tmp/, 10')), []);
  assert.deepEqual(d.push(enc(', p, h, 1, 1, 0, b, k')), []);
  assert.equal(d.end(), 'a, /tmp/, 10, p, h, 1, 1, 0, b, k');
  assert.equal(d.end(), undefined, 'nothing left after end');
});

test('persistent framing: newline-terminated lines, CRLF tolerated, partial bytes kept between reads', () => {
  const d = new MessageDecoder();
  assert.deepEqual(d.push(enc('one\ntw')), ['one']);
  assert.equal(d.pendingBytes, 2);
  assert.deepEqual(d.push(enc('o\r\nthree\n\nfour')), ['two', 'three', '']);
  assert.equal(d.end(), 'four');
});

test('a UTF-8 character split across reads is decoded intact', () => {
  const bytes = enc('é-stream\n');
  const d = new MessageDecoder();
  assert.deepEqual(d.push(bytes.subarray(0, 1)), []);
  assert.deepEqual(d.push(bytes.subarray(1)), ['é-stream']);
});

test('an over-long line is refused with a ProtocolError, and the decoder recovers', () => {
  const d = new MessageDecoder({ maxLineBytes: 64 });
  assert.throws(() => d.push(enc('x'.repeat(65))), (e: unknown) => e instanceof ProtocolError && /longer than 64/.test(e.message));
  assert.deepEqual(d.push(enc('ok\n')), ['ok']);
});

test('whitespace-only remainder at EOF is not a message', () => {
  const d = new MessageDecoder();
  d.push(enc('a\n  '));
  assert.equal(d.end(), undefined);
});

test('rejects a nonsensical maxLineBytes at construction', () => {
  assert.throws(() => new MessageDecoder({ maxLineBytes: 0 }), /maxLineBytes must be an integer ≥ 64, got 0/);
});

test('any split of framed messages yields the same messages (property)', () => {
  const line = fc.string({ maxLength: 30 }).filter((s) => !/[\r\n]/.test(s));
  fc.assert(
    fc.property(fc.array(line, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 20 }), (lines, cuts) => {
      const all = enc(lines.map(frameMessage).join(''));
      const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b);
      const d = new MessageDecoder();
      const out: string[] = [];
      let prev = 0;
      for (const p of [...points, all.length]) {
        out.push(...d.push(all.subarray(prev, p)));
        prev = p;
      }
      assert.deepEqual(out, lines);
      assert.equal(d.end(), undefined);
    }),
  );
});
