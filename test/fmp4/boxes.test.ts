/**
 * Golden boxes: hand-built H.264 and AAC access units (hand-built.ts) through the remuxer, the
 * bytes checked field by field (ISO/IEC 14496-12, 14496-15, 14496-1/-3).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoxWriter, DecodeClock, Fmp4Remuxer, sampleFlags, TrackTimeline, UnsupportedCodecError, type InitSegment } from '@hlsrelay/fmp4';
import { findBox, hex } from './box-path';
import { OutputCollector, type RemuxedSegment } from './remux-ts';
import { adtsFrame, annexB, AUD, IDR, P_NONREF, PPS, SPS } from './hand-built';

test('box writer: size + type + payload; a full box adds version and flags', () => {
  const w = new BoxWriter(4);
  w.box('abcd', () => w.fullBox('efgh', 1, 0x020001, () => w.u16(0xbeef)));
  assert.equal(
    hex(w.bytes()),
    '00000016' + '61626364' + // size 22, type 'abcd'
      '0000000e' + '65666768' + // size 14, type 'efgh'
      '01' + '020001' + // version 1, flags
      'beef', // payload
  );
  // The same boxes opened and closed by hand: each close patches the innermost open box's size.
  const o = new BoxWriter(4);
  o.open('abcd').openFull('efgh', 1, 0x020001).u16(0xbeef).close().close();
  assert.equal(hex(o.bytes()), hex(w.bytes()));
  assert.throws(() => new BoxWriter().close(), RangeError); // nothing open
  assert.throws(() => new BoxWriter().open('abcd').bytes(), RangeError); // a box left open has no size yet
  assert.throws(() => new BoxWriter().fourcc('abc'), RangeError);
  assert.equal(hex(new BoxWriter().u64(2 ** 33 + 5).bytes()), '0000000200000005'); // 64-bit split by division, not shifts
});

/** Video: IDR (dts 6000, pts 9000) + non-reference P (dts 9000, pts 6000); audio: two AAC frames from pts 6000. */
function remuxHandBuilt(): { init: InitSegment; segment: RemuxedSegment } {
  const r = new Fmp4Remuxer({ tracks: ['h264', 'aac'] });
  const c = new OutputCollector();
  const add = (outputs: ReturnType<Fmp4Remuxer['flush']>) => outputs.forEach((o) => c.add(o));
  add(r.push(0, { pts: 9000, dts: 6000, keyframe: true, data: annexB(AUD, SPS, PPS, IDR) }));
  add(r.push(1, { pts: 6000, dts: 6000, keyframe: true, data: Buffer.concat([adtsFrame([0x21, 0x10]), adtsFrame([0x21, 0x20])]) }));
  add(r.push(0, { pts: 6000, dts: 9000, keyframe: false, data: annexB(AUD, P_NONREF) }));
  add(r.flush(new Map([[0, 12000]]))); // the next segment's first DTS
  assert.deepEqual(c.types, ['init', 'fragment', 'segment']);
  return { init: c.inits[0], segment: c.segments[0] };
}

test('init: ftyp brands for a multiplexed stream (no cmfc), avcC from the SPS/PPS', () => {
  const { init } = remuxHandBuilt();
  assert.deepEqual(init.codecs, ['avc1.42c01e', 'mp4a.40.2']);
  assert.equal(
    hex(findBox(init.bytes, ['ftyp'])),
    '00000018' + '66747970' + // size 24, 'ftyp'
      '69736f36' + // major_brand 'iso6'
      '00000000' + // minor_version
      '69736f36' + '6d703431', // compatible_brands 'iso6' 'mp41' — two tracks: not a CMAF track, no 'cmfc'
  );
  assert.equal(
    hex(findBox(init.bytes, ['moov', 'trak#0', 'mdia', 'minf', 'stbl', 'stsd', 'avc1', 'avcC'])),
    '0000001f' + '61766343' + // size 31, 'avcC'
      '01' + // configurationVersion
      '42' + // AVCProfileIndication 66
      'c0' + // profile_compatibility (constraint flags)
      '1e' + // AVCLevelIndication 30
      'ff' + // reserved 111111, lengthSizeMinusOne 3
      'e1' + // reserved 111, numOfSequenceParameterSets 1
      '0008' + hex(SPS) + // sequenceParameterSetLength 8, the SPS NAL unit
      '01' + // numOfPictureParameterSets 1
      '0004' + hex(PPS), // pictureParameterSetLength 4, the PPS — Baseline: no chroma/bit-depth fields
  );
  const avc1 = findBox(init.bytes, ['moov', 'trak#0', 'mdia', 'minf', 'stbl', 'stsd', 'avc1']);
  assert.equal(hex(avc1.subarray(8 + 24, 8 + 28)), '00a0' + '0080'); // width 160, height 128 from the SPS
  const mdhd = findBox(init.bytes, ['moov', 'trak#1', 'mdia', 'mdhd']);
  assert.equal(hex(mdhd.subarray(20, 24)), '0000bb80'); // audio timescale = sample rate 48000
});

test('init: mp4a + esds from the ADTS header', () => {
  const { init } = remuxHandBuilt();
  const mp4a = findBox(init.bytes, ['moov', 'trak#1', 'mdia', 'minf', 'stbl', 'stsd', 'mp4a']);
  assert.equal(
    hex(mp4a.subarray(0, 36)),
    '0000004b' + '6d703461' + // size 75, 'mp4a'
      '000000000000' + '0001' + // reserved[6], data_reference_index 1
      '0000000000000000' + // reserved[2]
      '0002' + // channelcount 2 (ADTS channel_configuration)
      '0010' + // samplesize 16
      '0000' + '0000' + // pre_defined, reserved
      'bb800000', // samplerate 48000 in 16.16
  );
  assert.equal(
    hex(findBox(init.bytes, ['moov', 'trak#1', 'mdia', 'minf', 'stbl', 'stsd', 'mp4a', 'esds'])),
    '00000027' + '65736473' + '00000000' + // size 39, 'esds', version 0, flags 0
      '03' + '19' + // ES_DescrTag, size 25
      '0002' + '00' + // ES_ID = track 2, no dependence/URL/OCR, priority 0
      '04' + '11' + // DecoderConfigDescrTag, size 17
      '40' + // objectTypeIndication: Audio ISO/IEC 14496-3
      '15' + // streamType 5 (audio) << 2, upStream 0, reserved 1
      '000000' + '00000000' + '00000000' + // bufferSizeDB, maxBitrate, avgBitrate: unknown
      '05' + '02' + // DecSpecificInfoTag, size 2
      '1190' + // AudioSpecificConfig: object type 2 (00010), frequency index 3 (0011), channels 2 (0010), 000
      '06' + '01' + '02', // SLConfigDescrTag, size 1, predefined 2 (MP4)
  );
});

test('media segment: styp, moof with tfdt/trun v1 (durations, sizes, flags, signed offsets), mdat without start codes or parameter sets', () => {
  const { segment } = remuxHandBuilt();
  const b = segment.bytes;
  assert.equal(hex(findBox(b, ['styp'])), '00000014' + '73747970' + '6d736468' + '00000000' + '6d736468'); // 'styp', major 'msdh', minor 0, compatible 'msdh'
  assert.equal(hex(findBox(b, ['moof', 'mfhd'])), '00000010' + '6d666864' + '00000000' + '00000001'); // sequence_number 1
  assert.equal(
    hex(findBox(b, ['moof', 'traf#0', 'tfhd'])),
    '00000010' + '74666864' + '00' + '020000' + // 'tfhd', version 0, flags default-base-is-moof
      '00000001', // track_ID 1
  );
  assert.equal(
    hex(findBox(b, ['moof', 'traf#0', 'tfdt'])),
    '00000014' + '74666474' + '01' + '000000' + // 'tfdt', version 1 (64-bit)
      '0000000000001770', // baseMediaDecodeTime 6000: the IDR's DTS
  );
  assert.equal(
    hex(findBox(b, ['moof', 'traf#0', 'trun'])),
    '00000034' + '7472756e' + '01' + '000f01' + // 'trun', version 1 (signed offsets), flags: data offset, duration, size, flags, composition offset
      '00000002' + // sample_count
      '000000e0' + // data_offset 224: moof (216 bytes) + mdat header (8)
      '00000bb8' + '00000008' + '02000000' + '00000bb8' + // IDR: duration 3000, size 4+4, depends on nothing (sync), offset +3000
      '00000bb8' + '00000007' + '01810000' + 'fffff448', // P: duration 12000−9000 (next DTS), size 4+3, depends on others, not depended on, non-sync; offset −3000
  );
  assert.equal(
    hex(findBox(b, ['moof', 'traf#1', 'trun'])),
    '00000034' + '7472756e' + '01' + '000f01' + '00000002' +
      '000000ef' + // data_offset: after the video's 15 bytes
      '00000400' + '00000002' + '02000000' + '00000000' + // 1024 samples, 2 raw bytes (ADTS header stripped), sync, offset 0
      '00000400' + '00000002' + '02000000' + '00000000',
  );
  assert.equal(hex(findBox(b, ['moof', 'traf#1', 'tfdt']).subarray(12)), '0000000000000c80'); // 6000 × 48000 / 90000 = 3200
  assert.equal(
    hex(findBox(b, ['mdat'])),
    '0000001b' + '6d646174' + // size 27, 'mdat'
      '00000004' + hex(IDR) + // NAL length 4 + IDR (AUD, SPS, PPS left out)
      '00000003' + hex(P_NONREF) + // NAL length 3 + P slice (AUD left out)
      '2110' + '2120', // the two raw AAC frames
  );
  assert.equal(segment.startTime, 6000 / 90000);
  assert.equal(segment.duration, 6000 / 90000);
});

test('sample flags: sync, non-sync, non-reference (ISO/IEC 14496-12 §8.8.3.1)', () => {
  assert.equal(sampleFlags({ sync: true, referenced: true }), 0x02000000); // sample_depends_on 2
  assert.equal(sampleFlags({ sync: false, referenced: true }), 0x01010000); // depends_on 1, is_non_sync_sample
  assert.equal(sampleFlags({ sync: false, referenced: false }), 0x01810000); // + sample_is_depended_on 2 (disposable)
});

test('a video-only stream claims CMAF (one track); a new SPS makes a new init with another identity', () => {
  const r = new Fmp4Remuxer({ tracks: ['h264'] });
  const key = (sps: number[], dts: number) => ({ pts: dts, dts, keyframe: true, data: annexB(sps, PPS, IDR) });
  const first = [...r.push(0, key(SPS, 0)), ...r.push(0, key(SPS, 3000))];
  assert.deepEqual(first, []); // same configuration: no output until flushed
  const level31 = [...SPS];
  level31[3] = 0x1f; // level_idc 31: other SPS bytes
  const out = [...r.push(0, key(level31, 6000)), ...r.flush()];
  assert.deepEqual(out.map((o) => o.type), ['init', 'fragment', 'segment', 'init', 'fragment', 'segment']);
  const [a, , , c, , d] = out;
  assert.ok(a.type === 'init' && c.type === 'init' && d.type === 'segment');
  assert.match(hex(findBox(a.init.bytes, ['ftyp'])), /636d6663$/); // compatible brand 'cmfc'
  assert.notEqual(a.init.identity, c.init.identity);
  assert.deepEqual(c.init.codecs, ['avc1.42c01f']);
  assert.equal(d.segment.init, c.init);
  assert.equal(d.segment.tracks[0].baseDecodeTime, 6000);
});

test('MP3 and unknown streams are refused with an error the caller can show for --format fmp4', () => {
  assert.throws(
    () => new Fmp4Remuxer({ tracks: ['h264', 'mp3'] }),
    (e: unknown) => e instanceof UnsupportedCodecError && e.codec === 'mp3' && /MP3.*--format ts/.test(e.message),
  );
  assert.throws(() => new Fmp4Remuxer({ tracks: ['other'] }), UnsupportedCodecError);
});

test('decode clock: 33-bit timestamps unwrap to one unbounded timeline, shared by all tracks', () => {
  const c = new DecodeClock();
  const wrap = 2 ** 33;
  assert.deepEqual(
    [wrap - 3600, wrap - 100, 3500, 3400 /* a B-frame step back */, 90_000].map((t) => c.unwrap(t)),
    [wrap - 3600, wrap - 100, wrap + 3500, wrap + 3400, wrap + 90_000],
  );
  assert.throws(() => c.unwrap(wrap), RangeError); // not a 33-bit value
});

test('a PES of two pictures becomes two samples a frame apart; a second slice of one picture stays in its sample', () => {
  /** trun of the video traf: [duration, size, flags, offset] per sample, and tfdt. */
  const videoRun = (outputs: ReturnType<Fmp4Remuxer['flush']>) => {
    const c = new OutputCollector();
    outputs.forEach((o) => c.add(o));
    const b = c.segments[0].bytes;
    const trun = findBox(b, ['moof', 'traf#0', 'trun']);
    const view = new DataView(trun.buffer, trun.byteOffset, trun.length);
    const count = view.getUint32(12);
    const samples = Array.from({ length: count }, (_, i) => [0, 1, 2, 3].map((f) => view.getUint32(20 + 16 * i + 4 * f)));
    return { samples, tfdt: hex(findBox(b, ['moof', 'traf#0', 'tfdt']).subarray(12)), mdat: hex(findBox(b, ['mdat']).subarray(8)) };
  };
  // One PES: AUD SPS PPS IDR, then AUD and a P picture — one PTS/DTS (6000) for both.
  const withAud = new Fmp4Remuxer({ tracks: ['h264'] });
  const a = videoRun([...withAud.push(0, { pts: 6000, dts: 6000, keyframe: true, data: annexB(AUD, SPS, PPS, IDR, AUD, P_NONREF) }), ...withAud.flush(new Map([[0, 13200]]))]);
  assert.equal(a.tfdt, '0000000000001770'); // 6000
  assert.deepEqual(a.samples, [
    [3600, 8, 0x02000000, 0], // IDR: one frame (no step seen yet, no VUI timing: 25 fps), sync
    [13200 - 9600, 7, 0x01810000, 0], // P at 6000 + 3600, lasting to the next DTS; non-sync, not depended on
  ]);
  assert.equal(a.mdat, '00000004' + hex(IDR) + '00000003' + hex(P_NONREF));
  // No delimiters: the P slice (first_mb_in_slice 0) begins the second picture; after a step of
  // 3000 seen, the later picture is timed 3000 on.
  const bare = new Fmp4Remuxer({ tracks: ['h264'] });
  const b = videoRun([
    ...bare.push(0, { pts: 0, dts: 0, keyframe: true, data: annexB(SPS, PPS, IDR) }),
    ...bare.push(0, { pts: 3000, dts: 3000, keyframe: false, data: annexB(P_NONREF, P_NONREF) }),
    ...bare.flush(new Map([[0, 9000]])),
  ]);
  assert.deepEqual(b.samples.map((s) => s[0]), [3000, 3000, 3000]);
  // A slice with first_mb_in_slice 1 (ue(v) '010') continues the IDR picture: one sample, two NAL units.
  const SECOND_SLICE = [0x65, 0x44, 0x80];
  const sliced = new Fmp4Remuxer({ tracks: ['h264'] });
  const c = videoRun([...sliced.push(0, { pts: 0, dts: 0, keyframe: true, data: annexB(SPS, PPS, IDR, SECOND_SLICE) }), ...sliced.flush(new Map([[0, 3000]]))]);
  assert.deepEqual(c.samples, [[3000, 8 + 7, 0x02000000, 0]]);
});

test('track timeline: a jump forward or back (across the 33-bit wrap too) is spliced out one step on; small steps pass', () => {
  const line = new TrackTimeline(90_000 * 10, 90_000);
  assert.deepEqual([1000, 4600, 8200].map((t) => line.map(t, 3600)), [1000, 4600, 8200]);
  assert.equal(line.map(-900_000, 3600), 11_800); // back 10 s (a raw time just before the wrap unwraps below zero)
  assert.equal(line.map(-900_000, 3600), 11_800); // the same time again: the same answer
  assert.equal(line.map(-896_400, 3600), 15_400); // and on from there
  assert.equal(line.map(-896_400 + 90_000 * 11, 3600), 19_000); // forward 11 s: spliced too
  assert.equal(line.map(-896_400 + 90_000 * 11 + 90_000 * 9, 3600), 19_000 + 90_000 * 9); // 9 s: a gap, kept
  assert.equal(line.jumps, 2);
});

test('a remuxer fed a backwards jump across the wrap keeps every sample, times running on', () => {
  const r = new Fmp4Remuxer({ tracks: ['h264'] });
  const c = new OutputCollector();
  const key = (dts: number) => ({ pts: dts, dts, keyframe: true, data: annexB(SPS, PPS, IDR) });
  const p = (dts: number) => ({ pts: dts, dts, keyframe: false, data: annexB(P_NONREF) });
  for (const au of [key(90_000), p(93_600), key(2 ** 33 - 90_000), p(2 ** 33 - 86_400)]) r.push(0, au).forEach((o) => c.add(o));
  r.flush().forEach((o) => c.add(o));
  assert.equal(c.segments.length, 1);
  const s = c.segments[0];
  assert.deepEqual([s.tracks[0].baseDecodeTime, s.tracks[0].samples, s.tracks[0].duration], [90_000, 4, 4 * 3600]);
});
