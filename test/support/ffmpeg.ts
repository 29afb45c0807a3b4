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
