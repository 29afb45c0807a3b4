/**
 * Which ffmpeg `segmenter ladder` (and the demo) run: `--ffmpeg PATH`, else `$FFMPEG`, else an
 * `ffmpeg` on PATH (a distribution's build: SRT, newer codecs), else the static build of the
 * `@ffmpeg-installer/ffmpeg` package when it is installed (a 2018 build without SRT, which the
 * demo and tests use). The choice and the binary's version line are logged at start, so a
 * missing protocol or codec is traced to the binary.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

export type FfmpegSource = '--ffmpeg' | '$FFMPEG' | 'PATH' | 'bundled';

export interface FfmpegChoice {
  path: string;
  /** Where the choice came from, for the log line. */
  source: FfmpegSource;
}

export interface FfmpegLookup {
  /** `--ffmpeg`, when given. */
  flag?: string;
  /** The environment's `FFMPEG` and `PATH`. */
  env: Readonly<Record<string, string | undefined>>;
  /** The bundled binary, or undefined when the package is not installed (default: bundledFfmpeg). */
  bundled?: () => string | undefined;
}

/** The ffmpeg to run, by the order above; `ffmpeg` alone (to fail loudly at spawn) when none is found. */
export function chooseFfmpeg({ flag, env, bundled = bundledFfmpeg }: FfmpegLookup): FfmpegChoice {
  if (flag !== undefined) return { path: flag, source: '--ffmpeg' };
  if (env.FFMPEG) return { path: env.FFMPEG, source: '$FFMPEG' };
  const onPath = findOnPath('ffmpeg', env.PATH);
  if (onPath !== undefined) return { path: onPath, source: 'PATH' };
  const installed = bundled();
  if (installed !== undefined) return { path: installed, source: 'bundled' };
  return { path: 'ffmpeg', source: 'PATH' };
}

/** The first executable `name` in the PATH list, if any. */
export function findOnPath(name: string, pathList: string | undefined): string | undefined {
  for (const dir of (pathList ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The `@ffmpeg-installer/ffmpeg` binary, when that package is installed. */
export function bundledFfmpeg(): string | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const installed = require('@ffmpeg-installer/ffmpeg') as { path?: string };
    if (typeof installed.path === 'string' && installed.path !== '') return installed.path;
  } catch {
    // not installed
  }
  return undefined;
}

/** `ffmpeg version 5.1.6-0+deb12u1 …`: the binary's first line, or why it gave none. */
export function ffmpegVersionLine(ffmpegPath: string): string {
  const r = spawnSync(ffmpegPath, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error) return `cannot run it (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})`;
  return r.stdout.split('\n')[0].trim() || `no version line (exit ${r.status})`;
}
