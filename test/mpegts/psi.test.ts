import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32Mpeg, parsePat, parsePmt, SectionAssembler, StreamType, mediaKind } from '@hlsrelay/mpegts';
import { patSection, pmtSection, psiPacket, tsPacket } from '../support/ts-packets';

test('CRC-32/MPEG-2 check value', () => {
  // The catalogue check value for "123456789".
  assert.equal(crc32Mpeg(new TextEncoder().encode('123456789')), 0x0376e6e7);
});

test('PAT: program number and PMT PID', () => {
  assert.deepEqual(parsePat(patSection(0x1000)), [{ programNumber: 1, pmtPid: 0x1000 }]);
});

test('PMT: PCR PID, version and streams with their types', () => {
  const s = pmtSection([{ type: StreamType.H264, pid: 0x100 }, { type: StreamType.AAC_ADTS, pid: 0x101 }], 3);
  assert.deepEqual(parsePmt(s), {
    programNumber: 1,
    version: 3,
    pcrPid: 0x100,
    streams: [
      { streamType: 0x1b, pid: 0x100 },
      { streamType: 0x0f, pid: 0x101 },
    ],
  });
});

test('a section with a bad CRC or the wrong table is refused, not thrown', () => {
  const s = pmtSection([{ type: StreamType.H264, pid: 0x100 }]);
  const broken = s.slice();
  broken[13] ^= 0x01;
  assert.equal(parsePmt(broken), null);
  assert.equal(parsePat(s), null); // a PMT is not a PAT
  assert.equal(parsePmt(s.subarray(0, 10)), null);
});

test('stream types map to media kinds', () => {
  const table: Array<[number, string]> = [
    [StreamType.H264, 'h264'],
    [StreamType.H265, 'h265'],
    [StreamType.AAC_ADTS, 'aac'],
    [StreamType.MPEG1_AUDIO, 'mp3'],
    [StreamType.MPEG2_AUDIO, 'mp3'],
    [0x06, 'other'],
  ];
  for (const [type, kind] of table) assert.equal(mediaKind(type), kind);
});

test('section assembler: one packet, and a PMT spread over two packets', () => {
  const one = new SectionAssembler();
  const pat = patSection(0x1000);
  assert.deepEqual(one.push(psiPacket(0, pat), 0), pat);

  const streams = Array.from({ length: 40 }, (_, i) => ({ type: StreamType.AAC_ADTS, pid: 0x200 + i })); // 5 bytes each
  const big = pmtSection(streams);
  assert.ok(big.length > 183);
  const first = tsPacket({ pid: 0x1000, pusi: true, payload: [0x00, ...big.subarray(0, 183)] });
  const second = tsPacket({ pid: 0x1000, cc: 1, payload: [...big.subarray(183)] });
  const a = new SectionAssembler();
  assert.equal(a.push(first, 0), null);
  const section = a.push(second, 0);
  assert.ok(section);
  assert.equal(parsePmt(section)?.streams.length, 40);
  // A continuation without its start is ignored.
  assert.equal(new SectionAssembler().push(second, 0), null);
});
