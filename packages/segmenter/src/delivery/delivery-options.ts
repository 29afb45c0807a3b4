/**
 * Checks of the options both `segmenter` and `segmenter ladder` take for numbering segments,
 * their format and delivering their messages; one place so both commands say the same thing
 * about bad values.
 */
import type { Argv } from 'yargs';
import { checkMasterName as checkMasterWireName, defaultStateDir, NO_DIR, SEGMENT_FORMATS, type SegmentFormat } from '@hlsrelay/protocol';

/** `--format`, as both parsers declare it. */
export const FORMAT_OPTION = {
  choices: SEGMENT_FORMATS as SegmentFormat[],
  default: 'ts' as SegmentFormat,
  describe: 'segment container: ts (MPEG-TS, plays everywhere) or fmp4 (fragmented MP4 / CMAF: <prefix>-init.mp4 + .m4s; needed for HEVC on Apple devices; H.264, H.265 and AAC only)',
};

export interface DeliverySettings {
  startNumber: number;
  format: SegmentFormat;
  discontinuityThreshold: number;
  drainTimeout: number;
  /** `--spool-dir DIR`: the spool is there (the ladder: a directory per profile under it). */
  spoolDir?: string;
  /** No `--spool-dir`: each stream's spool is a directory of its own under this one (spoolDirName). */
  spoolHome?: string;
}

/** The environment the default spool home comes from (main.ts passes process.env). */
export type DeliveryEnv = Readonly<Record<string, string | undefined>>;

/**
 * `env` gives the default spool home ($STATE_DIRECTORY, else $XDG_STATE_HOME/hlsrelay/segmenter,
 * else ~/.local/state/hlsrelay/segmenter); `--spool-dir none` turns the spool off.
 */
export function deliverySettingsFrom(args: Record<string, unknown>, env: DeliveryEnv): DeliverySettings {
  const startNumber = args['start-number'] as number;
  // Segment 0 is the 2009 start-up message on the wire, which uploaders ignore (protocol isStartupMessage).
  if (!Number.isSafeInteger(startNumber) || startNumber < 1) throw new TypeError(`--start-number must be a whole number ≥ 1, got ${startNumber}`);
  const discontinuityThreshold = args['discontinuity-threshold'] as number;
  if (!(discontinuityThreshold > 0)) throw new TypeError(`--discontinuity-threshold must be seconds > 0, got ${discontinuityThreshold}`);
  const drainTimeout = args['drain-timeout'] as number;
  if (!(drainTimeout >= 0)) throw new TypeError(`--drain-timeout must be seconds ≥ 0, got ${drainTimeout}`);
  const spoolDir = args['spool-dir'] === undefined ? undefined : String(args['spool-dir']);
  if (spoolDir !== undefined && spoolDir.trim() === '') throw new TypeError(`--spool-dir must be a directory path or "${NO_DIR}", got ""`);
  const format = (args.format ?? 'ts') as SegmentFormat;
  if (!SEGMENT_FORMATS.includes(format)) throw new TypeError(`--format must be one of ${SEGMENT_FORMATS.join(', ')}, got "${String(args.format)}"`);
  const settings = { startNumber, format, discontinuityThreshold, drainTimeout };
  if (spoolDir === NO_DIR) return settings;
  if (spoolDir !== undefined) return { ...settings, spoolDir };
  const spoolHome = defaultStateDir(env, 'segmenter');
  if (spoolHome === undefined) {
    throw new TypeError(`no default spool directory: neither $STATE_DIRECTORY, $XDG_STATE_HOME nor $HOME is set; give --spool-dir DIR (or --spool-dir ${NO_DIR} to keep undelivered messages in memory only)`);
  }
  return { ...settings, spoolHome };
}

/** Help text of `--spool-dir`, the same for both commands. */
export const SPOOL_DIR_HELP =
  'keep index messages not yet acknowledged on disk here, delivered after an uploader outage or a restart. ' +
  'Default: a directory per stream under $STATE_DIRECTORY, else $XDG_STATE_HOME/hlsrelay/segmenter, else ~/.local/state/hlsrelay/segmenter. ' +
  `Locked: a second segmenter on it exits with an error. "${NO_DIR}": in memory only (a restart loses them)`;

/** A master playlist name as the wire allows it, with the option named in the error. */
export function checkMasterName(value: string, option: string): string {
  try {
    return checkMasterWireName(value);
  } catch (e) {
    throw new TypeError(`${option} ${(e as Error).message.replace(/^master /, '')}`);
  }
}

/**
 * What every command answers the same way (README: Configuration reference): unknown options
 * refused, -h/--help, -V/--version, help wrapped to the terminal.
 */
export function withCommandConventions<T>(parser: Argv<T>, version: string, columns: number | undefined): Argv<T> {
  return parser
    .strictOptions()
    .help()
    .alias('help', 'h')
    .version(version)
    .alias('version', 'V')
    .wrap(Math.min(120, columns || 100)) as Argv<T>;
}
