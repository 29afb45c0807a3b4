/**
 * `segmenter ladder`: the command line of one source transcoded into a ladder of renditions.
 * Its config file (`--config`, `$HLSRELAY_SEGMENTER_CONFIG`) is the ladder file: the ladder's
 * `fps`, `preset` and `profiles` beside any of these options named like the flags; options also
 * come from `HLSRELAY_SEGMENTER_<NAME>`, the segmenter's own prefix (main.ts loads both through
 * protocol's loadSettingsSources). Pure: takes the parsed flags and the ladder part of the file,
 * returns validated settings or throws with a message that names the argument, what was
 * expected and what came.
 */
import yargs from 'yargs';
import { DEFAULT_HOST, DEFAULT_PORT, formatMessage, parseHostPort, type HostPort } from '@hlsrelay/protocol';
import { checkMasterName, deliverySettingsFrom, FORMAT_OPTION, withCommandConventions, SPOOL_DIR_HELP, type DeliveryEnv } from '../delivery/delivery-options';
import type { SegmentFormat } from '@hlsrelay/protocol';
import { ACCESS_OPTIONS, accessSettingsFrom } from '../delivery/uploader-access';
import type { FfmpegChoice } from './ffmpeg-path';
import { DEFAULT_LADDER, ladderConfigFrom, selectProfiles, type LadderConfig, type LadderProfile } from './ladder-profile';

export interface LadderSettings {
  /** File, URL ffmpeg reads, or `-` for stdin. */
  input: string;
  segmentDuration: number;
  outputDirectory: string;
  /** Files are `<name>-<profile>-%05u.ts`, playlists `<name>-<profile>.m3u8`. */
  name: string;
  httpPrefix: string;
  bucketName: string;
  keyPrefix: string;
  master: string;
  /** Ask the uploader to store every rendition encrypted (`--encrypt aes-128`). */
  encrypt?: 'aes-128';
  config: LadderConfig;
  /** The profiles this machine runs. */
  profiles: LadderProfile[];
  ffmpegPath: string;
  /** Where `ffmpegPath` came from (ffmpeg-path.ts), for the log. */
  ffmpegSource: FfmpegChoice['source'];
  realtime: boolean;
  printFfmpeg: boolean;
  uploader: HostPort;
  startNumber: number;
  /** `--format`: every rendition's segment container. */
  format: SegmentFormat;
  logLevel: string;
  logJson?: boolean;
  discontinuityThreshold: number;
  drainTimeout: number;
  /** Unacknowledged messages on disk, one spool per rendition under this directory (`--spool-dir`). */
  spoolDir?: string;
  /** No `--spool-dir`: each rendition's spool is its stream's directory under this one (spoolDirName). */
  spoolHome?: string;
  /** `--ship-bytes`: segment bytes travel with their messages (the uploader shares no disk). */
  shipBytes: boolean;
  /** `--keep-local`: with --ship-bytes, segment files stay after their acknowledgement. */
  keepLocal: boolean;
  /** `--token-file`: the shared token for an uploader that asks for one (else `$HLSRELAY_TOKEN`). */
  tokenFile?: string;
  /** `--tls-ca`: connect over TLS, trusting this CA's certificates. */
  tlsCa?: string;
}

const USAGE = `$0 ladder <input|-> <segment seconds> <output dir> <name> <http prefix> <bucket> <key prefix> [options]

Transcodes one source into a ladder of renditions with one ffmpeg (decoded once, split, scaled,
encoded with keyframes at the same instants) and cuts each rendition into segments
<output dir>/<name>-<profile>-%05u.ts, announced to the uploader as playlist <name>-<profile>.m3u8,
all joined in the master playlist <key prefix>/<name>.m3u8.`;

/** `columns`: the terminal's width (main.ts reads it), for wrapping --help. */
export function buildLadderParser(argv: string[], columns?: number, version = 'unknown') {
  return withCommandConventions(
    yargs(argv)
      .scriptName('segmenter')
      .usage(USAGE)
      .option('config', {
        type: 'string',
        describe: `ladder file, YAML (.yaml, .yml) or JSON: fps, preset, profiles[{name, resolution, videoBitrate, audioBitrate, extraArgs}] and any option named like the flags (examples/ladder.yaml); default ladder ${DEFAULT_LADDER.profiles.map((p) => p.name).join('/')}; also $HLSRELAY_SEGMENTER_CONFIG`,
      })
      .option('print-config', { type: 'boolean', describe: 'print the effective settings and ladder (flags > environment > file > defaults) as JSON and exit' })
      .option('profiles', { type: 'string', describe: 'run only these profiles, comma-separated (the rest run on other machines against the same uploader)' })
      .option('master', { type: 'string', describe: 'master playlist name (default <name>.m3u8)' })
      .option('encrypt', { choices: ['aes-128'], describe: 'ask the uploader to store every rendition AES-128 encrypted (it needs --encrypt aes-128)' })
      .option('ffmpeg', { type: 'string', describe: 'ffmpeg to run (default: $FFMPEG, else ffmpeg on PATH, else the bundled @ffmpeg-installer/ffmpeg build, which has no SRT)' })
      .option('realtime', { type: 'boolean', default: false, describe: 'read a file input at its own pace, as a live source (ffmpeg -re)' })
      .option('print-ffmpeg', { type: 'boolean', default: false, describe: 'print the ffmpeg command line and exit' })
      .option('uploader', { type: 'string', default: `${DEFAULT_HOST}:${DEFAULT_PORT}`, describe: 'HOST:PORT of the uploader that receives index messages' })
      .option('start-number', { type: 'number', default: 1, describe: 'number of the first segment of every rendition' })
      .option('format', FORMAT_OPTION)
      .option('log-level', { choices: ['error', 'warn', 'info', 'debug'], default: 'info', describe: 'log verbosity' })
      .option('log-json', { type: 'boolean', describe: 'JSON log lines (default: JSON unless stderr is a terminal)' })
      .option('discontinuity-threshold', { type: 'number', default: 10, describe: 'seconds of PTS jump marked as a discontinuity' })
      .option('drain-timeout', { type: 'number', default: 60, describe: 'seconds to keep retrying undelivered index messages after the input ends' })
      .option('spool-dir', { type: 'string', describe: `${SPOOL_DIR_HELP} (given: a directory per profile under it)` })
      .option('ship-bytes', {
        type: 'boolean',
        default: false,
        describe: 'send each segment\'s bytes over the connection with its message, for an uploader on another machine that cannot read <output dir>; the uploader needs its state directory (not --state-dir none)',
      })
      .option('keep-local', {
        type: 'boolean',
        default: false,
        describe: 'with --ship-bytes: keep each segment file after the uploader acknowledged it (default: removed, so a long stream does not fill the disk)',
      })
      .options(ACCESS_OPTIONS)
      .example('$0 ladder rtmp://localhost/live/cam 2 /var/hls cam https://cdn.example/s1/ mybucket s1', 'the default 1080p/720p/480p/240p ladder and master s1/cam.m3u8')
      .example('$0 ladder - 2 /var/hls cam https://cdn.example/s1/ mybucket s1 --config ladder.yaml --profiles 1080p,720p --uploader up.internal:10234', 'this machine does two profiles of the ladder file')
      .epilog('Every option can also come from the environment as HLSRELAY_SEGMENTER_<NAME> (e.g. HLSRELAY_SEGMENTER_UPLOADER=10.0.0.5:10234), or from the ladder file.'),
    version,
    columns,
  );
}

/**
 * `ladderFile`: the ladder keys of the config file and the words naming it in errors (undefined
 * without a file: the default ladder); `ffmpeg` picks the binary given `--ffmpeg` (ffmpeg-path.ts).
 */
export function ladderSettingsFrom(
  args: Record<string, unknown>,
  ladderFile: { source: string; value: Record<string, unknown> } | undefined,
  ffmpeg: (flag: string | undefined) => FfmpegChoice,
  env: DeliveryEnv,
): LadderSettings {
  const positional = (args._ as Array<string | number>).map(String);
  if (positional.length !== 7) {
    throw new TypeError(
      `ladder expects 7 arguments <input|-> <segment seconds> <output dir> <name> <http prefix> <bucket> <key prefix>, got ${positional.length}${positional.length ? `: ${positional.join(' ')}` : ''}`,
    );
  }
  const [input, seconds, outputDirectory, name, httpPrefix, bucketName, keyPrefix] = positional;
  const segmentDuration = Number(seconds);
  if (!/^\d+$/.test(seconds) || segmentDuration < 1) throw new TypeError(`<segment seconds> must be a whole number of seconds ≥ 1, got "${seconds}"`);
  if (outputDirectory.trim() === '') throw new TypeError('<output dir> must not be empty');
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(name)) throw new TypeError(`<name> must be letters, digits, "_" or "-" (it names files and playlists), got "${name}"`);
  if (bucketName.trim() === '') throw new TypeError('<bucket> must not be empty');
  const config = ladderFile === undefined ? DEFAULT_LADDER : ladderConfigFrom(ladderFile.value, ladderFile.source);
  const profiles = selectProfiles(config, args.profiles === undefined ? undefined : String(args.profiles));
  const master = checkMasterName(args.master === undefined ? `${name}.m3u8` : String(args.master), '--master');
  if (profiles.some((p) => `${name}-${p.name}.m3u8` === master)) throw new TypeError(`--master "${master}" is also a rendition's playlist name`);
  const delivery = deliverySettingsFrom(args, env);
  const { startNumber } = delivery;
  if (args.ffmpeg !== undefined && String(args.ffmpeg).trim() === '') throw new TypeError('--ffmpeg must be a path to an ffmpeg binary, got ""');
  const chosen = ffmpeg(args.ffmpeg === undefined ? undefined : String(args.ffmpeg));
  const settings: LadderSettings = {
    input,
    segmentDuration,
    outputDirectory,
    name,
    httpPrefix,
    bucketName,
    keyPrefix,
    master,
    ...(args.encrypt === 'aes-128' ? { encrypt: 'aes-128' as const } : {}),
    config,
    profiles,
    ffmpegPath: chosen.path,
    ffmpegSource: chosen.source,
    realtime: Boolean(args.realtime),
    printFfmpeg: Boolean(args['print-ffmpeg']),
    uploader: parseHostPort(String(args.uploader), '--uploader'),
    ...delivery,
    logLevel: String(args['log-level']),
    logJson: args['log-json'] as boolean | undefined,
    shipBytes: Boolean(args['ship-bytes']),
    keepLocal: Boolean(args['keep-local']),
    ...accessSettingsFrom(args),
  };
  // The original fields travel unescaped: refuse now what could not be sent later.
  for (const p of profiles) formatMessage({ ...renditionNames(settings, p), segmentDuration, httpPrefix, bucketName, keyPrefix, outputDirectory, firstSegment: startNumber, lastSegment: startNumber, end: false, ext: {} });
  return settings;
}

/** A rendition's file prefix and playlist name. */
export function renditionNames(s: Pick<LadderSettings, 'name'>, p: LadderProfile): { outputPrefix: string; index: string } {
  return { outputPrefix: `${s.name}-${p.name}`, index: `${s.name}-${p.name}.m3u8` };
}
