/**
 * The command line: the original positional form (old scripts keep working) plus named
 * options. Pure: takes argv, returns validated settings or throws with a message that names
 * the argument, what was expected and what came.
 */
import path from 'node:path';
import yargs from 'yargs';
import { DEFAULT_HOST, DEFAULT_PORT, formatMessage, parseHostPort, type HostPort } from '@hlsrelay/protocol';
import type { StreamNames } from './live/live-segmenter';
import { checkMasterName, deliverySettingsFrom, FORMAT_OPTION, withCommandConventions, SPOOL_DIR_HELP, type DeliveryEnv } from './delivery/delivery-options';
import { spoolDirName } from './delivery/spool';
import { ACCESS_OPTIONS, accessSettingsFrom } from './delivery/uploader-access';

export interface SegmenterSettings extends StreamNames {
  /** A file path, or '-' for stdin. */
  input: string;
  uploader: HostPort;
  logLevel: string;
  logJson?: boolean;
  discontinuityThreshold: number;
  drainTimeout: number;
  /** Directory for index messages not yet acknowledged (spool.ts); in memory when undefined (`--spool-dir none`). */
  spoolDir?: string;
  /** The spool directory is the default one (no `--spool-dir`). */
  spoolDefault: boolean;
  spoolMaxMessages: number;
  /** `--ship-bytes`: segment bytes travel with their message (the uploader shares no disk with us). */
  shipBytes: boolean;
  /** `--keep-local`: with --ship-bytes, segment files stay after their acknowledgement. */
  keepLocal: boolean;
  /** `--token-file`: the shared token for an uploader that asks for one (else `$HLSRELAY_TOKEN`). */
  tokenFile?: string;
  /** `--tls-ca`: connect over TLS, trusting this CA's certificates. */
  tlsCa?: string;
  readSize: number;
  status: 'auto' | 'always' | 'never';
}

const USAGE = `$0 <input|-> <segment seconds> <output dir> <output prefix> <index name> <http prefix> <bucket> <key prefix> [options]

Cuts a live MPEG-TS stream into keyframe-aligned HLS segments <output dir>/<output prefix>-%05u.ts
(or, with --format fmp4, <output prefix>-init.mp4 and <output prefix>-%05u.m4s) and sends one index message per finished segment to the uploader over TCP.`;

/** Environment variables `HLSRELAY_SEGMENTER_<FLAG NAME>` set any option. */
export const SEGMENTER_ENV_PREFIX = 'HLSRELAY_SEGMENTER';

/** `columns`: the terminal's width (main.ts reads it), for wrapping --help. */
export function buildParser(argv: string[], columns?: number, version = 'unknown') {
  return withCommandConventions(
    yargs(argv)
      .scriptName('segmenter')
      .usage(USAGE)
      .positional('input', { describe: 'MPEG-TS file, or - to read a pipe on stdin', type: 'string' })
      .option('uploader', {
        type: 'string',
        default: `${DEFAULT_HOST}:${DEFAULT_PORT}`,
        describe: 'HOST:PORT of the uploader that receives index messages',
      })
      .option('format', FORMAT_OPTION)
      .option('master', { type: 'string', describe: 'join the master playlist <key prefix>/NAME that the uploader keeps for every rendition naming it' })
      .option('encrypt', { choices: ['aes-128'], describe: 'ask the uploader to store this stream AES-128 encrypted (it needs --encrypt aes-128; one without refuses the messages)' })
      .option('start-number', { type: 'number', default: 1, describe: 'number of the first segment (use a higher one after a restart so keys are never reused)' })
      .option('log-level', { choices: ['error', 'warn', 'info', 'debug'], default: 'info', describe: 'log verbosity' })
      .option('log-json', { type: 'boolean', describe: 'JSON log lines (default: JSON unless stderr is a terminal)' })
      .option('config', {
        type: 'string',
        describe: `YAML (.yaml, .yml) or JSON file of option settings named like the flags (not the 8 arguments), e.g. {"uploader": "10.0.0.5:10234"}; also $${SEGMENTER_ENV_PREFIX}_CONFIG; any option can also be $${SEGMENTER_ENV_PREFIX}_<NAME>`,
      })
      .option('print-config', { type: 'boolean', describe: 'print the effective option settings (flags > environment > file > defaults) as JSON and exit' })
      .option('status', { choices: ['auto', 'always', 'never'], default: 'auto', describe: 'periodic one-line status on stderr (auto: when stderr is a terminal)' })
      .option('discontinuity-threshold', { type: 'number', default: 10, describe: 'seconds of PTS jump (forward or back) marked as a discontinuity' })
      .option('drain-timeout', { type: 'number', default: 60, describe: 'seconds to keep retrying undelivered index messages after the input ends' })
      .option('spool-dir', { type: 'string', describe: SPOOL_DIR_HELP })
      .option('spool-max-messages', { type: 'number', default: 10_000, describe: 'most messages the spool holds; past it the oldest is dropped (logged as an error)' })
      .option('ship-bytes', {
        type: 'boolean',
        default: false,
        describe: 'send each segment\'s bytes over the connection with its message, for an uploader that cannot read <output dir> (another machine); the uploader needs its state directory (not --state-dir none)',
      })
      .option('keep-local', {
        type: 'boolean',
        default: false,
        describe: 'with --ship-bytes: keep each segment file after the uploader acknowledged it (default: removed, so a long stream does not fill the disk)',
      })
      .options(ACCESS_OPTIONS)
      .option('read-size', { type: 'number', default: 1024 * 1024, describe: 'bytes per read from an input file' })
      .example('ffmpeg -re -i in.mp4 -c:v libx264 -g 50 -c:a aac -f mpegts - | $0 - 10 /tmp/hls live stream.m3u8 https://cdn.example.com/live/ my-bucket live', 'segment a live pipe into 10 s segments')
      .example('$0 - 6 /var/hls cam1 cam1.m3u8 https://d123.cloudfront.net/cam1/ videos cam1 --uploader 10.0.0.5:10234 --start-number 1001', 'another uploader, numbering continued after a restart')
      .epilog(
        'Messages are queued in order while the uploader is unreachable and delivered when it is back. SIGINT/SIGTERM finish the current segment and send it with end=1. ' +
          'Exit status: 0 when the uploader took every message; 1 when one was refused or is still undelivered, or the input gave no segment (not MPEG-TS?); 2 for bad arguments.',
      ),
    version,
    columns,
  );
}

/**
 * Validates a parsed command line; throws TypeError with what was expected and what came.
 * `env` gives the default spool directory (delivery-options.ts).
 */
export function settingsFrom(args: Record<string, unknown>, env: DeliveryEnv): SegmenterSettings {
  const positional = (args._ as Array<string | number>).map(String);
  if (positional.length !== 8) {
    throw new TypeError(
      `expected 8 arguments <input|-> <segment seconds> <output dir> <output prefix> <index name> <http prefix> <bucket> <key prefix>, got ${positional.length}${positional.length ? `: ${positional.join(' ')}` : ''}`,
    );
  }
  const [input, seconds, outputDirectory, outputPrefix, index, httpPrefix, bucketName, keyPrefix] = positional;
  const segmentDuration = Number(seconds);
  if (!/^\d+$/.test(seconds) || segmentDuration < 1) {
    throw new TypeError(`<segment seconds> must be a whole number of seconds ≥ 1, got "${seconds}"`);
  }
  for (const [name, value] of [['<output dir>', outputDirectory], ['<output prefix>', outputPrefix], ['<index name>', index], ['<bucket>', bucketName]] as const) {
    if (value.trim() === '') throw new TypeError(`${name} must not be empty`);
  }
  if (outputPrefix.includes('/')) throw new TypeError(`<output prefix> must be a file name prefix without "/", got "${outputPrefix}"`);
  const { spoolHome, ...delivery } = deliverySettingsFrom(args, env);
  const { startNumber } = delivery;
  const spoolDir = delivery.spoolDir ?? (spoolHome === undefined ? undefined : path.join(spoolHome, spoolDirName({ bucketName, keyPrefix, index })));
  const spoolMaxMessages = args['spool-max-messages'] as number;
  if (!Number.isSafeInteger(spoolMaxMessages) || spoolMaxMessages < 1) {
    throw new TypeError(`--spool-max-messages must be a whole number ≥ 1, got ${spoolMaxMessages}`);
  }
  const readSize = args['read-size'] as number;
  if (!Number.isSafeInteger(readSize) || readSize < 188 * 16 || readSize > 64 * 1024 * 1024) {
    throw new TypeError(`--read-size must be bytes between ${188 * 16} and ${64 * 1024 * 1024}, got ${readSize}`);
  }
  const master = args.master === undefined ? undefined : String(args.master);
  if (master !== undefined) checkMasterName(master, '--master');
  const settings: SegmenterSettings = {
    input,
    segmentDuration,
    outputDirectory,
    outputPrefix,
    index,
    httpPrefix,
    bucketName,
    keyPrefix,
    ...delivery,
    ...(spoolDir !== undefined ? { spoolDir } : {}),
    spoolDefault: spoolHome !== undefined,
    ...(master !== undefined ? { master } : {}),
    ...(args.encrypt === 'aes-128' ? { encrypt: 'aes-128' as const } : {}),
    uploader: parseHostPort(String(args.uploader), '--uploader'),
    logLevel: String(args['log-level']),
    logJson: args['log-json'] as boolean | undefined,
    spoolMaxMessages,
    shipBytes: Boolean(args['ship-bytes']),
    keepLocal: Boolean(args['keep-local']),
    ...accessSettingsFrom(args),
    readSize,
    status: args.status as SegmenterSettings['status'],
  };
  // The ten original fields travel unescaped: refuse now what could not be sent later.
  formatMessage({ ...settings, firstSegment: startNumber, lastSegment: startNumber, end: false, ext: {} });
  return settings;
}
