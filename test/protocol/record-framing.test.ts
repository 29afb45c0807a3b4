import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeRecords, encodeRecord, ProtocolError } from '@hlsrelay/protocol';

test('golden record: crc32 in hex, a space, the payload, a newline', () => {
  // crc32("hello") = 0x3610a686 (zlib).
  assert.equal(encodeRecord('hello').toString(), '3610a686 hello\n');
  assert.equal(encodeRecord('').toString(), '00000000 \n');
  assert.throws(() => encodeRecord('two\nlines'), ProtocolError);
});

test('whole records decode; a torn last record is ignored and the good length reported', () => {
  const a = encodeRecord('{"t":"m","id":1}');
  const b = encodeRecord('{"t":"m","id":2}');
  const whole = Buffer.concat([a, b]);
  assert.deepEqual(decodeRecords(whole), { payloads: ['{"t":"m","id":1}', '{"t":"m","id":2}'], validBytes: whole.length, ignoredBytes: 0 });
  for (let cut = a.length; cut < whole.length; cut++) {
    const r = decodeRecords(whole.subarray(0, cut));
    assert.deepEqual(r.payloads, ['{"t":"m","id":1}'], `cut at ${cut}`);
    assert.equal(r.validBytes, a.length);
    assert.equal(r.ignoredBytes, cut - a.length);
  }
});

test('a damaged record stops decoding: nothing after it is trusted', () => {
  const recs = ['one', 'two', 'three'].map(encodeRecord);
  const flipped = Buffer.concat(recs);
  flipped[recs[0].length + 10] ^= 0x01; // a bit of "two"'s payload
  assert.deepEqual(decodeRecords(flipped).payloads, ['one']);
  const zeros = Buffer.concat([recs[0], Buffer.alloc(4096)]); // a half-written block of zeros
  assert.deepEqual(decodeRecords(zeros), { payloads: ['one'], validBytes: recs[0].length, ignoredBytes: 4096 });
});

test('property: any list of one-line payloads round-trips', () => {
  fc.assert(
    fc.property(fc.array(fc.string().filter((s) => !/[\r\n]/.test(s))), (payloads) => {
      const bytes = Buffer.concat(payloads.map(encodeRecord));
      assert.deepEqual(decodeRecords(bytes).payloads, payloads);
    }),
  );
});
