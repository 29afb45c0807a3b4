/**
 * Which ffmpeg to run when `--ffmpeg` is not given: the static build from the
 * `@ffmpeg-installer/ffmpeg` package when it is installed (the demo and tests use it), else
 * whatever `ffmpeg` is on PATH.
 */
export function defaultFfmpegPath(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const installed = require('@ffmpeg-installer/ffmpeg') as { path?: string };
    if (typeof installed.path === 'string' && installed.path !== '') return installed.path;
  } catch {
    // not installed: fall through to PATH
  }
  return 'ffmpeg';
}
