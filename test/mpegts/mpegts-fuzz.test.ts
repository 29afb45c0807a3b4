/**
 * The MPEG-TS parsers against random and mutated bytes: the packet reader, PSI, PES headers and
 * the parameter-set and audio-header parsers. None may throw; what they return stays within the
 * input and within what the specs allow, and the bytes they hold between chunks stay bounded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  findNalUnits,
  MAX_PICTURE_DIMENSION,
  PacketReader,
  parseAdtsHeader,
  parseH264Sps,
  parseH265Sps,
  parseMpegAudioHeader,
  parsePat,
  parsePesHeader,
  parsePmt,
  PesAssembler,
  probeAccessUnit,
  SectionAssembler,
  SYNC_BYTE,
  TS_PACKET_SIZE,
} from '@hlsrelay/mpegts';
import { fixture } from '../support/paths';
import { chunked, mutate, mutationArb } from '../support/ts-mutations';

const CAPTURES = ['h264-aac.m2ts', 'h265.m2ts', 'aac.m2ts', 'mp3.m2ts'].map(fixture);
const FUZZ = { numRuns: 300, interruptAfterTimeLimit: 15_000 };
const cutsArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 16 });
/** Random bytes, or a capture broken in a few ways. */
const inputArb = fc.oneof(
  fc.uint8Array({ maxLength: 20_000 }),
  fc.tuple(fc.integer({ min: 0, max: CAPTURES.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 5 })).map(([i, ms]) =>
    ms.reduce((b, m) => mutate(b, m), CAPTURES[i]),
  ),
);

test('packet reader: every byte is a packet or counted as skipped; at most two packets held between chunks', () => {
  fc.assert(
    fc.property(inputArb, cutsArb, (bytes, cuts) => {
      const reader = new PacketReader();
      let packets = 0;
      const onRun = (b: Uint8Array, start: number, end: number) => {
        assert.ok(start >= 0 && end <= b.length && (end - start) % TS_PACKET_SIZE === 0 && end > start);
        for (let o = start; o < end; o += TS_PACKET_SIZE) assert.equal(b[o], SYNC_BYTE);
        packets += (end - start) / TS_PACKET_SIZE;
      };
      for (const chunk of chunked(bytes, cuts)) {
        reader.pushRuns(chunk, onRun);
        assert.ok(reader.pendingBytes <= 2 * TS_PACKET_SIZE, `pending ${reader.pendingBytes}`);
      }
      reader.endRuns(onRun);
      assert.equal(reader.pendingBytes, 0);
      assert.equal(packets * TS_PACKET_SIZE + reader.skippedBytes, bytes.length, 'bytes accounted for');
    }),
    FUZZ,
  );
});

test('PSI and PES assemblers and parsers: no exception, results inside the input, memory fixed', () => {
  fc.assert(
    fc.property(inputArb, (bytes) => {
      const sections = new SectionAssembler();
      const pes = new PesAssembler(4096);
      const reader = new PacketReader();
      reader.push(bytes, (b, o) => {
        const section = sections.push(b, o);
        if (section) {
          assert.ok(section.length <= 1027, 'a section is never longer than 1024 + 3 bytes');
          const pat = parsePat(section);
          for (const p of pat ?? []) assert.ok(p.pmtPid >= 0 && p.pmtPid < 8192);
          const pmt = parsePmt(section);
          for (const s of pmt?.streams ?? []) assert.ok(s.pid >= 0 && s.pid < 8192 && s.streamType <= 255);
        }
        const head = pes.push(0, b, o);
        if (head) {
          assert.ok(head.length <= 4096);
          if (head.header) {
            assert.ok(head.header.dataOffset <= head.length);
            assert.ok(head.header.pts === -1 || (head.header.pts >= 0 && head.header.pts < 2 ** 33));
            const probe = probeAccessUnit('h264', head.bytes.subarray(head.header.dataOffset, head.length), true);
            assert.ok(['key', 'delta', 'unknown'].includes(probe.kind));
          }
        }
      });
    }),
    FUZZ,
  );
});

test('PES header parser on random bytes at random offsets: null or a header inside the bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat({ max: 70 }), (bytes, at) => {
      // Half the time a start code, so the header fields get parsed too.
      if (bytes.length > at + 3 && at % 2 === 0) bytes.set([0, 0, 1], at);
      const h = parsePesHeader(bytes, at);
      if (h) assert.ok(at + h.dataOffset <= bytes.length && h.dts <= 2 ** 33 && h.pts < 2 ** 33);
    }),
    { numRuns: 2000 },
  );
});

/** The SPS NAL units of a capture, found through the real probe. */
function spsOf(capture: Uint8Array, codec: 'h264' | 'h265'): Uint8Array {
  const pes = new PesAssembler(64 * 1024);
  let found: Uint8Array | undefined;
  new PacketReader().push(capture, (b, o) => {
    if (found || ((b[o + 1] & 0x1f) << 8 | b[o + 2]) !== 0x100) return;
    const head = pes.push(0x100, b, o);
    if (head?.header) {
      const probe = probeAccessUnit(codec, head.bytes.subarray(head.header.dataOffset, head.length), false);
      if (probe.sps) found = probe.sps.slice();
    }
  });
  assert.ok(found, `an SPS in the ${codec} capture`);
  return found;
}

test('SPS parsers on mutated parameter sets: null, or a picture size and frame rate a message can carry', () => {
  const cases = [
    { codec: 'h264' as const, sps: spsOf(CAPTURES[0], 'h264'), parse: parseH264Sps },
    { codec: 'h265' as const, sps: spsOf(CAPTURES[1], 'h265'), parse: parseH265Sps },
  ];
  for (const c of cases) assert.ok(c.parse(c.sps), `the ${c.codec} SPS parses as captured`);
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 6 }),
      fc.nat(),
      (which, flips, cut) => {
        const { sps, parse } = cases[which];
        const bytes = sps.slice(0, Math.max(4, sps.length - (cut % sps.length)));
        for (const [at, xor] of flips) if (at % bytes.length > 0) bytes[at % bytes.length] ^= xor; // keep the NAL type
        const parsed = parse(bytes);
        if (!parsed) return;
        assert.ok(parsed.width >= 1 && parsed.width <= MAX_PICTURE_DIMENSION && Number.isInteger(parsed.width), `width ${parsed.width}`);
        assert.ok(parsed.height >= 1 && parsed.height <= MAX_PICTURE_DIMENSION, `height ${parsed.height}`);
        const fps = (parsed as { frameRate?: number }).frameRate;
        if (fps !== undefined) assert.ok(Math.round(fps * 1000) / 1000 > 0 && fps <= 1000, `frame rate ${fps}`);
      },
    ),
    { numRuns: 3000, interruptAfterTimeLimit: 15_000 },
  );
});

test('audio header and NAL scanners on random bytes: no exception, units inside the bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      parseAdtsHeader(bytes);
      parseMpegAudioHeader(bytes);
      for (const u of findNalUnits(bytes)) assert.ok(u.start >= 0 && u.end <= bytes.length);
      probeAccessUnit('h265', bytes, false);
      parseH264Sps(Uint8Array.from([0x67, ...bytes]));
      parseH265Sps(Uint8Array.from([0x42, 0x01, ...bytes]));
    }),
    { numRuns: 3000, interruptAfterTimeLimit: 15_000 },
  );
});
