/**
 * The bitrate ladder: which renditions one source is transcoded into. Read from the ladder's
 * config file (YAML or JSON, protocol's parseConfigText; examples/ladder.yaml) so the same file
 * can be given to every transcode machine, each running a subset (`--profiles`).
 *
 * ```json
 * { "fps": 30, "preset": "veryfast",
 *   "profiles": [ { "name": "720p", "resolution": "1280x720", "videoBitrate": "2800k", "audioBitrate": "128k",
 *                   "extraArgs": ["-profile:v", "high"] } ] }
 * ```
 * Validation is done once, here, with messages that name the file, the profile and the field.
 */

export interface LadderProfile {
  /** Names the rendition's files and playlist (`<name>-<profile>…`): letters, digits, `_`, `-`. */
  name: string;
  width: number;
  height: number;
  videoKbps: number;
  /** 0: this rendition carries no audio. */
  audioKbps: number;
  /** ffmpeg output options for this rendition only, after the defaults (so they may override them). */
  extraArgs: string[];
}

export interface LadderConfig {
  /** Output frame rate of every rendition; with the segment duration it fixes the GOP. */
  fps: number;
  /** x264 preset. */
  preset: string;
  profiles: LadderProfile[];
}

export const DEFAULT_LADDER: LadderConfig = {
  fps: 30,
  preset: 'veryfast',
  // Close to Apple's authoring-spec ladder for 16:9, thinned to four steps.
  profiles: [
    { name: '1080p', width: 1920, height: 1080, videoKbps: 5000, audioKbps: 128, extraArgs: [] },
    { name: '720p', width: 1280, height: 720, videoKbps: 2800, audioKbps: 128, extraArgs: [] },
    { name: '480p', width: 854, height: 480, videoKbps: 1400, audioKbps: 96, extraArgs: [] },
    { name: '240p', width: 426, height: 240, videoKbps: 400, audioKbps: 64, extraArgs: [] },
  ],
};

const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;
/** The ladder's own keys of the file; its other keys are `segmenter ladder` options (ladder-cli.ts). */
export const LADDER_KEYS: readonly string[] = ['fps', 'preset', 'profiles'];
const CONFIG_KEYS = new Set(LADDER_KEYS);
const PROFILE_KEYS = new Set(['name', 'resolution', 'videoBitrate', 'audioBitrate', 'extraArgs']);

/** Parses and validates a ladder file's JSON text; `source` names it in errors. */
export function parseLadderConfig(text: string, source: string): LadderConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TypeError(`${source}: not valid JSON (${(e as Error).message})`);
  }
  return ladderConfigFrom(raw, source);
}

/** Validates a ladder file's parsed content (YAML or JSON); `source` names it in errors. */
export function ladderConfigFrom(raw: unknown, source: string): LadderConfig {
  if (!isObject(raw)) throw new TypeError(`${source}: expected a JSON object with "profiles", got ${describe(raw)}`);
  for (const key of Object.keys(raw)) {
    if (!CONFIG_KEYS.has(key)) throw new TypeError(`${source}: unknown setting "${key}" (expected ${[...CONFIG_KEYS].join(', ')})`);
  }
  const fps = raw.fps ?? DEFAULT_LADDER.fps;
  if (typeof fps !== 'number' || !(fps > 0 && fps <= 240)) throw new TypeError(`${source}: "fps" must be a number between 0 and 240, got ${describe(fps)}`);
  const preset = raw.preset ?? DEFAULT_LADDER.preset;
  if (typeof preset !== 'string' || !/^[a-z]+$/.test(preset)) throw new TypeError(`${source}: "preset" must be an x264 preset name such as "veryfast", got ${describe(preset)}`);
  if (raw.profiles === undefined) return { fps, preset, profiles: DEFAULT_LADDER.profiles };
  if (!Array.isArray(raw.profiles) || raw.profiles.length === 0) {
    throw new TypeError(`${source}: "profiles" must be a non-empty array, got ${describe(raw.profiles)}`);
  }
  const profiles = raw.profiles.map((p, i) => parseProfile(p, `${source}: profiles[${i}]`));
  const seen = new Set<string>();
  for (const p of profiles) {
    if (seen.has(p.name)) throw new TypeError(`${source}: two profiles are named "${p.name}"`);
    seen.add(p.name);
  }
  return { fps, preset, profiles };
}

function parseProfile(raw: unknown, where: string): LadderProfile {
  if (!isObject(raw)) throw new TypeError(`${where}: expected an object, got ${describe(raw)}`);
  for (const key of Object.keys(raw)) {
    if (!PROFILE_KEYS.has(key)) throw new TypeError(`${where}: unknown field "${key}" (expected ${[...PROFILE_KEYS].join(', ')})`);
  }
  const { name, resolution, videoBitrate, audioBitrate, extraArgs } = raw;
  if (typeof name !== 'string' || !PROFILE_NAME.test(name)) {
    throw new TypeError(`${where}: "name" must be 1–32 letters, digits, "_" or "-", got ${describe(name)}`);
  }
  const at = `${where} ("${name}")`;
  const size = typeof resolution === 'string' ? /^(\d{2,5})x(\d{2,5})$/.exec(resolution) : null;
  if (!size) throw new TypeError(`${at}: "resolution" must be WIDTHxHEIGHT such as "1280x720", got ${describe(resolution)}`);
  const [width, height] = [Number(size[1]), Number(size[2])];
  // 4:2:0 chroma halves both dimensions: H.264 and H.265 encoders refuse odd sizes.
  if (width % 2 || height % 2) throw new TypeError(`${at}: "resolution" needs even width and height, got ${resolution}`);
  const videoKbps = kbps(videoBitrate, `${at}: "videoBitrate"`, false);
  const audioKbps = audioBitrate === undefined ? 0 : kbps(audioBitrate, `${at}: "audioBitrate"`, true);
  if (extraArgs !== undefined && (!Array.isArray(extraArgs) || !extraArgs.every((a) => typeof a === 'string'))) {
    throw new TypeError(`${at}: "extraArgs" must be an array of strings, got ${describe(extraArgs)}`);
  }
  return { name, width, height, videoKbps, audioKbps, extraArgs: (extraArgs as string[] | undefined) ?? [] };
}

/** `"2800k"`, `"2.8M"` → kbit/s. Units are required: a bare number could mean bits or kilobits. */
function kbps(value: unknown, what: string, zeroAllowed: boolean): number {
  const m = typeof value === 'string' ? /^(\d+(?:\.\d+)?)([kM])$/.exec(value) : null;
  const n = m ? Number(m[1]) * (m[2] === 'M' ? 1000 : 1) : NaN;
  if (!m || !Number.isFinite(n) || (zeroAllowed ? n < 0 : n < 16) || n > 200_000 || !Number.isInteger(n)) {
    throw new TypeError(`${what} must be a bitrate such as "2800k" or "2.8M"${zeroAllowed ? ' ("0k": no audio)' : ''}, got ${describe(value)}`);
  }
  return n;
}

/**
 * The profiles named in `--profiles` (comma-separated), in the config's order; all when
 * `names` is undefined. Unknown names are an error listing the known ones.
 */
export function selectProfiles(config: LadderConfig, names: string | undefined): LadderProfile[] {
  if (names === undefined) return config.profiles;
  const wanted = names.split(',').map((n) => n.trim()).filter((n) => n !== '');
  if (wanted.length === 0) throw new TypeError(`--profiles must name at least one profile, got "${names}"`);
  const known = new Set(config.profiles.map((p) => p.name));
  for (const n of wanted) {
    if (!known.has(n)) throw new TypeError(`--profiles: no profile named "${n}" (the ladder has ${[...known].join(', ')})`);
  }
  return config.profiles.filter((p) => wanted.includes(p.name));
}

/** A ladder in the file's own form (`--print-config` prints it as a config file). */
export function ladderFileForm(config: LadderConfig): Record<string, unknown> {
  return {
    fps: config.fps,
    preset: config.preset,
    profiles: config.profiles.map((p) => ({
      name: p.name,
      resolution: `${p.width}x${p.height}`,
      videoBitrate: `${p.videoKbps}k`,
      audioBitrate: `${p.audioKbps}k`,
      ...(p.extraArgs.length > 0 ? { extraArgs: p.extraArgs } : {}),
    })),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  return v === undefined ? 'nothing' : JSON.stringify(v);
}
