/**
 * One ffmpeg for a whole ladder: the source is decoded once, split, and each branch scaled and
 * encoded into its own MPEG-TS pipe (fd 3, 4, …), one per segmenter. Used by `segmenter ladder`
 * and by the demo, so both cut renditions whose keyframes fall at the same instants.
 */
import type { LadderProfile } from './ladder-profile';

export interface TranscodeSource {
  /** File, URL, or `-` for stdin; undefined: a live test picture with a beeping tone. */
  input?: string;
  /** Output frame rate of every rendition. */
  fps: number;
  /** Segment duration in whole seconds: the GOP is exactly one segment. */
  segmentSeconds: number;
  /** x264 preset; default `veryfast`. */
  preset?: string;
  /** Read a file input at its own pace, as if live (`-re`); the test picture always is. */
  realtime?: boolean;
  /** x264 `zerolatency` tuning: no B-frames or lookahead, frames leave the encoder at once. */
  lowLatency?: boolean;
  /** ffmpeg's own log level on stderr; default `error`. */
  logLevel?: string;
}

/** First fd used for rendition outputs (0–2 are stdin, stdout, stderr). */
export const FIRST_OUTPUT_FD = 3;

/** A URL ffmpeg opens itself (rtmp://, srt://, http://…), as opposed to a local path. */
export function isUrlInput(input: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(input);
}

export function ladderFfmpegArgs(source: TranscodeSource, profiles: readonly LadderProfile[]): string[] {
  if (profiles.length === 0) throw new TypeError('a ladder needs at least one profile');
  if (!Number.isInteger(source.segmentSeconds) || source.segmentSeconds < 1) {
    throw new TypeError(`segment duration must be a whole number of seconds ≥ 1, got ${source.segmentSeconds}`);
  }
  const gop = Math.round(source.fps * source.segmentSeconds);
  if (!(gop >= 1)) throw new TypeError(`fps × segment seconds must give at least one frame per GOP, got ${source.fps} × ${source.segmentSeconds}`);
  const args = ['-hide_banner', '-nostats', '-loglevel', source.logLevel ?? 'error'];
  // ffmpeg reads keys from stdin unless told not to; stdin is the source only for `-`.
  if (source.input !== '-') args.push('-nostdin');
  let audio: string;
  if (source.input === undefined) {
    // testsrc2 draws a running timecode and frame counter: proof on screen that the stream is live.
    const largest = profiles.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
    args.push('-re', '-f', 'lavfi', '-i', `testsrc2=size=${largest.width}x${largest.height}:rate=${source.fps}`);
    args.push('-re', '-f', 'lavfi', '-i', 'sine=frequency=440:beep_factor=4:sample_rate=48000');
    audio = '1:a';
  } else {
    if (source.realtime && source.input !== '-' && !isUrlInput(source.input)) args.push('-re');
    args.push('-i', source.input === '-' ? 'pipe:0' : source.input);
    audio = '0:a:0?';
  }
  const video = source.input === undefined ? '0:v' : '0:v:0';
  const branches = profiles.map((_, i) => `[v${i}]`).join('');
  const scales = profiles.map((p, i) => `[v${i}]scale=${p.width}:${p.height},format=yuv420p[out${i}]`).join(';');
  args.push('-filter_complex', `[${video}]split=${profiles.length}${branches};${scales}`);

  profiles.forEach((p, i) => {
    args.push('-map', `[out${i}]`);
    if (p.audioKbps > 0) args.push('-map', audio);
    args.push(
      ...['-c:v', 'libx264', '-preset', source.preset ?? 'veryfast', '-profile:v', 'main'],
      ...(source.lowLatency ? ['-tune', 'zerolatency'] : []),
      ...['-r', String(source.fps), '-b:v', `${p.videoKbps}k`, '-maxrate', `${Math.round(p.videoKbps * 1.2)}k`],
      ...['-bufsize', `${p.videoKbps * 2}k`],
      // Keyframes at the same instants in every rendition, so players can switch at any
      // segment boundary: a fixed GOP of one segment, no scene-cut keyframes, and a forced
      // keyframe on every segment boundary in case the source's timestamps drift.
      ...['-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0'],
      ...['-force_key_frames', `expr:gte(t,n_forced*${source.segmentSeconds})`],
      ...(p.audioKbps > 0 ? ['-c:a', 'aac', '-b:a', `${p.audioKbps}k`, '-ar', '48000', '-ac', '2'] : ['-an']),
      ...p.extraArgs,
      ...['-f', 'mpegts', `pipe:${FIRST_OUTPUT_FD + i}`],
    );
  });
  return args;
}
