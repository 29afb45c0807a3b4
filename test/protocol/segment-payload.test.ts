/**
 * Segment bytes on the session: the decoder passes exactly the announced bytes through raw,
 * wherever the chunks are cut, and goes back to lines after them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatPayloadCommand, parsePayloadCommand, ProtocolError, SessionDecoder, type SessionEvent } from '@hlsrelay/protocol';

/** Runs the decoder over `chunks`; payload bytes are copied out (the views are only valid during push). */
function decode(chunks: Uint8Array[]): Array<{ kind: string; line?: string; length?: number; bytes?: Buffer }> {
  const d = new SessionDecoder();
  const out: Array<{ kind: string; line?: string; length?: number; bytes?: Buffer }> = [];
  const emit = (e: SessionEvent) => {
    if (e.kind === 'payload-bytes') {
      const last = out.at(-1);
      if (last?.kind === 'payload-bytes') last.bytes = Buffer.concat([last.bytes!, e.bytes]);
      else out.push({ kind: 'payload-bytes', bytes: Buffer.from(e.bytes) });
    } else out.push({ ...e });
  };
  for (const c of chunks) d.push(c, emit);
  const rest = d.end();
  if (rest !== undefined) out.push({ kind: 'line', line: rest });
  return out;
}

test('PAYLOAD command: golden text and bounds', () => {
  assert.equal(formatPayloadCommand(188 * 1000), 'PAYLOAD 188000');
  assert.equal(parsePayloadCommand('PAYLOAD 188000'), 188000);
  assert.equal(parsePayloadCommand('HLSRELAY 1'), undefined);
  assert.equal(parsePayloadCommand('a.m3u8, /tmp, 2, a, http://x/, 1, 1, 0, b, k'), undefined);
  assert.throws(() => parsePayloadCommand('PAYLOAD -1'), ProtocolError);
  assert.throws(() => parsePayloadCommand('PAYLOAD 99999999999'), /length of 0\.\./);
  assert.throws(() => formatPayloadCommand(1.5), ProtocolError);
});

test('bytes that look like line ends stay inside the payload; lines resume after it', () => {
  const payload = Buffer.from('\n\nPAYLOAD 3\nOK 1\n\x00\xff');
  const wire = Buffer.concat([Buffer.from(`HLSRELAY 1\n${formatPayloadCommand(payload.length)}\n`), payload, Buffer.from('message, one\nnext\n')]);
  assert.deepEqual(decode([wire]), [
    { kind: 'line', line: 'HLSRELAY 1' },
    { kind: 'payload-start', length: payload.length },
    { kind: 'payload-bytes', bytes: payload },
    { kind: 'payload-end' },
    { kind: 'line', line: 'message, one' },
    { kind: 'line', line: 'next' },
  ]);
});

test('any cut of the byte stream decodes the same (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), fc.array(fc.integer({ min: 1, max: 700 }), { maxLength: 8 }), (payload, cuts) => {
      const wire = Buffer.concat([Buffer.from(`PAYLOAD ${payload.length}\n`), payload, Buffer.from('msg\n')]);
      const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
      const chunks: Uint8Array[] = [];
      let at = 0;
      for (const p of [...points, wire.length]) {
        chunks.push(wire.subarray(at, p));
        at = p;
      }
      const events = decode(chunks);
      const bytes = events.filter((e) => e.kind === 'payload-bytes').map((e) => e.bytes!);
      assert.deepEqual(Buffer.concat(bytes), Buffer.from(payload));
      assert.deepEqual(events.at(-1), { kind: 'line', line: 'msg' });
      assert.equal(events.filter((e) => e.kind === 'payload-end').length, 1);
    }),
    { numRuns: 300 },
  );
});

test('a connection that ends inside a payload is an error, not a short segment', () => {
  const d = new SessionDecoder();
  d.push(Buffer.from('PAYLOAD 10\nabc'), () => {});
  assert.equal(d.remaining, 7);
  assert.throws(() => d.end(), /7 bytes before the end of a payload/);
});
