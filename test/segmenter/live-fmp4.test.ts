import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { UnsupportedCodecError } from '@hlsrelay/fmp4';
import { parseMessage, type IndexMessage } from '@hlsrelay/protocol';
import { buildLadderParser, buildParser, ladderSettingsFrom, LiveSegmenter, settingsFrom, type AnnouncedSegment } from '@hlsrelay/segmenter';
import { FFMPEG } from '../support/ffmpeg';
import { parseMp4 } from '../support/mp4-parse';
import { fixture, FIXTURES, SEGMENTER_BIN } from '../support/paths';
import { tempDir } from '../support/temp-dir';
import { cameraNames } from './recorders';

const names = (dir: string) => ({ ...cameraNames(dir), startNumber: 1 });

function run(dir: string, inputs: Uint8Array[], format: 'ts' | 'fmp4' = 'fmp4'): { messages: IndexMessage[]; announced: AnnouncedSegment[] } {
  const messages: IndexMessage[] = [];
  const announced: AnnouncedSegment[] = [];
  const seg = new LiveSegmenter({
    ...names(dir),
    format,
    now: () => Date.parse('2026-01-02T03:04:05Z'),
    notify: (m, s) => {
      // The segment and its init are in place, whole, when the message goes out.
      assert.equal(fs.statSync(s.path).size, s.size);
      if (format === 'fmp4') assert.ok(fs.statSync(s.initPath!).size > 0);
      messages.push(parseMessage(m));
      announced.push(s);
    },
  });
  for (const input of inputs) seg.push(input);
  seg.finish();
  return { messages, announced };
}

/** ffmpeg decodes init + segment as one file: exit 0, nothing on stderr, and the frames it found. */
function decodes(dir: string, init: string, segment: string): number {
  const joined = path.join(dir, `joined-${segment}.mp4`);
  fs.writeFileSync(joined, Buffer.concat([fs.readFileSync(path.join(dir, init)), fs.readFileSync(path.join(dir, segment))]));
  const r = spawnSync(FFMPEG, ['-v', 'error', '-i', joined, '-f', 'framemd5', '-']);
  assert.equal(r.status, 0, `${segment} does not decode after ${init}: ${r.stderr}`);
  assert.equal(r.stderr.toString().trim(), '', `${segment} decodes with errors`);
  fs.rmSync(joined);
  return r.stdout.toString().split('\n').filter((l) => /^\d+,/.test(l)).length;
}

test('--format fmp4: an init and .m4s segments cut where the TS segments are, each decoding after its init', () => {
  const dir = tempDir('fmp4-live');
  const { messages } = run(dir, [fixture('h264-aac.m2ts')]);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['cam-00001.m4s', 'cam-00002.m4s', 'cam-init.mp4']);
  assert.deepEqual(messages.map((m) => [m.lastSegment, m.end, m.ext.format, m.ext.init]), [
    [1, false, 'fmp4', 'cam-init.mp4'],
    [2, true, 'fmp4', 'cam-init.mp4'],
  ]);
  // CODECS from the init's parameter sets: the same strings the TS path reads from the stream.
  assert.equal(messages[0].ext.codecs, 'avc1.64000b,mp4a.40.2');
  assert.equal(messages[0].ext.resolution, '160x120');
  assert.equal(messages[0].ext.size, fs.statSync(path.join(dir, 'cam-00001.m4s')).size);

  const ts = run(tempDir('fmp4-live-ts'), [fixture('h264-aac.m2ts')], 'ts').messages;
  assert.deepEqual(messages.map((m) => m.ext.duration), ts.map((m) => m.ext.duration), 'the same cuts as --format ts');
  assert.deepEqual(messages.map((m) => m.ext.programDateTime), ts.map((m) => m.ext.programDateTime));
  assert.deepEqual(messages.map((m) => m.ext.pts), ts.map((m) => m.ext.pts), 'the same first PTS as --format ts');

  const init = fs.readFileSync(path.join(dir, 'cam-init.mp4'));
  let videoEnd = -1;
  for (const m of messages) {
    const file = `cam-${String(m.lastSegment).padStart(5, '0')}.m4s`;
    assert.ok(decodes(dir, 'cam-init.mp4', file) > 0);
    // mp4box, a parser independent of ours: every segment opens on a sync sample, decode times continue.
    const parsed = parseMp4(Buffer.concat([init, fs.readFileSync(path.join(dir, file))]));
    const video = parsed.tracks.find((t) => t.codec.startsWith('avc1'))!;
    assert.equal(video.samples[0].sync, true, `${file} starts with a sync sample`);
    const first = video.samples[0].dts;
    if (videoEnd >= 0) assert.equal(first, videoEnd, `${file}: tfdt continues from the segment before`);
    const last = video.samples[video.samples.length - 1];
    videoEnd = last.dts + last.duration;
  }
  assert.equal(fs.readFileSync(path.join(dir, 'cam-00001.m4s')).subarray(4, 8).toString('latin1'), 'styp');
});

// H.265 is checked with ffmpeg and mp4box only: the Debian Chromium the player tests use has no
// HEVC decoder (its MediaSource refuses hvc1), so hls.js cannot play it there.
test('--format fmp4: H.265 gets hvc1 with parameter sets in hvcC (what Apple plays), CODECS from them', () => {
  const dir = tempDir('fmp4-hevc');
  const { messages } = run(dir, [fixture('h265.m2ts')]);
  assert.equal(messages[0].ext.codecs, 'hvc1.1.6.L30.90');
  const parsed = parseMp4(Buffer.concat([fs.readFileSync(path.join(dir, 'cam-init.mp4')), fs.readFileSync(path.join(dir, 'cam-00001.m4s'))]));
  assert.deepEqual(parsed.tracks.map((t) => t.codec), ['hvc1.1.6.L30.90']);
  assert.equal(parsed.tracks[0].samples[0].sync, true);
  for (const m of messages) assert.ok(decodes(dir, 'cam-init.mp4', `cam-${String(m.lastSegment).padStart(5, '0')}.m4s`) > 0);
});

test('--format fmp4: audio-only AAC is cut on the same PES starts as TS', () => {
  const dir = tempDir('fmp4-aac');
  const { messages } = run(dir, [fixture('aac.m2ts')]);
  const ts = run(tempDir('fmp4-aac-ts'), [fixture('aac.m2ts')], 'ts').messages;
  assert.equal(messages.length, ts.length);
  assert.equal(messages[0].ext.codecs, 'mp4a.40.2');
  for (const m of messages) assert.ok(decodes(dir, 'cam-init.mp4', `cam-${String(m.lastSegment).padStart(5, '0')}.m4s`) > 0);
});

test('--format fmp4: another codec configuration gets a new init file and a discontinuity; the first init is kept', () => {
  const dir = tempDir('fmp4-change');
  const { messages } = run(dir, [fixture('h264-aac.m2ts'), fixture('h265.m2ts')]);
  const inits = messages.map((m) => m.ext.init);
  const change = inits.indexOf('cam-init-2.mp4');
  assert.ok(change > 0, `a second init after the change: ${inits.join(' ')}`);
  assert.ok(inits.slice(0, change).every((i) => i === 'cam-init.mp4'));
  assert.ok(inits.slice(change).every((i) => i === 'cam-init-2.mp4'));
  assert.equal(messages[change].ext.discontinuity, true);
  assert.equal(messages[change].ext.codecs, 'hvc1.1.6.L30.90');
  const first = parseMp4(Buffer.concat([fs.readFileSync(path.join(dir, 'cam-init.mp4')), fs.readFileSync(path.join(dir, 'cam-00001.m4s'))]));
  assert.deepEqual(first.tracks.map((t) => t.codec).sort(), ['avc1.64000b', 'mp4a.40.2'], 'the first init is still the H.264 one');
  for (const m of messages) assert.ok(decodes(dir, m.ext.init!, `cam-${String(m.lastSegment).padStart(5, '0')}.m4s`) > 0);
});

test('--format fmp4: MP3 input is refused with a clear error naming the way out', () => {
  const dir = tempDir('fmp4-mp3');
  assert.throws(
    () => run(dir, [fixture('mp3.m2ts')]),
    (e: unknown) => e instanceof UnsupportedCodecError && /MP3.*--format ts/.test(e.message),
  );
  assert.deepEqual(fs.readdirSync(dir).filter((f) => !f.startsWith('.')), []);
});

test('CLI: --format is ts by default, fmp4 on request (flag, config file, ladder); anything else is refused', () => {
  const positional = ['-', '2', '/tmp/hls', 'cam', 'cam.m3u8', 'https://cdn.example/', 'bucket', 'live'];
  assert.equal(settingsFrom(buildParser(positional).parseSync(), process.env).format, 'ts');
  assert.equal(settingsFrom(buildParser([...positional, '--format', 'fmp4']).parseSync(), process.env).format, 'fmp4');
  const dir = tempDir('fmp4-config');
  const config = path.join(dir, 'segmenter.json');
  fs.writeFileSync(config, JSON.stringify({ format: 'fmp4' }));
  assert.equal(settingsFrom(buildParser([...positional]).config(JSON.parse(fs.readFileSync(config, 'utf8'))).parseSync(), process.env).format, 'fmp4');
  assert.throws(() => buildParser([...positional, '--format', 'mkv']).fail((m) => { throw new TypeError(m); }).parseSync(), /Invalid values[\s\S]*format/);
  const ladder = ['-', '2', '/tmp/hls', 'cam', 'https://cdn.example/', 'bucket', 'live', '--format', 'fmp4'];
  assert.equal(ladderSettingsFrom(buildLadderParser(ladder).parseSync(), undefined, () => ({ path: 'ffmpeg', source: 'PATH' }), process.env).format, 'fmp4');
});

test('the segmenter bin: MP3 input with --format fmp4 exits non-zero at once, saying why and what to do', () => {
  const dir = tempDir('fmp4-mp3-bin');
  const r = spawnSync(
    process.execPath,
    [SEGMENTER_BIN, path.join(FIXTURES, 'mp3.m2ts'), '1', dir, 'cam', 'cam.m3u8', 'http://cdn.invalid/', 'bucket', 'live', '--format', 'fmp4', '--uploader', '127.0.0.1:9', '--drain-timeout', '0', '--log-json'],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /cannot segment this input as --format fmp4/);
  assert.match(r.stderr, /MP3[^"]*--format ts/);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => !f.startsWith('.')), [], 'no segment written');
});

test('--format fmp4: new parameter sets inside a segment (same program) end that segment there, with a new init and a discontinuity', (t) => {
  const dir = tempDir('fmp4-sps');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // Two clips of one encoder setup but another picture size; the second continues the first's timestamps.
  const clip = (name: string, size: string, offset: string) => {
    const out = path.join(dir, name);
    const r = spawnSync(FFMPEG, [
      '-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=25`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', '2', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '25', '-c:a', 'aac', '-b:a', '32k', '-output_ts_offset', offset, '-f', 'mpegts', out,
    ]);
    assert.equal(r.status, 0, r.stderr.toString());
    const bytes = new Uint8Array(fs.readFileSync(out));
    fs.rmSync(out);
    return bytes;
  };
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  const messages: IndexMessage[] = [];
  const seg = new LiveSegmenter({ ...names(out), segmentDuration: 3, format: 'fmp4', notify: (m) => messages.push(parseMessage(m)) });
  seg.push(clip('a.ts', '320x240', '0'));
  seg.push(clip('b.ts', '160x120', '2'));
  seg.finish();
  // One 4 s TS segment (target 3 s, keyframes every second): in fMP4 two pieces, split at the change.
  assert.deepEqual(messages.map((m) => m.ext.init), ['cam-init.mp4', 'cam-init-2.mp4'], messages.map((m) => `${m.lastSegment} ${m.ext.duration}`).join('; '));
  assert.deepEqual(messages.map((m) => m.ext.codecs), ['avc1.64000d,mp4a.40.2', 'avc1.64000b,mp4a.40.2']);
  assert.equal(messages[1].ext.discontinuity, true);
  assert.deepEqual(messages.map((m) => m.end), [false, true]);
  // The first segment ends at the change (2 s in), the piece after it is timed on from there.
  assert.ok(Math.abs(messages[0].ext.duration! - 2) < 0.05, `first piece ${messages[0].ext.duration}`);
  assert.equal(messages[1].ext.programDateTime!.getTime() - messages[0].ext.programDateTime!.getTime(), Math.round(messages[0].ext.duration! * 1000));
  // pts= of the piece is where it starts, not where the TS segment did: the uploader dates it by that.
  assert.equal(messages[1].ext.pts! - messages[0].ext.pts!, Math.round(messages[0].ext.duration! * 90_000));
  for (const m of messages) assert.ok(decodes(out, m.ext.init!, `cam-${String(m.lastSegment).padStart(5, '0')}.m4s`) > 0);
});

test('--format fmp4: an init that cannot be written is written again under the next name; no segment names a missing init', () => {
  const dir = tempDir('fmp4-init-fail');
  // A directory where the first init's temporary file should go makes its open fail.
  fs.mkdirSync(path.join(dir, '.cam-init.mp4.tmp'));
  const { messages } = run(dir, [fixture('h264-aac.m2ts')]);
  assert.deepEqual(messages.map((m) => m.ext.init), ['cam-init-2.mp4', 'cam-init-2.mp4']);
  assert.equal(fs.existsSync(path.join(dir, 'cam-init.mp4')), false);
  for (const m of messages) assert.ok(decodes(dir, m.ext.init!, `cam-${String(m.lastSegment).padStart(5, '0')}.m4s`) > 0);
});

test('--format fmp4: a restarted run in the same directory keeps an init with the same bytes and never overwrites one with other bytes', () => {
  const dir = tempDir('fmp4-restart');
  run(dir, [fixture('h264-aac.m2ts')]);
  const first = fs.readFileSync(path.join(dir, 'cam-init.mp4'));
  // The same input again: the same configuration, the same file.
  assert.deepEqual(run(dir, [fixture('h264-aac.m2ts')]).messages.map((m) => m.ext.init), ['cam-init.mp4', 'cam-init.mp4']);
  // Another encoder: the earlier run's init may still be named by messages waiting in a spool.
  const other = run(dir, [fixture('h265.m2ts')]).messages;
  assert.ok(other.every((m) => m.ext.init === 'cam-init-2.mp4'), other.map((m) => m.ext.init).join(' '));
  assert.deepEqual(fs.readFileSync(path.join(dir, 'cam-init.mp4')), first, 'untouched');
});

test('--format fmp4: timestamps that jump back (the same capture twice) are a discontinuity, and decode times never go back', () => {
  const dir = tempDir('fmp4-jump');
  const capture = fixture('h264-aac.m2ts');
  const { messages } = run(dir, [capture, capture]);
  assert.deepEqual(messages.map((m) => m.ext.discontinuity === true), [false, false, true, false], 'EXT-X-DISCONTINUITY before the first segment after the jump');
  const ts = run(tempDir('fmp4-jump-ts'), [capture, capture], 'ts').messages;
  assert.deepEqual(messages.map((m) => m.ext.discontinuity), ts.map((m) => m.ext.discontinuity), 'where the TS path marks it');
  const files = messages.map((m) => `cam-${String(m.lastSegment).padStart(5, '0')}.m4s`);
  for (const f of files) assert.ok(decodes(dir, 'cam-init.mp4', f) > 0);
  // mp4box over init + every segment: decode times run on across the jump, one frame apart, never back.
  const parsed = parseMp4(Buffer.concat([fs.readFileSync(path.join(dir, 'cam-init.mp4')), ...files.map((f) => fs.readFileSync(path.join(dir, f)))]));
  for (const track of parsed.tracks) {
    assert.ok(track.samples[0].dts >= 0);
    for (let i = 1; i < track.samples.length; i++) {
      const prev = track.samples[i - 1];
      assert.equal(track.samples[i].dts, prev.dts + prev.duration, `${track.codec} sample ${i} follows the one before`);
      assert.ok(prev.duration > 0, `${track.codec} sample ${i - 1} lasts`);
    }
  }
  const video = parsed.tracks.find((t) => t.codec.startsWith('avc1'))!;
  assert.equal(video.samples.length, 100);
});

test('--format fmp4: a segment above a MiB of samples is written as several moof/mdat pairs that decode, as many frames as the input', () => {
  const dir = tempDir('fmp4-fragments');
  const input = path.join(dir, 'heavy.ts');
  // 3 s of a noisy 640x360 picture at ~16 Mb/s (noise, as filler NAL units stay out of the samples), a keyframe every second.
  const made = spawnSync(FFMPEG, [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '3',
    '-vf', 'noise=alls=40:allf=t', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-b:v', '12M',
    '-c:a', 'aac', '-f', 'mpegts', input,
  ]);
  assert.equal(made.status, 0, made.stderr.toString());
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  const { messages } = run(out, [fs.readFileSync(input)]);
  assert.equal(messages.length, 3);
  const segments: Buffer[] = [];
  for (const m of messages) {
    const file = `cam-${String(m.lastSegment).padStart(5, '0')}.m4s`;
    const bytes = fs.readFileSync(path.join(out, file));
    assert.equal(bytes.length, m.ext.size);
    const moofs = bytes.toString('latin1').split('moof').length - 1;
    assert.ok(moofs >= 2, `${file}: ${bytes.length} bytes in ${moofs} moof/mdat pairs`);
    assert.ok(decodes(out, 'cam-init.mp4', file) > 0);
    segments.push(bytes);
  }
  const video = parseMp4(Buffer.concat([fs.readFileSync(path.join(out, 'cam-init.mp4')), ...segments])).tracks.find((t) => t.codec.startsWith('avc1'))!;
  assert.equal(video.samples.length, 75, 'every frame of the input, once');
  assert.deepEqual(fs.readdirSync(out).filter((f) => f.startsWith('.')), [], 'no temporary file left behind');
});
