/**
 * The index message: what a segmenter tells the uploader after each segment.
 *
 * The first ten fields are the 2009 wire format, in order, joined by ", "
 * (the C segmenter's `"%s, %s, %d, %s, %s, %d, %d, %d, %s, %s"`), so old segmenters and old
 * uploaders keep interoperating. Everything the original lacked travels after the tenth field
 * as `name=value`; an uploader that knows ten fields ignores them.
 */

/** Facts about one segment and its stream that the original ten fields could not carry. */
export interface SegmentExtensions {
  /** Real duration of the segment in seconds (PTS distance), ms precision. Wire name `duration`. */
  duration?: number;
  /** Wall-clock time of the segment's first frame. Wire name `pdt` (ISO 8601, ms, zone). */
  programDateTime?: Date;
  /**
   * Presentation timestamp (MPEG-TS PTS: 90 kHz, 33 bits) of the segment's first keyframe (or audio
   * PES), on the encoder's timeline. The uploader maps it to wall time with one anchor per master
   * playlist, so every variant gives the same instant the same EXT-X-PROGRAM-DATE-TIME. Wire name `pts`.
   */
  pts?: number;
  /** The segment follows a break in timestamps or encoder. Wire name `discontinuity` (`1`/`0`). */
  discontinuity?: boolean;
  /** Size of the segment file in bytes. Wire name `size`. */
  size?: number;
  /** RFC 6381 codecs of the stream, e.g. `avc1.64001f,mp4a.40.2`. Wire name `codecs`. */
  codecs?: string;
  /** Video resolution `WIDTHxHEIGHT`. Wire name `resolution`. */
  resolution?: string;
  /** Video frame rate in frames per second. Wire name `frame_rate`. */
  frameRate?: number;
  /**
   * Name of the master (multivariant) playlist this rendition belongs to, stored as
   * `<key prefix>/<master>` beside the rendition's own playlist. Wire name `master`.
   */
  master?: string;
  /**
   * Container of the segment files: `fmp4` for fragmented-MP4 (`<prefix>-%05u.m4s` plus an init
   * section), absent for MPEG-TS (`.ts`, the 2009 format). Wire name `format`.
   */
  format?: SegmentFormat;
  /**
   * File name (beside the segment, one path segment) of the fMP4 init section this segment needs:
   * `<prefix>-init.mp4`, then `<prefix>-init-2.mp4` … after each codec change. Wire name `init`.
   */
  init?: string;
  /**
   * The segmenter asks for its segments to be stored encrypted (`segmenter --encrypt aes-128`):
   * an uploader with `--encrypt aes-128 --encrypt-streams requested` encrypts only such streams;
   * one without `--encrypt` refuses the message rather than store it clear. Wire name `encrypt`.
   */
  encrypt?: SegmentEncryption;
  /** Extension fields this version does not know, kept so they can be relayed or logged. */
  unknown?: Record<string, string>;
}

/** `ts`: MPEG-TS segments (the default); `fmp4`: fragmented-MP4 (CMAF) segments with an init section. */
export type SegmentFormat = 'ts' | 'fmp4';
/** Whole-segment AES-128 (RFC 8216 §4.3.2.4), the one method segments can ask for. */
export type SegmentEncryption = 'aes-128';
export const SEGMENT_ENCRYPTIONS: readonly SegmentEncryption[] = ['aes-128'];
export const SEGMENT_FORMATS: readonly SegmentFormat[] = ['ts', 'fmp4'];

export interface IndexMessage {
  /** Name of the media playlist, e.g. `stream-128k.m3u8`. */
  index: string;
  /** Directory on the segmenter's machine that holds the segment files. */
  outputDirectory: string;
  /** Target segment duration in whole seconds (the segmenter's command-line value). */
  segmentDuration: number;
  /** Segment file prefix: files are `<prefix>-%05u.ts`. */
  outputPrefix: string;
  /** URL prefix players fetch segments from (the CDN or bucket URL, ending in `/`). */
  httpPrefix: string;
  /** First segment number of this segmenter run. */
  firstSegment: number;
  /** The segment this message announces. */
  lastSegment: number;
  /** True on the last message of a stream: the playlist gets `EXT-X-ENDLIST`. */
  end: boolean;
  bucketName: string;
  keyPrefix: string;
  ext: SegmentExtensions;
}

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

const ORIGINAL_FIELDS = [
  'index',
  'output_directory',
  'segment_duration',
  'output_prefix',
  'http_prefix',
  'first_segment',
  'last_segment',
  'end',
  'bucket_name',
  'key_prefix',
] as const;

// The original field separator (the Ruby uploader split on a comma and any spaces after it).
const SEPARATOR = ', ';
const EXTENSION_NAME = /^[a-z][a-z0-9_]*$/;

/**
 * Extension values are percent-encoded for the characters that could break the line:
 * `%` itself, `,` (field separator), `=` (name/value), CR, LF, and every whitespace character
 * (the original parser trims around separators; Unicode spaces such as U+00A0 and U+2028 are
 * whitespace to it too). Each is written as the percent-encoded bytes of its UTF-8 form
 * (U+00A0 → `%C2%A0`), which is exactly what `decodeValue` reads back.
 */
export function encodeValue(value: string): string {
  return value.replace(/[%,=\r\n\s]/g, encodeURIComponent);
}

export function decodeValue(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new ProtocolError(`bad percent-encoding in value "${value}"`);
  }
}

/** Renders a message without a line terminator (framing adds it where the connection wants one). */
export function formatMessage(m: IndexMessage): string {
  const textFields: Array<[string, string]> = [
    ['index', m.index],
    ['output_directory', m.outputDirectory],
    ['output_prefix', m.outputPrefix],
    ['http_prefix', m.httpPrefix],
    ['bucket_name', m.bucketName],
    ['key_prefix', m.keyPrefix],
  ];
  for (const [name, value] of textFields) {
    // The ten original fields have no escaping: old uploaders split on commas.
    if (/[,\r\n]/.test(value) || value !== value.trim()) {
      throw new ProtocolError(`${name} "${value}" cannot travel in the index message: no commas, line breaks or surrounding spaces`);
    }
  }
  for (const [name, value] of [
    ['segment_duration', m.segmentDuration],
    ['first_segment', m.firstSegment],
    ['last_segment', m.lastSegment],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new ProtocolError(`${name} must be a whole number ≥ 0, got ${value}`);
    }
  }
  const fields = [
    m.index,
    m.outputDirectory,
    String(m.segmentDuration),
    m.outputPrefix,
    m.httpPrefix,
    String(m.firstSegment),
    String(m.lastSegment),
    m.end ? '1' : '0',
    m.bucketName,
    m.keyPrefix,
  ];
  for (const [name, value] of extensionEntries(m.ext)) {
    fields.push(`${name}=${encodeValue(value)}`);
  }
  return fields.join(SEPARATOR);
}

function extensionEntries(ext: SegmentExtensions): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (ext.duration !== undefined) out.push(['duration', ext.duration.toFixed(3)]);
  if (ext.programDateTime !== undefined) out.push(['pdt', ext.programDateTime.toISOString()]);
  if (ext.pts !== undefined) out.push(['pts', String(checkPts(ext.pts))]);
  if (ext.discontinuity) out.push(['discontinuity', '1']);
  if (ext.size !== undefined) out.push(['size', String(ext.size)]);
  if (ext.codecs !== undefined) out.push(['codecs', ext.codecs]);
  if (ext.resolution !== undefined) out.push(['resolution', ext.resolution]);
  if (ext.frameRate !== undefined) out.push(['frame_rate', String(Math.round(ext.frameRate * 1000) / 1000)]);
  if (ext.master !== undefined) out.push(['master', checkMasterName(ext.master)]);
  // `format=ts` is never written: a TS message stays byte-identical to what older segmenters sent.
  if (ext.format !== undefined && ext.format !== 'ts') out.push(['format', checkFormat(ext.format)]);
  if (ext.init !== undefined) out.push(['init', checkInitName(ext.init)]);
  if (ext.encrypt !== undefined) out.push(['encrypt', checkEncryption(ext.encrypt)]);
  for (const [name, value] of Object.entries(ext.unknown ?? {})) {
    if (!EXTENSION_NAME.test(name)) throw new ProtocolError(`extension name "${name}" must match ${EXTENSION_NAME}`);
    out.push([name, value]);
  }
  return out;
}

/**
 * Parses one message (no line terminator). Accepts exactly what the original C segmenter
 * sent, and the same with extension fields. Throws ProtocolError naming the field and value.
 */
export function parseMessage(line: string): IndexMessage {
  const parts = line.replace(/\r?\n$/, '').split(',').map((p) => p.trim());
  if (parts.length < ORIGINAL_FIELDS.length) {
    throw new ProtocolError(`expected at least ${ORIGINAL_FIELDS.length} comma-separated fields, got ${parts.length}`);
  }
  const [index, outputDirectory, duration, outputPrefix, httpPrefix, first, last, end, bucketName, keyPrefix] = parts;
  const message: IndexMessage = {
    index: required('index', index),
    outputDirectory: required('output_directory', outputDirectory),
    segmentDuration: wholeNumber('segment_duration', duration),
    outputPrefix: required('output_prefix', outputPrefix),
    httpPrefix,
    firstSegment: wholeNumber('first_segment', first),
    lastSegment: wholeNumber('last_segment', last),
    end: flag('end', end),
    bucketName: required('bucket_name', bucketName),
    keyPrefix,
    ext: {},
  };
  for (const field of parts.slice(ORIGINAL_FIELDS.length)) {
    const eq = field.indexOf('=');
    if (eq <= 0) throw new ProtocolError(`extension field "${field}" is not name=value`);
    const name = field.slice(0, eq);
    if (!EXTENSION_NAME.test(name)) throw new ProtocolError(`extension name "${name}" must match ${EXTENSION_NAME}`);
    applyExtension(message.ext, name, decodeValue(field.slice(eq + 1)));
  }
  return message;
}

function applyExtension(ext: SegmentExtensions, name: string, value: string): void {
  switch (name) {
    case 'duration': {
      const d = Number(value);
      if (value === '' || !Number.isFinite(d) || d < 0) throw new ProtocolError(`duration must be seconds ≥ 0, got "${value}"`);
      ext.duration = d;
      return;
    }
    case 'pdt': {
      const t = new Date(value);
      if (!/^\d{4}-\d\d-\d\dT/.test(value) || Number.isNaN(t.getTime())) {
        throw new ProtocolError(`pdt must be an ISO 8601 date-time, got "${value}"`);
      }
      ext.programDateTime = t;
      return;
    }
    case 'pts':
      if (!/^\d{1,10}$/.test(value)) throw new ProtocolError(`pts must be a whole number of 90 kHz ticks below 2^33, got "${value}"`);
      ext.pts = checkPts(Number(value));
      return;
    case 'discontinuity':
      ext.discontinuity = flag('discontinuity', value);
      return;
    case 'size':
      ext.size = wholeNumber('size', value);
      return;
    case 'codecs':
      if (!/^[A-Za-z0-9.]+(,[A-Za-z0-9.]+)*$/.test(value)) throw new ProtocolError(`codecs must be an RFC 6381 list, got "${value}"`);
      ext.codecs = value;
      return;
    case 'resolution':
      if (!/^\d+x\d+$/.test(value)) throw new ProtocolError(`resolution must be WIDTHxHEIGHT, got "${value}"`);
      ext.resolution = value;
      return;
    case 'frame_rate': {
      const f = Number(value);
      if (value === '' || !Number.isFinite(f) || f <= 0) throw new ProtocolError(`frame_rate must be > 0, got "${value}"`);
      ext.frameRate = f;
      return;
    }
    case 'master':
      ext.master = checkMasterName(value);
      return;
    case 'format':
      ext.format = checkFormat(value);
      return;
    case 'init':
      ext.init = checkInitName(value);
      return;
    case 'encrypt':
      ext.encrypt = checkEncryption(value);
      return;
    default:
      ext.unknown = { ...ext.unknown, [name]: value };
  }
}

/** PTS values wrap at 2^33 ticks of 90 kHz (ISO/IEC 13818-1 §2.4.3.7): about 26.5 hours. */
export const PTS_MODULUS = 2 ** 33;

function checkPts(value: number): number {
  if (!Number.isSafeInteger(value) || value < 0 || value >= PTS_MODULUS) {
    throw new ProtocolError(`pts must be a whole number of 90 kHz ticks below 2^33, got ${value}`);
  }
  return value;
}

const MASTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** A master playlist name is one path segment: it lives beside the renditions' playlists. */
export function checkMasterName(value: string): string {
  if (!MASTER_NAME.test(value) || value.includes('..')) {
    throw new ProtocolError(`master must be a file name of letters, digits, ".", "_" and "-" (no "/"), got "${value}"`);
  }
  return value;
}

function checkEncryption(value: string): SegmentEncryption {
  if (!(SEGMENT_ENCRYPTIONS as readonly string[]).includes(value)) throw new ProtocolError(`encrypt must be one of ${SEGMENT_ENCRYPTIONS.join(', ')}, got "${value}"`);
  return value as SegmentEncryption;
}

function checkFormat(value: string): SegmentFormat {
  if (!(SEGMENT_FORMATS as readonly string[]).includes(value)) throw new ProtocolError(`format must be one of ${SEGMENT_FORMATS.join(', ')}, got "${value}"`);
  return value as SegmentFormat;
}

const INIT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}\.mp4$/;

/** An init file lives beside its segments: one path segment ending in `.mp4`. */
export function checkInitName(value: string): string {
  if (!INIT_NAME.test(value) || value.includes('..')) {
    throw new ProtocolError(`init must be a file name of letters, digits, ".", "_" and "-" ending in .mp4 (no "/"), got "${value}"`);
  }
  return value;
}

function required(name: string, value: string): string {
  if (value === '') throw new ProtocolError(`${name} is empty`);
  return value;
}

function wholeNumber(name: string, value: string): number {
  if (!/^\d{1,15}$/.test(value)) throw new ProtocolError(`${name} must be a whole number, got "${value}"`);
  return Number(value);
}

function flag(name: string, value: string): boolean {
  if (value !== '0' && value !== '1') throw new ProtocolError(`${name} must be 0 or 1, got "${value}"`);
  return value === '1';
}

/**
 * The 2009 segmenter's start-up message: `last_segment` 0 announces no segment (s3server.rb
 * skipped it with `if last_segment.to_i > 0`), so segment numbers on this wire start at 1.
 */
export function isStartupMessage(m: Pick<IndexMessage, 'lastSegment'>): boolean {
  return m.lastSegment === 0;
}
