/**
 * The demo's one ffmpeg process: a source (live test picture or the user's input) encoded once
 * per rendition, each rendition written as MPEG-TS to its own pipe (fd 3, 4, …) so every
 * segmenter reads exactly one bitrate, as in production.
 */
import type { Rendition } from './renditions';

export interface SourceOptions {
  /** File, URL, or `-` for stdin; undefined: the built-in test picture. */
  input?: string;
  fps: number;
  segmentSeconds: number;
}

/** First fd used for rendition outputs (0–2 are stdin, stdout, stderr). */
export const FIRST_OUTPUT_FD = 3;

export function ffmpegArgs(source: SourceOptions, renditions: Rendition[]): string[] {
  const args = ['-hide_banner', '-nostats', '-loglevel', 'error'];
  let audio: string;
  if (source.input === undefined) {
    // testsrc2 draws a running timecode and frame counter: proof on screen that the stream is live.
    const largest = renditions.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
    args.push('-re', '-f', 'lavfi', '-i', `testsrc2=size=${largest.width}x${largest.height}:rate=${source.fps}`);
    args.push('-re', '-f', 'lavfi', '-i', 'sine=frequency=440:beep_factor=4:sample_rate=48000');
    audio = '1:a';
  } else {
    const isFile = source.input !== '-' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(source.input);
    if (isFile) args.push('-re'); // a file is read as fast as the disk allows; pace it like a live source
    args.push('-i', source.input === '-' ? 'pipe:0' : source.input);
    audio = '0:a?';
  }
  const video = source.input === undefined ? '0:v' : '0:v:0';
  const split = renditions.map((_, i) => `[v${i}]`).join('');
  const scales = renditions.map((r, i) => `[v${i}]scale=${r.width}:${r.height},format=yuv420p[out${i}]`).join(';');
  args.push('-filter_complex', `[${video}]split=${renditions.length}${split};${scales}`);

  const gop = Math.round(source.fps * source.segmentSeconds);
  renditions.forEach((r, i) => {
    args.push('-map', `[out${i}]`, '-map', audio);
    args.push(
      ...['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-profile:v', 'main'],
      ...['-r', String(source.fps), '-b:v', `${r.videoKbps}k`, '-maxrate', `${Math.round(r.videoKbps * 1.2)}k`],
      ...['-bufsize', `${r.videoKbps * 2}k`],
      // Keyframes at the same instants in every rendition, so players can switch at any segment boundary.
      ...['-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0'],
      ...['-force_key_frames', `expr:gte(t,n_forced*${source.segmentSeconds})`],
      ...['-c:a', 'aac', '-b:a', '96k', '-ar', '48000', '-ac', '2'],
      ...['-f', 'mpegts', `pipe:${FIRST_OUTPUT_FD + i}`],
    );
  });
  return args;
}
