/**
 * npx ts-node --transpile-only scripts/bench-fmp4.ts — how fast TypeScript remuxes MPEG-TS to
 * fMP4 (PES demux, Annex B → length-prefixed samples, moof/mdat written) against the TS
 * segmenter's own parse of the same bytes, in the same process and run, 2 s segments. Prints
 * MB/s of input and the ratio, best of BENCH_RUNS: once in memory (segments dropped), once with
 * every segment written to a file in .bench/ as the segmenter does (no uploader either way).
 *
 * The input, 60 s of 1280x720 H.264 (with B-frames) + AAC, is made once by the bundled ffmpeg
 * into .bench/ (git-ignored).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TsRemuxer } from '@hlsrelay/fmp4';
import { secondsToTicks } from '@hlsrelay/mpegts';
import { TsSegmenter, writePartsSync } from '@hlsrelay/segmenter';

const ROOT = path.resolve(__dirname, '..');
const INPUT = path.join(ROOT, '.bench', 'input-720p-60s.ts');
const SEGMENT_SECONDS = 2;
const CHUNK = 1024 * 1024;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const FFMPEG: string = require('@ffmpeg-installer/ffmpeg').path;

function ensureInput(): Uint8Array {
  if (!fs.existsSync(INPUT)) {
    fs.mkdirSync(path.dirname(INPUT), { recursive: true });
    console.log('generating 60 s of 1280x720 30 fps H.264 (B-frames) + AAC at ~8 Mb/s ...');
    const r = spawnSync(FFMPEG, [
      '-v', 'error', '-y',
      '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', '60', '-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '2', '-g', '60', '-b:v', '8M', '-maxrate', '8M', '-bufsize', '8M',
      '-c:a', 'aac', '-b:a', '128k', '-f', 'mpegts', INPUT,
    ]);
    if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr.toString().slice(-2000)}`);
  }
  return new Uint8Array(fs.readFileSync(INPUT));
}

function feed(input: Uint8Array, push: (chunk: Uint8Array) => void): void {
  for (let o = 0; o < input.length; o += CHUNK) push(input.subarray(o, o + CHUNK));
}

const OUT = path.join(ROOT, '.bench', 'fmp4-out');

function tsSegmenterSeconds(input: Uint8Array, toDisk: boolean): { seconds: number; segments: number } {
  let segments = 0;
  let fd = -1;
  const started = process.hrtime.bigint();
  const sink = toDisk
    ? {
        begin: () => void (fd = fs.openSync(path.join(OUT, `ts-${segments}.ts`), 'w')),
        write: (b: Uint8Array) => void fs.writeSync(fd, b),
        end: () => void (fs.closeSync(fd), segments++),
      }
    : { begin() {}, write() {}, end: () => void segments++ };
  const s = new TsSegmenter(sink, { targetDuration: SEGMENT_SECONDS, now: () => 0 });
  feed(input, (c) => s.push(c));
  s.finish();
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, segments };
}

function fmp4Seconds(input: Uint8Array, toDisk: boolean): { seconds: number; segments: number; outBytes: number } {
  let segments = 0;
  let outBytes = 0;
  let fd = -1;
  const target = secondsToTicks(SEGMENT_SECONDS);
  const started = process.hrtime.bigint();
  const r = new TsRemuxer({
    wantsCut: (ticks) => ticks >= target,
    output: (o) => {
      if (o.type === 'init') {
        if (toDisk) fs.writeFileSync(path.join(OUT, `init-${segments}.mp4`), o.init.bytes);
        outBytes += o.init.bytes.length;
      } else if (o.type === 'fragment') {
        if (toDisk && o.opensSegment) fd = fs.openSync(path.join(OUT, `fmp4-${segments}.m4s`), 'w');
        if (toDisk) writePartsSync(fd, o.parts);
        for (const p of o.parts) outBytes += p.length;
      } else {
        if (toDisk) fs.closeSync(fd);
        segments++;
      }
    },
  });
  feed(input, (c) => r.push(c));
  r.finish();
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, segments, outBytes };
}

function compare(input: Uint8Array, toDisk: boolean): void {
  const mb = input.length / 1e6;
  let ts = Number.POSITIVE_INFINITY;
  let fm = Number.POSITIVE_INFINITY;
  let facts = '';
  for (let i = 0; i < RUNS; i++) {
    const a = tsSegmenterSeconds(input, toDisk);
    const b = fmp4Seconds(input, toDisk);
    ts = Math.min(ts, a.seconds);
    fm = Math.min(fm, b.seconds);
    facts = `TS segments ${a.segments}, fMP4 segments ${b.segments}, fMP4 output ${(b.outBytes / 1e6).toFixed(1)} MB`;
  }
  console.log(toDisk ? `\nsegments written to ${path.relative(ROOT, OUT)}/ (${facts})` : `\nin memory (${facts})`);
  console.log(`  TS segmenter: ${(mb / ts).toFixed(0)} MB/s`);
  console.log(`  fMP4 remux:   ${(mb / fm).toFixed(0)} MB/s  (${((ts / fm) * 100).toFixed(0)}% of the TS path)`);
}

function main(): void {
  const input = ensureInput();
  console.log(`input: ${(input.length / 1e6).toFixed(1)} MB, ${SEGMENT_SECONDS} s segments, best of ${RUNS} runs each, interleaved`);
  compare(input, false);
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  compare(input, true);
  fs.rmSync(OUT, { recursive: true, force: true });
}

main();
