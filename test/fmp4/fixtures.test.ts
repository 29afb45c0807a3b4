/**
 * The committed captures (test/fixtures/README.md) remuxed to fMP4 and read back with mp4box.js,
 * an independent parser: tracks, codecs, sample counts, durations, sync samples, and decode
 * times continuous from segment to segment — also across the 33-bit PTS wrap.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UnsupportedCodecError } from '@hlsrelay/fmp4';
import { fixture } from '../support/paths';
import { findBox, hex } from './box-path';
import { parseMp4, type ParsedTrack } from '../support/mp4-parse';
import { concatenated, remuxTs } from './remux-ts';

/** Every sample starts where the one before it ended: tfdt of each moof continues the last trun. */
function assertContinuous(t: ParsedTrack): void {
  for (let i = 1; i < t.samples.length; i++) {
    const prev = t.samples[i - 1];
    assert.equal(t.samples[i].dts, prev.dts + prev.duration, `track ${t.id} sample ${i}: dts ${t.samples[i].dts} after ${prev.dts}+${prev.duration}`);
  }
}

/** NAL unit types in a video-only mdat, walking its 4-byte lengths; they must tile it exactly. */
function mdatNalTypes(segment: Uint8Array, type: (header: number) => number): number[] {
  const mdat = findBox(segment, ['mdat']);
  const view = new DataView(mdat.buffer, mdat.byteOffset, mdat.length);
  const types: number[] = [];
  let o = 8;
  while (o < mdat.length) {
    const length = view.getUint32(o);
    assert.ok(length > 0 && o + 4 + length <= mdat.length, `NAL length ${length} at mdat offset ${o}`);
    types.push(type(mdat[o + 4]));
    o += 4 + length;
  }
  assert.equal(o, mdat.length);
  return types;
}

const totalSeconds = (t: ParsedTrack): number => t.samples.reduce((a, s) => a + s.duration, 0) / t.timescale;

test('H.264 + AAC capture: two tracks, avc1/mp4a, 50 frames of 40 ms, AAC frames of 1024 samples', () => {
  const r = remuxTs(fixture('h264-aac.m2ts'));
  assert.equal(r.inits.length, 1);
  assert.deepEqual(r.inits[0].codecs, ['avc1.64000b', 'mp4a.40.2']);
  assert.equal(r.segments.length, 2); // keyframes every second, cut at ≥ 1 s
  const mp4 = parseMp4(concatenated(r));
  assert.ok(mp4.fragmented);
  assert.ok(!mp4.brands.includes('cmfc'), 'two tracks in one file: not a CMAF track');
  const [video, audio] = mp4.tracks;
  assert.deepEqual([video.codec, video.timescale, audio.codec, audio.timescale], ['avc1.64000b', 90000, 'mp4a.40.2', 48000]);
  assert.equal(video.samples.length, 50);
  assert.ok(video.samples.every((s) => s.duration === 3600));
  assert.deepEqual(video.samples.flatMap((s, i) => (s.sync ? [i] : [])), [0, 25]);
  assert.ok(video.samples.some((s) => s.cts !== s.dts), 'the capture has B-frames: composition offsets are written');
  assert.ok(audio.samples.every((s) => s.duration === 1024 && s.sync));
  assert.ok(Math.abs(totalSeconds(audio) - totalSeconds(video)) < 0.1, `audio ${totalSeconds(audio)} s vs video ${totalSeconds(video)} s`);
  assertContinuous(video);
  assertContinuous(audio);
  assert.equal(video.samples[0].dts, r.segments[0].tracks[0].baseDecodeTime);
});

test('H.265 capture: hvc1 with parameter sets in hvcC, a single-track CMAF file', () => {
  const r = remuxTs(fixture('h265.m2ts'));
  assert.deepEqual(r.inits[0].codecs, ['hvc1.1.6.L30.90']);
  const hvcC = r.inits[0].tracks[0].config;
  assert.ok(hvcC.codec === 'h265' && hvcC.vpsNals.length === 1 && hvcC.spsNals.length === 1 && hvcC.ppsNals.length === 1);
  const hvcc = findBox(r.inits[0].bytes, ['moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd', 'hvc1', 'hvcC']);
  assert.equal(
    hex(hvcc.subarray(0, 31)),
    '00000076' + '68766343' + // size 118, 'hvcC'
      '01' + // configurationVersion
      '01' + // general_profile_space 0, general_tier_flag 0 (Main tier), general_profile_idc 1 (Main)
      '60000000' + // general_profile_compatibility_flags: Main and Main 10 (flags 1, 2)
      '900000000000' + // general_constraint_indicator_flags: progressive_source, frame_only_constraint
      '1e' + // general_level_idc 30 (level 1)
      'f000' + // reserved 1111, min_spatial_segmentation_idc 0
      'fc' + // reserved 111111, parallelismType 0
      'fd' + // reserved 111111, chromaFormat 1 (4:2:0)
      'f8' + 'f8' + // reserved 11111 + bitDepthLumaMinus8 0; reserved 11111 + bitDepthChromaMinus8 0
      '0000' + // avgFrameRate unspecified
      '0f' + // constantFrameRate 0, numTemporalLayers 1, temporalIdNested 1, lengthSizeMinusOne 3
      '03', // numOfArrays: VPS, SPS, PPS
  );
  const arrays = hvcc.subarray(31);
  assert.equal(hex(arrays.subarray(0, 5)), 'a0' + '0001' + '0018'); // array_completeness 1, NAL type 32 (VPS), 1 unit, 24 bytes
  assert.equal(hex(arrays.subarray(29, 34)), 'a1' + '0001' + '002a'); // complete, type 33 (SPS), 1 unit, 42 bytes
  assert.equal(hex(arrays.subarray(76)), 'a2' + '0001' + '0006' + '4401c073c189'); // complete, type 34 (PPS), 1 unit, the PPS
  for (const seg of r.segments) {
    const types = mdatNalTypes(seg.bytes, (h) => (h >> 1) & 0x3f);
    assert.ok(!types.some((t) => t >= 32 && t <= 35), `no VPS/SPS/PPS/AUD in hvc1 samples: ${types.slice(0, 8)}`);
    const first = types.find((t) => t <= 31)!;
    assert.ok(first >= 16 && first <= 23, `each segment's first picture is IRAP (IDR_N_LP, then x265's CRA), got ${first}`);
  }
  const mp4 = parseMp4(concatenated(r));
  assert.ok(mp4.brands.includes('cmfc'));
  const [video] = mp4.tracks;
  assert.equal(video.codec, 'hvc1.1.6.L30.90');
  assert.equal(video.samples.length, 50);
  assert.equal(totalSeconds(video), 2);
  assertContinuous(video);
});

test('AAC-only capture: one mp4a track, cut on PES boundaries, continuous', () => {
  const r = remuxTs(fixture('aac.m2ts'));
  assert.deepEqual(r.inits[0].codecs, ['mp4a.40.2']);
  const [audio] = parseMp4(concatenated(r)).tracks;
  assert.equal(audio.timescale, 44100);
  assert.ok(Math.abs(totalSeconds(audio) - 3) < 0.1, `${totalSeconds(audio)} s`);
  assertContinuous(audio);
  assert.ok(r.segments.length >= 2);
});

test('PTS wrap: decode times run on past 2^33 without a jump', () => {
  const r = remuxTs(fixture('h264-pts-wrap.m2ts'));
  for (const seg of r.segments) {
    const types = mdatNalTypes(seg.bytes, (h) => h & 0x1f);
    assert.ok(!types.some((t) => t === 7 || t === 8 || t === 9), `no SPS/PPS/AUD in avc1 samples: ${types.slice(0, 8)}`);
    assert.equal(types.find((t) => t >= 1 && t <= 5), 5); // each segment's first picture: IDR
  }
  const [video] = parseMp4(concatenated(r)).tracks;
  assert.equal(video.samples.length, 50);
  assert.equal(video.samples[0].dts, 8589862593 - 7200); // first DTS (2^33 − 71999 minus two frames of B-frame delay)
  assert.ok(video.samples[49].dts > 2 ** 33, 'the last decode time is beyond the 33-bit range');
  assertContinuous(video);
  assert.equal(r.segments[1].tracks[0].baseDecodeTime, r.segments[0].tracks[0].baseDecodeTime + r.segments[0].tracks[0].duration);
});

test('chunk boundaries do not matter: 188-byte and 7-byte chunks give the same bytes', () => {
  const ts = fixture('h264-aac.m2ts');
  const whole = concatenated(remuxTs(ts, 1, ts.length));
  assert.deepEqual(concatenated(remuxTs(ts, 1, 7)), whole);
  assert.deepEqual(concatenated(remuxTs(ts, 1, 188)), whole);
});

test('MP3 capture: refused before any output, naming the codec and the way out', () => {
  assert.throws(() => remuxTs(fixture('mp3.m2ts')), (e: unknown) => e instanceof UnsupportedCodecError && e.codec === 'mp3' && /--format ts/.test(e.message));
});

test('a new program (H.264 + AAC, then H.265) closes the open segment and starts a new init', () => {
  const r = remuxTs(Buffer.concat([fixture('h264-aac.m2ts'), fixture('h265.m2ts')]));
  assert.deepEqual(r.inits.map((i) => i.codecs), [['avc1.64000b', 'mp4a.40.2'], ['hvc1.1.6.L30.90']]);
  assert.notEqual(r.inits[0].identity, r.inits[1].identity);
  assert.deepEqual(r.segments.map((s) => s.init.codecs[0]), ['avc1.64000b', 'avc1.64000b', 'hvc1.1.6.L30.90', 'hvc1.1.6.L30.90']);
  const h265 = parseMp4(Buffer.concat([r.inits[1].bytes, ...r.segments.slice(2).map((s) => s.bytes)]));
  assert.equal(h265.tracks[0].samples.length, 50);
});
