import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  adaptationFieldControl,
  continuityCounter,
  PacketReader,
  payloadOffset,
  payloadUnitStart,
  pid,
  randomAccessIndicator,
  TS_PACKET_SIZE,
  transportError,
} from '@hlsrelay/mpegts';
import { concat, tsPacket } from '../support/ts-packets';
import { fixture } from '../support/paths';

test('field readers on a hand-built packet', () => {
  const p = tsPacket({ pid: 0x1abc, pusi: true, cc: 9, rai: true, payload: [1, 2, 3] });
  assert.equal(p.length, 188);
  assert.equal(pid(p, 0), 0x1abc);
  assert.equal(payloadUnitStart(p, 0), true);
  assert.equal(transportError(p, 0), false);
  assert.equal(continuityCounter(p, 0), 9);
  assert.equal(adaptationFieldControl(p, 0), 0b11);
  assert.equal(randomAccessIndicator(p, 0), true);
  assert.deepEqual([...p.subarray(payloadOffset(p, 0))], [1, 2, 3]);
});

test('a packet without adaptation field has its payload at byte 4; one with no payload has none', () => {
  const full = tsPacket({ pid: 256, payload: new Array(184).fill(7) });
  assert.equal(adaptationFieldControl(full, 0), 0b01);
  assert.equal(payloadOffset(full, 0), 4);
  assert.equal(randomAccessIndicator(full, 0), false);
  const none = tsPacket({ pid: 256, rai: true });
  assert.equal(adaptationFieldControl(none, 0), 0b10);
  assert.equal(payloadOffset(none, 0), -1);
  assert.equal(transportError(tsPacket({ pid: 1, tei: true }), 0), true);
});

test('field readers work at an offset inside a larger buffer', () => {
  const b = concat([new Uint8Array(5), tsPacket({ pid: 0x101, cc: 3 })]);
  assert.equal(pid(b, 5), 0x101);
  assert.equal(continuityCounter(b, 5), 3);
});

function collect(reader: PacketReader, chunks: Uint8Array[], end = true): number[][] {
  const seen: number[][] = [];
  const onPacket = (b: Uint8Array, o: number) => seen.push([pid(b, o), continuityCounter(b, o)]);
  for (const c of chunks) reader.push(c, onPacket);
  if (end) reader.end(onPacket);
  return seen;
}

test('packets split at every possible chunk boundary come out whole and in order', () => {
  const stream = concat(Array.from({ length: 5 }, (_, i) => tsPacket({ pid: 100 + i, cc: i })));
  const expected = Array.from({ length: 5 }, (_, i) => [100 + i, i]);
  for (let cut = 1; cut < stream.length; cut += 7) {
    assert.deepEqual(collect(new PacketReader(), [stream.subarray(0, cut), stream.subarray(cut)]), expected, `cut at ${cut}`);
  }
  // One byte at a time.
  const bytes = Array.from(stream, (v) => Uint8Array.of(v));
  assert.deepEqual(collect(new PacketReader(), bytes), expected);
});

test('a real capture gives the same packets whatever the chunk sizes', () => {
  const ts = fixture('h264-aac.m2ts');
  const whole = collect(new PacketReader(), [ts]);
  assert.equal(whole.length, ts.length / TS_PACKET_SIZE);
  const chunks: Uint8Array[] = [];
  for (let o = 0, n = 1; o < ts.length; o += n, n = (n * 7 + 3) % 1000) chunks.push(ts.subarray(o, o + n));
  assert.deepEqual(collect(new PacketReader(), chunks), whole);
});

test('sync is regained after a truncated packet and garbage; a stray 0x47 in the garbage is not a packet', () => {
  const truncated = tsPacket({ pid: 9, cc: 9 }).subarray(0, 100); // a packet cut short: starts with a sync byte
  const garbage = Uint8Array.from({ length: 301 }, (_, i) => (i === 50 ? 0x47 : (i * 13) & 0x3f));
  const stream = concat([tsPacket({ pid: 1, cc: 1 }), truncated, garbage, tsPacket({ pid: 2, cc: 2 }), tsPacket({ pid: 3, cc: 3 })]);
  for (const size of [stream.length, 333, 64, 1]) {
    const reader = new PacketReader();
    const chunks: Uint8Array[] = [];
    for (let o = 0; o < stream.length; o += size) chunks.push(stream.subarray(o, o + size));
    assert.deepEqual(collect(reader, chunks), [[1, 1], [2, 2], [3, 3]], `chunks of ${size}`);
    assert.equal(reader.skippedBytes, 401, `chunks of ${size}`);
  }
});

test('the last packet of a chunk waits for the next chunk to confirm it, or for the end', () => {
  const reader = new PacketReader();
  const seen = collect(reader, [concat([tsPacket({ pid: 1 }), tsPacket({ pid: 2 })])], false);
  assert.deepEqual(seen.map((x) => x[0]), [1]);
  assert.equal(reader.pendingBytes, 188);
  reader.end((b, o) => seen.push([pid(b, o), 0]));
  assert.deepEqual(seen.map((x) => x[0]), [1, 2]);
});

test('a partial packet at the end is held, not emitted', () => {
  const reader = new PacketReader();
  const seen = collect(reader, [tsPacket({ pid: 7 }).subarray(0, 100)], false);
  assert.deepEqual(seen, []);
  assert.equal(reader.pendingBytes, 100);
});
