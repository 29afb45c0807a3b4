import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TS_PACKET_SIZE, PTS_MODULO } from '@hlsrelay/mpegts';
import { TsSegmenter } from '@hlsrelay/segmenter';
import { fixture } from '../../support/paths';
import { firstPids, firstVideoUnit, RecordingSink, startsPes } from '../recorders';

const PMT_PID = 0x1000;
const FIXED_NOW = Date.parse('2026-01-02T03:04:05.000Z');

function segment(input: Uint8Array | Uint8Array[], target = 1, chunk = 64 * 1024): RecordingSink {
  const sink = new RecordingSink();
  const seg = new TsSegmenter(sink, { targetDuration: target, now: () => FIXED_NOW });
  for (const part of Array.isArray(input) ? input : [input]) {
    for (let o = 0; o < part.length; o += chunk) seg.push(part.subarray(o, o + chunk));
  }
  seg.finish();
  return sink;
}

const durations = (s: RecordingSink) => s.segments.map((x) => x.end!.duration);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

test('H.264+AAC: segments open with PAT, PMT, then a keyframe; durations from PTS; codec facts', () => {
  const s = segment(fixture('h264-aac.m2ts'));
  assert.equal(s.segments.length, 2);
  assert.deepEqual(durations(s), [1, 1]);
  for (const seg of s.segments) {
    const ts = seg.bytes();
    assert.equal(ts.length % TS_PACKET_SIZE, 0);
    assert.deepEqual(firstPids(ts, 2), [0, PMT_PID]);
    assert.ok(startsPes(ts, 2, 0x100), 'third packet starts the video PES');
    assert.deepEqual(firstVideoUnit(ts, 0x100, 'h264'), { atPacket: 2, kind: 'key' });
    assert.equal(seg.end!.bytes, ts.length);
    assert.deepEqual(seg.end!.stream, { codecs: 'avc1.64000b,mp4a.40.2', resolution: '160x120', frameRate: 25 });
  }
  assert.deepEqual(s.segments.map((x) => x.end!.final), [false, true]);
  assert.deepEqual(s.segments.map((x) => x.start.programDateTime.toISOString()), ['2026-01-02T03:04:05.000Z', '2026-01-02T03:04:06.000Z']);
  assert.ok(s.segments.every((x) => !x.start.discontinuity));
});

test('chunk boundaries anywhere give byte-identical segments', () => {
  const ts = fixture('h264-aac.m2ts');
  const reference = segment(ts).segments.map((x) => Buffer.from(x.bytes()));
  for (const size of [1, 7, 188, 189, 1000, 4096]) {
    const got = segment(ts, 1, size).segments.map((x) => Buffer.from(x.bytes()));
    assert.equal(got.length, reference.length, `chunk ${size}`);
    got.forEach((b, i) => assert.ok(b.equals(reference[i]), `chunk ${size}, segment ${i}`));
  }
});

test('the output is the input from the first keyframe on, plus the PAT/PMT that open each segment', () => {
  const ts = fixture('h264-aac.m2ts');
  const s = segment(ts);
  const out = Buffer.concat(s.segments.map((x) => Buffer.from(x.bytes().subarray(2 * TS_PACKET_SIZE))));
  const firstKeyframePacket = s.segments[0].chunks.length > 0 ? Buffer.from(s.segments[0].bytes().subarray(2 * TS_PACKET_SIZE, 3 * TS_PACKET_SIZE)) : null;
  const at = Buffer.from(ts).indexOf(firstKeyframePacket!);
  assert.ok(at >= 0 && at % TS_PACKET_SIZE === 0);
  // Segment 2 adds its own PAT+PMT in front of its keyframe: remove those two packets to compare.
  const second = Buffer.from(s.segments[1].bytes());
  const expected = Buffer.from(ts.subarray(at));
  const rebuilt = Buffer.concat([Buffer.from(s.segments[0].bytes().subarray(2 * TS_PACKET_SIZE)), second.subarray(2 * TS_PACKET_SIZE)]);
  assert.ok(rebuilt.equals(expected));
  assert.equal(out.length, expected.length);
});

test('what comes before the first keyframe is dropped', () => {
  const ts = fixture('h264-aac.m2ts');
  const s = segment(ts.subarray(40 * TS_PACKET_SIZE)); // joins mid-GOP
  assert.equal(s.segments.length, 1);
  assert.deepEqual(firstVideoUnit(s.segments[0].bytes(), 0x100, 'h264'), { atPacket: 2, kind: 'key' });
  assert.deepEqual(durations(s), [1]);
});

test('garbage between packets is skipped and the segments are unchanged', () => {
  const ts = fixture('h264-aac.m2ts');
  const clean = segment(ts).segments.map((x) => Buffer.from(x.bytes()));
  const parts: Uint8Array[] = [];
  for (let o = 0; o < ts.length; o += 50 * TS_PACKET_SIZE) {
    parts.push(ts.subarray(o, o + 50 * TS_PACKET_SIZE));
    parts.push(Uint8Array.from({ length: 97 }, (_, i) => (i % 5 === 0 ? 0x47 : i))); // lost sync, with stray sync bytes
  }
  const dirty = segment(Buffer.concat(parts), 1, 333).segments.map((x) => Buffer.from(x.bytes()));
  assert.equal(dirty.length, clean.length);
  dirty.forEach((b, i) => assert.ok(b.equals(clean[i]), `segment ${i}`));
});

test('H.265: IRAP keyframes, hvc1 codecs, resolution, frame rate measured from PTS', () => {
  const s = segment(fixture('h265.m2ts'));
  assert.deepEqual(durations(s), [1, 1]);
  for (const seg of s.segments) {
    assert.deepEqual(firstVideoUnit(seg.bytes(), 0x100, 'h265'), { atPacket: 2, kind: 'key' });
    assert.deepEqual(seg.end!.stream, { codecs: 'hvc1.1.6.L30.90', resolution: '160x120', frameRate: 25 });
  }
});

for (const [file, codecs] of [
  ['aac.m2ts', 'mp4a.40.2'],
  ['mp3.m2ts', 'mp4a.40.34'],
] as const) {
  test(`audio only (${file}): cut on PES boundaries at the target`, () => {
    const s = segment(fixture(file));
    assert.ok(s.segments.length >= 2, `${s.segments.length} segments`);
    for (const seg of s.segments) {
      const ts = seg.bytes();
      assert.deepEqual(firstPids(ts, 2), [0, PMT_PID]);
      assert.ok(startsPes(ts, 2, 0x100), 'third packet starts an audio PES');
      assert.equal(seg.end!.stream.codecs, codecs);
    }
    for (const d of durations(s).slice(0, -1)) assert.ok(d >= 1 && d < 1.5, `duration ${d}`);
    assert.ok(Math.abs(sum(durations(s)) - 3) < 0.1, `sum ${sum(durations(s))}`);
  });
}

test('PTS wrap-around (2^33) mid-segment: durations stay right', () => {
  const s = segment(fixture('h264-pts-wrap.m2ts'));
  assert.ok(s.segments[0].start.startPts > PTS_MODULO - 90_000);
  assert.ok(s.segments[1].start.startPts < 90_000);
  assert.deepEqual(durations(s), [1, 1]);
  assert.ok(s.segments.every((x) => !x.start.discontinuity));
  assert.equal(s.segments[1].start.programDateTime.getTime() - s.segments[0].start.programDateTime.getTime(), 1000);
});

test('timestamps going back (a restarted encoder): discontinuity, new date-time anchor, sane durations', () => {
  const ts = fixture('h264-aac.m2ts');
  const s = segment([ts, ts]);
  assert.equal(s.segments.length, 4);
  assert.deepEqual(s.segments.map((x) => x.start.discontinuity), [false, false, true, false]);
  assert.deepEqual(durations(s), [1, 1, 1, 1]);
});

test('a PMT that changes mid-stream (H.264+AAC, then H.265): new codecs from the cut on, marked as a discontinuity', () => {
  const s = segment([fixture('h264-aac.m2ts'), fixture('h265.m2ts')]);
  assert.equal(s.segments.length, 4);
  assert.deepEqual(s.segments.map((x) => x.end!.stream.codecs), ['avc1.64000b,mp4a.40.2', 'avc1.64000b,mp4a.40.2', 'hvc1.1.6.L30.90', 'hvc1.1.6.L30.90']);
  assert.deepEqual(s.segments.map((x) => x.start.discontinuity), [false, false, true, false]);
  const third = s.segments[2].bytes();
  assert.deepEqual(firstVideoUnit(third, 0x100, 'h265'), { atPacket: 2, kind: 'key' });
  // The segment opens with the new PMT (stream type 0x24).
  assert.ok(Buffer.from(third.subarray(TS_PACKET_SIZE, 2 * TS_PACKET_SIZE)).includes(Buffer.from([0x24, 0xe1, 0x00])));
});

test('bad options are refused with what was expected', () => {
  assert.throws(() => new TsSegmenter(new RecordingSink(), { targetDuration: 0 }), /targetDuration must be seconds > 0, got 0/);
  assert.throws(() => new TsSegmenter(new RecordingSink(), { targetDuration: 2, discontinuityThreshold: -1 }), /discontinuityThreshold/);
});
