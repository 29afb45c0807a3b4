/**
 * What an index message may ask of this uploader: the files it may make it read, the buckets and
 * keys it may make it write, and sane values for everything else. One check, made when a message
 * arrives, before anything is queued: a refused message is answered with ERR and leaves no trace
 * but a log line (peer and reason); other messages and other peers go on unaffected.
 *
 * The parser already holds the wire format (ten fields, whole numbers of at most 15 digits, valid
 * extensions); this adds the limits that only make sense for a live stream on this uploader.
 */
import { messageSegmentFileName, ProtocolError, type IndexMessage } from '@hlsrelay/protocol';
import { AllowedKeys, fileNameProblem } from './allowed-keys';
import type { AllowedPaths } from './allowed-paths';

/** A target duration beyond a day is no live stream (and would make caches hold playlists for hours). */
export const MAX_SEGMENT_DURATION = 86_400;
/** Segment numbers within the range a player's media sequence arithmetic handles exactly. */
export const MAX_SEGMENT_NUMBER = Number.MAX_SAFE_INTEGER;
export const MAX_HTTP_PREFIX_BYTES = 2048;
/** A segment file over 4 GiB is no HLS segment; refusing it keeps memory and uploads sane. */
export const MAX_SEGMENT_BYTES = 4 * 1024 ** 3;

const PRINTABLE = /^[^\p{Cc}\p{Cf}]*$/u;

export interface MessagePolicyOptions {
  paths: AllowedPaths;
  keys?: AllowedKeys;
}

export class MessagePolicy {
  readonly paths: AllowedPaths;
  readonly keys: AllowedKeys;

  constructor(options: MessagePolicyOptions) {
    this.paths = options.paths;
    this.keys = options.keys ?? new AllowedKeys();
  }

  /** Throws ProtocolError naming the field and the reason when the message is refused. */
  check(m: IndexMessage): void {
    for (const [field, value] of [['index', m.index], ['output_prefix', m.outputPrefix]] as const) {
      const problem = fileNameProblem(value);
      if (problem) throw new ProtocolError(`${field} "${value}" ${problem}`);
    }
    if (!PRINTABLE.test(m.httpPrefix) || Buffer.byteLength(m.httpPrefix) > MAX_HTTP_PREFIX_BYTES) {
      throw new ProtocolError(`http_prefix must be printable and at most ${MAX_HTTP_PREFIX_BYTES} bytes`);
    }
    if (!PRINTABLE.test(m.outputDirectory)) throw new ProtocolError('output_directory contains control characters');
    if (m.segmentDuration < 1 || m.segmentDuration > MAX_SEGMENT_DURATION) {
      throw new ProtocolError(`segment_duration must be 1 to ${MAX_SEGMENT_DURATION} seconds, got ${m.segmentDuration}`);
    }
    for (const [field, value] of [['first_segment', m.firstSegment], ['last_segment', m.lastSegment]] as const) {
      if (!Number.isSafeInteger(value) || value < 0 || value > MAX_SEGMENT_NUMBER) {
        throw new ProtocolError(`${field} must be a whole number 0 to ${MAX_SEGMENT_NUMBER}, got ${value}`);
      }
    }
    const { duration, size } = m.ext;
    if (duration !== undefined && duration > MAX_SEGMENT_DURATION) {
      throw new ProtocolError(`duration must be at most ${MAX_SEGMENT_DURATION} seconds, got ${duration}`);
    }
    if (size !== undefined && size > MAX_SEGMENT_BYTES) throw new ProtocolError(`size must be at most ${MAX_SEGMENT_BYTES} bytes, got ${size}`);
    this.keys.check(m.bucketName, m.keyPrefix);
    this.paths.check(m.outputDirectory, messageSegmentFileName(m));
    // fMP4 segments cannot be played without their init section: a message must name it.
    if (m.ext.format === 'fmp4' && m.ext.init === undefined) throw new ProtocolError('format=fmp4 needs init=<init section file name>');
    if (m.ext.init !== undefined) this.paths.check(m.outputDirectory, m.ext.init);
  }
}
