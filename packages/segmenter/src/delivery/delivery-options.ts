/**
 * Checks of the options both `segmenter` and `segmenter ladder` take for numbering segments,
 * their format and delivering their messages; one place so both commands say the same thing
 * about bad values.
 */
import { checkMasterName as checkMasterWireName, SEGMENT_FORMATS, type SegmentFormat } from '@hlsrelay/protocol';

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
  spoolDir?: string;
}

export function deliverySettingsFrom(args: Record<string, unknown>): DeliverySettings {
  const startNumber = args['start-number'] as number;
  // Segment 0 is the 2009 start-up message on the wire, which uploaders ignore (protocol isStartupMessage).
  if (!Number.isSafeInteger(startNumber) || startNumber < 1) throw new TypeError(`--start-number must be a whole number ≥ 1, got ${startNumber}`);
  const discontinuityThreshold = args['discontinuity-threshold'] as number;
  if (!(discontinuityThreshold > 0)) throw new TypeError(`--discontinuity-threshold must be seconds > 0, got ${discontinuityThreshold}`);
  const drainTimeout = args['drain-timeout'] as number;
  if (!(drainTimeout >= 0)) throw new TypeError(`--drain-timeout must be seconds ≥ 0, got ${drainTimeout}`);
  const spoolDir = args['spool-dir'] === undefined ? undefined : String(args['spool-dir']);
  if (spoolDir !== undefined && spoolDir.trim() === '') throw new TypeError('--spool-dir must be a directory path, got ""');
  const format = (args.format ?? 'ts') as SegmentFormat;
  if (!SEGMENT_FORMATS.includes(format)) throw new TypeError(`--format must be one of ${SEGMENT_FORMATS.join(', ')}, got "${String(args.format)}"`);
  return { startNumber, format, discontinuityThreshold, drainTimeout, ...(spoolDir !== undefined ? { spoolDir } : {}) };
}

/** A master playlist name as the wire allows it, with the option named in the error. */
export function checkMasterName(value: string, option: string): string {
  try {
    return checkMasterWireName(value);
  } catch (e) {
    throw new TypeError(`${option} ${(e as Error).message.replace(/^master /, '')}`);
  }
}
