import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  aacCodecString,
  findNalUnits,
  nextNalUnit,
  h264CodecString,
  h264NalType,
  h265CodecString,
  h265NalType,
  mpegAudioCodecString,
  PacketReader,
  parseAdtsHeader,
  parseH264Sps,
  parseH265Sps,
  parseMpegAudioHeader,
  payloadOffset,
  payloadUnitStart,
  PesAssembler,
  pid,
  probeAccessUnit,
  toRbsp,
  BitReader,
  TS_PACKET_SIZE,
} from '@hlsrelay/mpegts';
import { fixture } from '../support/paths';

/** The first `n` PES of a PID, reassembled whole. */
function firstPes(file: string, wantPid: number, n = 1): Array<{ es: Uint8Array; packets: number }> {
  const asm = new PesAssembler(256 * 1024);
  const out: Array<{ es: Uint8Array; packets: number }> = [];
  let current: ReturnType<PesAssembler['push']> = null;
  const close = () => {
    if (current?.header && out.length < n) out.push({ es: current.bytes.slice(current.header.dataOffset, current.length), packets: current.packets });
  };
  new PacketReader().push(fixture(file), (b, o) => {
    if (pid(b, o) !== wantPid) return;
    if (payloadUnitStart(b, o)) close();
    current = asm.push(wantPid, b, o);
  });
  close();
  return out;
}

test('NAL scan: 3- and 4-byte start codes; emulation prevention removed', () => {
  const es = Uint8Array.from([0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x65, 0xaa]);
  assert.deepEqual(findNalUnits(es), [
    { start: 4, end: 6 },
    { start: 9, end: 12 },
    { start: 15, end: 17 },
  ]);
  assert.deepEqual([...toRbsp(Uint8Array.from([0x67, 0, 0, 3, 1, 0, 0, 3]))], [0x67, 0, 0, 1, 0, 0]);
});

test('NAL scan one unit at a time finds the same units as the whole scan, empty ones included', () => {
  // AUD (4-byte start code), an empty unit (two start codes back to back), SPS, a slice to the end.
  const es = Uint8Array.from([0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x65, 0xaa]);
  const units = [];
  for (let u = nextNalUnit(es, 0); u; u = nextNalUnit(es, u.end)) units.push(u);
  assert.deepEqual(units, findNalUnits(es));
  assert.deepEqual(units.map((u) => u.end - u.start), [2, 0, 3, 2]);
  assert.equal(nextNalUnit(Uint8Array.from([1, 2, 3]), 0), null);
});

test('Exp-Golomb: ue and se', () => {
  // 1 | 010 | 011 | 00100 | 00101 → ue 0, 1, 2, 3, se(4) = -2
  const r = new BitReader(Uint8Array.from([0b10100110, 0b01000010, 0b10000000]));
  assert.deepEqual([r.ue(), r.ue(), r.ue(), r.ue(), r.se()], [0, 1, 2, 3, -2]);
  assert.throws(() => r.u(16), RangeError);
});

test('H.264 capture: the IDR comes packets after the PES start, behind x264’s SEI', () => {
  const [first] = firstPes('h264-aac.m2ts', 0x100);
  const units = findNalUnits(first.es);
  assert.deepEqual(units.map((u) => h264NalType(first.es, u.start)), [9, 7, 8, 6, 5]); // AUD SPS PPS SEI IDR
  const idr = units[4].start;
  assert.ok(idr > 3 * 184, `IDR at ES byte ${idr}: more than three TS packets in`);
  assert.equal(probeAccessUnit('h264', first.es.subarray(0, 184), false).kind, 'unknown'); // one packet is not enough
  const probe = probeAccessUnit('h264', first.es, true);
  assert.equal(probe.kind, 'key');
  const sps = parseH264Sps(probe.sps!);
  assert.deepEqual(sps, {
    profileIdc: 100,
    constraintFlags: 0,
    levelIdc: 11,
    chromaFormatIdc: 1,
    bitDepthLuma: 8,
    bitDepthChroma: 8,
    width: 160,
    height: 120,
    frameRate: 25,
  });
  assert.equal(h264CodecString(sps!), 'avc1.64000b');
});

test('H.264 capture: only every 25th access unit is a keyframe', () => {
  const units = firstPes('h264-aac.m2ts', 0x100, 50);
  const keys = units.map((u, i) => [i, probeAccessUnit('h264', u.es, true).kind] as const).filter(([, k]) => k === 'key');
  assert.deepEqual(keys.map(([i]) => i), [0, 25]);
  assert.ok(units.every((u) => probeAccessUnit('h264', u.es, true).kind !== 'unknown'));
});

test('H.264 SPS with cropping and the codecs string of a Main-profile level 3.1 stream', () => {
  assert.equal(h264CodecString({ profileIdc: 77, constraintFlags: 0x40, levelIdc: 31 }), 'avc1.4d401f');
  assert.equal(parseH264Sps(Uint8Array.from([0x67, 0x64])), null); // truncated
  assert.equal(parseH264Sps(Uint8Array.from([0x68, 0x64, 0, 0x1f, 0xff])), null); // a PPS
});

test('H.265 capture: IRAP keyframe, hvc1 codecs string, resolution', () => {
  const [first] = firstPes('h265.m2ts', 0x100);
  const types = findNalUnits(first.es).map((u) => h265NalType(first.es, u.start));
  assert.deepEqual(types.slice(0, 4), [35, 32, 33, 34]); // AUD VPS SPS PPS
  const probe = probeAccessUnit('h265', first.es, true);
  assert.equal(probe.kind, 'key');
  const sps = parseH265Sps(probe.sps!);
  assert.equal(sps?.width, 160);
  assert.equal(sps?.height, 120);
  // What hvcC repeats: one temporal layer, 4:2:0, 8-bit Main.
  assert.deepEqual(
    sps && [sps.temporalLayers, sps.chromaFormatIdc, sps.bitDepthLuma, sps.bitDepthChroma],
    [1, 1, 8, 8],
  );
  assert.equal(h265CodecString(sps!), 'hvc1.1.6.L30.90');
  const later = firstPes('h265.m2ts', 0x100, 3);
  assert.equal(probeAccessUnit('h265', later[1].es, true).kind, 'delta');
});

test('hvc1 string: profile space letter, reversed compatibility flags, high tier, trailing zero bytes dropped', () => {
  const s = h265CodecString({
    profileSpace: 1,
    tierFlag: 1,
    profileIdc: 2,
    compatibilityFlags: 0x20000000, // flag 2 set
    constraintBytes: [0xb0, 0, 0, 0, 0, 0],
    levelIdc: 120,
  });
  assert.equal(s, 'hvc1.A2.4.H120.B0');
});

test('AAC ADTS capture: mp4a.40.2 (LC), 44.1 kHz mono', () => {
  const [first] = firstPes('aac.m2ts', 0x100);
  const h = parseAdtsHeader(first.es);
  assert.deepEqual(h && { ...h, frameLength: h.frameLength > 7 }, { objectType: 2, sampleRate: 44100, channels: 1, frameLength: true });
  assert.equal(aacCodecString(h!), 'mp4a.40.2');
  assert.equal(parseAdtsHeader(Uint8Array.from([0xff, 0x00, 0, 0, 0, 0, 0])), null);
});

test('MP3 capture: MPEG-1 layer III is mp4a.40.34; layer II names the older OTI', () => {
  const [first] = firstPes('mp3.m2ts', 0x100);
  const h = parseMpegAudioHeader(first.es);
  assert.deepEqual(h, { version: 1, layer: 3, sampleRate: 44100 });
  assert.equal(mpegAudioCodecString(h!), 'mp4a.40.34');
  assert.equal(mpegAudioCodecString({ version: 1, layer: 2, sampleRate: 48000 }), 'mp4a.6B');
  assert.equal(mpegAudioCodecString({ version: 2, layer: 2, sampleRate: 24000 }), 'mp4a.69');
});

test('every fixture is whole packets with a payload in the first one', () => {
  for (const f of ['h264-aac.m2ts', 'h265.m2ts', 'aac.m2ts', 'mp3.m2ts', 'h264-pts-wrap.m2ts']) {
    const b = fixture(f);
    assert.equal(b.length % TS_PACKET_SIZE, 0, f);
    assert.ok(payloadOffset(b, 0) > 0, f);
  }
});
