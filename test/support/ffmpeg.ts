/** The ffmpeg the tests run: the static build from @ffmpeg-installer/ffmpeg (a devDependency). */
import { spawn } from 'node:child_process';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const FFMPEG: string = require('@ffmpeg-installer/ffmpeg').path;

/** Runs ffmpeg with the given arguments; resolves with stderr. */
export function ffmpeg(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(FFMPEG, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(err) : reject(new Error(`ffmpeg ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

/**
 * A 640x360 H.264/AAC MPEG-TS file of `seconds`: testsrc2 at 25 fps, a keyframe every 2 s, a 440 Hz
 * tone (`beep`: ffmpeg's beep every second on top, so audio can be told apart in time).
 */
export function testSourceFile(file: string, seconds: number, options: { beep?: boolean } = {}): Promise<string> {
  const tone = `sine=frequency=440${options.beep ? ':beep_factor=4' : ''}:sample_rate=48000`;
  return ffmpeg([
    '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', tone,
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'veryfast', '-g', '50', '-c:a', 'aac', '-f', 'mpegts', file,
  ]);
}
