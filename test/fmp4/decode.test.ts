/**
 * Init + segments laid end to end decode with ffmpeg (the bundled 2018 build reads a local
 * fragmented MP4): no error output, every frame, the input's duration. The B-frame input is made
 * at test time; its presentation times must come out evenly spaced.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fixture } from '../support/paths';
import { B_FRAME_FRAMES, decode, makeBFrameTs, makeOpenGopHevcTs, tempDir } from './generated';
import { parseMp4 } from '../support/mp4-parse';
import { concatenated, remuxTs, type RemuxResult } from './remux-ts';

function decodeAll(dir: string, name: string, r: RemuxResult): ReturnType<typeof decode> {
  const file = path.join(dir, `${name}.mp4`);
  fs.writeFileSync(file, concatenated(r));
  const d = decode(file);
  assert.equal(d.status, 0, `ffmpeg exit status for ${name}: ${d.stderr}`);
  assert.equal(d.stderr, '', `ffmpeg error output for ${name}`);
  return d;
}

for (const [name, frames, seconds] of [
  ['h264-aac', 50, 2],
  ['h265', 50, 2],
  ['h264-pts-wrap', 50, 2],
] as const) {
  test(`${name}: every segment decodes after its init, ${frames} frames, ${seconds} s`, (t) => {
    const d = decodeAll(tempDir(t), name, remuxTs(fixture(`${name}.m2ts`)));
    assert.equal(d.frames[0], frames);
    assert.ok(Math.abs(d.durations[0] - seconds) < 0.01, `video lasts ${d.durations[0]} s`);
  });
}

test('AAC only: decodes, about 3 s of audio', (t) => {
  const d = decodeAll(tempDir(t), 'aac', remuxTs(fixture('aac.m2ts')));
  assert.ok(d.frames[0] > 100);
  assert.ok(Math.abs(d.durations[0] - 3) < 0.1, `audio lasts ${d.durations[0]} s`);
});

test('H.264 with B-frames (made now by ffmpeg): decodes whole, presentation times evenly spaced, signed offsets', (t) => {
  const dir = tempDir(t);
  const r = remuxTs(makeBFrameTs(dir), 2);
  assert.equal(r.units[0], B_FRAME_FRAMES);
  assert.equal(r.segments.length, 2);
  const d = decodeAll(dir, 'bframes', r);
  assert.equal(d.frames[0], B_FRAME_FRAMES);
  assert.ok(Math.abs(d.durations[0] - 4) < 0.01, `video lasts ${d.durations[0]} s`);
  assert.ok(Math.abs(d.durations[1] - 4) < 0.1, `audio lasts ${d.durations[1]} s`);

  const [video] = parseMp4(concatenated(r)).tracks;
  const offsets = video.samples.map((s) => s.cts - s.dts);
  assert.ok(new Set(offsets).size >= 3, `B-frame pyramids give several composition offsets, got ${[...new Set(offsets)]}`);
  const presentation = video.samples.map((s) => s.cts).sort((a, b) => a - b);
  const steps = new Set(presentation.slice(1).map((p, i) => p - presentation[i]));
  assert.deepEqual([...steps], [3600], 'one frame (40 ms at 90 kHz) between consecutive presentation times');
  // Each segment starts with a sync sample; its first presentation time is the keyframe's.
  for (const s of r.segments) assert.ok(video.samples.find((v) => v.dts === s.tracks[0].baseDecodeTime)?.sync);
});

/** Top-level box types of one segment's bytes, in order. */
function topLevelBoxes(bytes: Uint8Array): string[] {
  const types: string[] = [];
  for (let o = 0; o + 8 <= bytes.length; ) {
    const size = new DataView(bytes.buffer, bytes.byteOffset + o, 4).getUint32(0);
    types.push(String.fromCharCode(...bytes.subarray(o + 4, o + 8)));
    assert.ok(size >= 8, `box size ${size} at ${o}`);
    o += size;
  }
  return types;
}

test('a segment larger than the fragment size is written as several moof/mdat pairs: the same samples, and it decodes', (t) => {
  const ts = fixture('h264-aac.m2ts');
  const whole = remuxTs(ts);
  const split = remuxTs(ts, 1, 64 * 1024, 2 * 1024); // a fragment per 2 kB of samples
  assert.equal(split.segments.length, whole.segments.length);
  for (const s of split.segments) {
    const boxes = topLevelBoxes(s.bytes);
    assert.equal(boxes[0], 'styp');
    assert.ok(s.fragments > 2, `${s.fragments} fragments`);
    assert.deepEqual(boxes.slice(1), Array.from({ length: s.fragments }, () => ['moof', 'mdat']).flat());
  }
  for (const s of whole.segments) assert.deepEqual(topLevelBoxes(s.bytes), ['styp', 'moof', 'mdat']);
  // mp4box.js sees every sample as before: decode times, offsets, durations, sizes, sync flags.
  assert.deepEqual(parseMp4(concatenated(split)).tracks, parseMp4(concatenated(whole)).tracks);
  assert.deepEqual(
    split.segments.map((s) => [s.startTime, s.duration, s.tracks]),
    whole.segments.map((s) => [s.startTime, s.duration, s.tracks]),
  );
  const d = decodeAll(tempDir(t), 'fragments', split);
  assert.equal(d.frames[0], 50);
});

test('H.265 open GOP: RASL leading pictures flagged is_leading 1 (not decodable from the CRA), the rest 2; it decodes', (t) => {
  const dir = tempDir(t);
  const ts = makeOpenGopHevcTs(dir);
  const r = remuxTs(ts);
  const [video] = parseMp4(concatenated(r)).tracks;
  // The first slice's NAL type of every sample, walking each segment's mdat (one slice per picture here).
  const types = r.segments.flatMap((s) => {
    const mdat = s.bytes; // every top-level box; the mdats are walked NAL by NAL
    const out: number[] = [];
    let o = 0;
    while (o + 8 <= mdat.length) {
      const size = new DataView(mdat.buffer, mdat.byteOffset + o, 4).getUint32(0);
      if (String.fromCharCode(...mdat.subarray(o + 4, o + 8)) === 'mdat') {
        for (let n = o + 8; n < o + size; ) {
          const length = new DataView(mdat.buffer, mdat.byteOffset + n, 4).getUint32(0);
          const type = (mdat[n + 4] >> 1) & 0x3f;
          if (type < 32) out.push(type);
          n += 4 + length;
        }
      }
      o += size;
    }
    return out;
  });
  assert.equal(types.length, video.samples.length);
  const rasl = types.flatMap((type, i) => (type === 8 || type === 9 ? [i] : []));
  assert.ok(rasl.length >= 3, `RASL pictures in the input: ${types.join(',')}`);
  assert.deepEqual(
    video.samples.map((s) => s.leading),
    types.map((type) => (type === 8 || type === 9 ? 1 : type === 6 || type === 7 ? 3 : 2)),
  );
  assert.ok(video.samples.filter((s) => s.sync).length >= 3, 'IDR and CRAs are sync samples');
  const d = decodeAll(dir, 'open-gop', r);
  assert.equal(d.frames[0], 75);
});
