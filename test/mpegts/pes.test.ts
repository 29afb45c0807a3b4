import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePesHeader, PesAssembler, ptsAdd, ptsDelta, PTS_MODULO, readTimestamp, secondsToTicks, ticksToSeconds } from '@hlsrelay/mpegts';
import { pesBytes, timestampField, tsPacket } from '../support/ts-packets';

test('33-bit timestamps above 2^32 survive (multiplication, not shifts)', () => {
  for (const t of [0, 1, 90_000, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 12345, PTS_MODULO - 1]) {
    assert.equal(readTimestamp(Uint8Array.from(timestampField(0b0010, t)), 0), t, `t=${t}`);
  }
});

test('PES header: PTS only, PTS and DTS, data offset', () => {
  const a = Uint8Array.from(pesBytes(0xe0, 2 ** 32 + 7, [9, 9]));
  assert.deepEqual(parsePesHeader(a, 0), { streamId: 0xe0, pts: 2 ** 32 + 7, dts: 2 ** 32 + 7, dataOffset: 14 });
  const b = Uint8Array.from(pesBytes(0xe0, 9000, [], 6000));
  assert.deepEqual(parsePesHeader(b, 0), { streamId: 0xe0, pts: 9000, dts: 6000, dataOffset: 19 });
  assert.equal(parsePesHeader(Uint8Array.from([0, 0, 2, 0xe0, 0, 0, 0x80, 0, 0]), 0), null); // no start code
  assert.equal(parsePesHeader(b.subarray(0, 12), 0), null); // header cut short
});

test('ptsDelta takes the short way round the 33-bit circle', () => {
  const table: Array<[number, number, number]> = [
    [0, 90_000, 90_000],
    [90_000, 0, -90_000],
    [PTS_MODULO - 3000, 6000, 9000], // across the wrap: forward
    [6000, PTS_MODULO - 3000, -9000], // back across the wrap
    [100, 100, 0],
  ];
  for (const [from, to, d] of table) assert.equal(ptsDelta(from, to), d, `${from} → ${to}`);
  assert.equal(ptsAdd(PTS_MODULO - 10, 20), 10);
  assert.equal(ptsAdd(5, -10), PTS_MODULO - 5);
  assert.equal(ticksToSeconds(secondsToTicks(2.5)), 2.5);
});

test('the PES assembler keeps the head of each PID’s PES, bounded by its limit', () => {
  const asm = new PesAssembler(188 * 2);
  const head = (pid: number, pts: number) => tsPacket({ pid, pusi: true, payload: pesBytes(0xe0, pts, new Array(150).fill(pid & 0xff)) });
  const more = (pid: number) => tsPacket({ pid, payload: new Array(184).fill(0xaa) });
  assert.equal(asm.push(0x100, more(0x100), 0), null); // joined mid-PES: nothing to say yet
  const v = asm.push(0x100, head(0x100, 1000), 0)!;
  assert.equal(v.header?.pts, 1000);
  const a = asm.push(0x101, head(0x101, 2000), 0)!;
  assert.equal(a.header?.pts, 2000);
  asm.push(0x100, more(0x100), 0);
  const v3 = asm.push(0x100, more(0x100), 0)!;
  assert.equal(v3.packets, 3);
  assert.equal(v3.length, 376); // capped
  assert.equal(v3.truncated, true);
  assert.equal(asm.push(0x101, more(0x101), 0)!.header?.pts, 2000); // the other PID is untouched
  assert.throws(() => new PesAssembler(10), /PES head limit/);
});
