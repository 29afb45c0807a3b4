/**
 * The wire side against random and mutated input: the line decoder, the message parser, the
 * session lines and the uploader's message policy. Bad input may only ever end in a ProtocolError
 * (which the server answers with ERR); the decoder never holds more than its line limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import fc from 'fast-check';
import {
  classifySessionLine,
  formatMessage,
  MessageDecoder,
  parseAck,
  parseGreeting,
  parseMessage,
  ProtocolError,
  type IndexMessage,
} from '@hlsrelay/protocol';
import { AllowedKeys, AllowedPaths, MessagePolicy, parseBucketGrant } from '@hlsrelay/uploader';

const ORIGINAL = 'stream.m3u8, /tmp/hls, 10, segment, http://cdn.example.com/live/, 1, 42, 0, mybucket, live';
const EXTENDED = `${ORIGINAL}, duration=9.960, pdt=2024-05-01T12:00:00.000Z, pts=8589934000, discontinuity=1, size=1234567, codecs=avc1.64001f%2Cmp4a.40.2, resolution=1280x720, frame_rate=25, future_field=x%3Dy`;

/** Only ProtocolError may come out of a parser fed bad input; anything else is a bug. */
function onlyProtocolErrors<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (err) {
    if (err instanceof ProtocolError) return undefined;
    throw err;
  }
}

/** Edits of a text: replace, insert or delete characters, swap in separators and odd bytes. */
const textMutation = fc.tuple(
  fc.constantFrom('replace', 'insert', 'delete'),
  fc.double({ min: 0, max: 1, noNaN: true }),
  fc.oneof(fc.constantFrom(',', ', ', '=', '%', '%zz', '\r', '\u0000', '..', '/', '-1', '99999999999999999', ' ', '\u202e', 'é', '\uD800'), fc.string({ maxLength: 8 })),
);

function applyEdits(text: string, edits: Array<[string, number, string]>): string {
  let s = text;
  for (const [kind, f, piece] of edits) {
    const at = Math.floor(f * s.length);
    if (kind === 'replace') s = s.slice(0, at) + piece + s.slice(at + piece.length);
    else if (kind === 'insert') s = s.slice(0, at) + piece + s.slice(at);
    else s = s.slice(0, at) + s.slice(at + piece.length + 1);
  }
  return s;
}

const messageArb = fc.oneof(
  fc.string({ maxLength: 400 }),
  fc.string({ unit: 'binary', maxLength: 400 }),
  fc.array(fc.string({ maxLength: 20 }), { maxLength: 16 }).map((fields) => fields.join(', ')),
  fc.tuple(fc.constantFrom(ORIGINAL, EXTENDED), fc.array(textMutation, { minLength: 1, maxLength: 5 })).map(([m, edits]) => applyEdits(m, edits)),
);

test('the golden messages parse (the fuzzing starts from valid input)', () => {
  assert.equal(parseMessage(ORIGINAL).lastSegment, 42);
  assert.equal(parseMessage(EXTENDED).ext.codecs, 'avc1.64001f,mp4a.40.2');
});

test('parser: random and mutated messages parse or fail with a ProtocolError; what parses round-trips', () => {
  fc.assert(
    fc.property(messageArb, (line) => {
      const m = onlyProtocolErrors(() => parseMessage(line));
      if (!m) return;
      // What was accepted can be sent on, and means the same again.
      const again = onlyProtocolErrors(() => formatMessage(m));
      if (again === undefined) return; // fields an original parser took but that cannot travel unescaped
      assert.deepEqual(parseMessage(again), m);
    }),
    { numRuns: 3000, interruptAfterTimeLimit: 15_000 },
  );
});

test('decoder: any bytes in any chunks give the same lines as splitting the whole, holding at most the limit', () => {
  const max = 256;
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.constant(Uint8Array.of(0x0a)), fc.constant(Buffer.from('é\r\n'))), { maxLength: 20 }),
      (chunks) => {
        const decoder = new MessageDecoder({ maxLineBytes: max });
        const lines: string[] = [];
        let overlong = false;
        for (const c of chunks) {
          try {
            lines.push(...decoder.push(c));
          } catch (err) {
            assert.ok(err instanceof ProtocolError && /longer than 256 bytes/.test(err.message));
            overlong = true;
            break; // the server ends such a connection
          }
          assert.ok(decoder.pendingBytes <= max, `holding ${decoder.pendingBytes}`);
        }
        if (overlong) return;
        const last = decoder.end();
        const whole = Buffer.concat(chunks).toString('utf8').split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
        const tail = whole.pop()!;
        assert.deepEqual(lines, whole);
        assert.equal(last, tail.trim() === '' ? undefined : tail);
      },
    ),
    { numRuns: 1000 },
  );
});

test('session lines (greeting, acknowledgements, commands): no exception but ProtocolError', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('HLSRELAY 1 ack', 'OK 1', 'ERR 2 no', 'AUTH x', 'HLSRELAY 99999999')), (line) => {
      parseGreeting(line);
      const c = classifySessionLine(line);
      assert.ok(c.kind === 'command' ? /^[A-Z]/.test(c.verb) : c.line === line);
      const ack = onlyProtocolErrors(() => parseAck(line));
      if (ack) assert.ok(Number.isSafeInteger(ack.seq) && ack.seq >= 0);
    }),
    { numRuns: 2000 },
  );
});

test('message policy on whatever parses: accepted or refused with a ProtocolError, never anything else', async () => {
  const policy = new MessagePolicy({
    paths: await AllowedPaths.resolve([os.tmpdir()]),
    keys: new AllowedKeys([parseBucketGrant('mybucket/live')]),
  });
  let accepted = 0;
  let refused = 0;
  fc.assert(
    fc.property(messageArb, (line) => {
      const m: IndexMessage | undefined = onlyProtocolErrors(() => parseMessage(line));
      if (!m) return;
      try {
        policy.check(m);
        accepted++;
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        refused++;
      }
    }),
    { numRuns: 2000, interruptAfterTimeLimit: 15_000 },
  );
  // Both outcomes happen: the fuzzing reaches the policy's checks and gets past them.
  assert.ok(refused > 0, `refused ${refused}`);
  assert.ok(accepted > 0, `accepted ${accepted}`);
});
