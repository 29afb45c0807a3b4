/**
 * MPEG-TS inputs made at test time with the bundled ffmpeg, in a temporary directory (never
 * committed). Not a test file itself.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FFMPEG } from '../support/ffmpeg';
import { tempDir as freshDir } from '../support/temp-dir';

export { FFMPEG };

/** A temporary folder removed when the test ends. */
export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = freshDir('fmp4');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function ffmpeg(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(FFMPEG, args, { maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** 4 s of 320x240 25 fps H.264 with up to 3 consecutive B-frames (pyramid), keyframe every second, AAC 44.1 kHz. */
export const B_FRAME_FRAMES = 100;
export function makeBFrameTs(dir: string): Uint8Array {
  const out = path.join(dir, 'bframes.ts');
  const r = ffmpeg([
    '-v', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', '4', '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '3', '-b_strategy', '0', '-g', '25', '-keyint_min', '25',
    '-c:a', 'aac', '-b:a', '64k', '-f', 'mpegts', out,
  ]);
  if (r.status !== 0) throw new Error(`ffmpeg could not make the B-frame input: ${r.stderr}`);
  return new Uint8Array(fs.readFileSync(out));
}

/** Decodes a file completely: exit status, error output, and per-stream frame counts and durations from framemd5. */
export function decode(file: string): { status: number | null; stderr: string; frames: number[]; durations: number[] } {
  const r = ffmpeg(['-v', 'error', '-i', file, '-f', 'framemd5', '-']);
  const frames: number[] = [];
  const durations: number[] = [];
  const timeBases: number[] = [];
  for (const line of r.stdout.split('\n')) {
    const tb = /^#tb (\d+): (\d+)\/(\d+)/.exec(line);
    if (tb) timeBases[Number(tb[1])] = Number(tb[2]) / Number(tb[3]);
    if (line.startsWith('#') || line.trim() === '') continue;
    const [stream, , , duration] = line.split(',').map((s) => Number(s.trim()));
    frames[stream] = (frames[stream] ?? 0) + 1;
    durations[stream] = (durations[stream] ?? 0) + duration * (timeBases[stream] ?? 0);
  }
  return { status: r.status, stderr: r.stderr, frames, durations };
}

/**
 * 3 s of 320x240 25 fps H.265 with open GOPs: a CRA every 25 frames with RASL leading pictures
 * after it in decode order (x265's "fast" preset with B-frames; "ultrafast" makes none).
 */
export function makeOpenGopHevcTs(dir: string): Uint8Array {
  const out = path.join(dir, 'open-gop.ts');
  const r = ffmpeg([
    '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-t', '3',
    '-c:v', 'libx265', '-preset', 'fast', '-x265-params', 'log-level=error:keyint=25:min-keyint=25:open-gop=1:bframes=4:b-adapt=0:scenecut=0',
    '-f', 'mpegts', out,
  ]);
  if (r.status !== 0) throw new Error(`ffmpeg could not make the open-GOP H.265 input: ${r.stderr}`);
  return new Uint8Array(fs.readFileSync(out));
}
