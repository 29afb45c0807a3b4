/**
 * Where a message's segment lies and what its stream is called: the knowledge both daemons share
 * about names, in one place, so a log line of either daemon and a file on either side agree.
 */
import path from 'node:path';
import { ProtocolError, type SegmentFormat } from './index-message';

/** File name extension of each format's media segments (RFC 8216 §3.2, §3.3). */
export const SEGMENT_EXTENSIONS: Record<SegmentFormat, string> = { ts: '.ts', fmp4: '.m4s' };

/** `<prefix>-%05u.ts` (or `.m4s` for fMP4), the segment file name both daemons agree on. */
export function segmentFileName(outputPrefix: string, segment: number, format: SegmentFormat = 'ts'): string {
  return `${outputPrefix}-${String(segment).padStart(5, '0')}${SEGMENT_EXTENSIONS[format]}`;
}

interface Announced {
  outputDirectory: string;
  outputPrefix: string;
  lastSegment: number;
  ext?: { format?: SegmentFormat; init?: string };
}

/** The segment file a message announces (its name only). */
export const messageSegmentFileName = (m: Announced): string => segmentFileName(m.outputPrefix, m.lastSegment, m.ext?.format);

/** The local segment file a message announces: `<output directory>/<prefix>-%05u.ts` (`.m4s` for fMP4). */
export function segmentFilePath(m: Announced): string {
  return path.join(m.outputDirectory, messageSegmentFileName(m));
}

/** The local fMP4 init section a message names (`init=`), beside its segment; undefined for TS. */
export function initFilePath(m: Announced): string | undefined {
  return m.ext?.init === undefined ? undefined : path.join(m.outputDirectory, m.ext.init);
}

/**
 * `<prefix>-init.mp4` for a run's first fMP4 init section, `<prefix>-init-<n>.mp4` for the n-th
 * (n ≥ 2): a codec change gets a new name, so an init that segments still need is never overwritten.
 */
export function initFileName(outputPrefix: string, n = 1): string {
  if (!Number.isSafeInteger(n) || n < 1) throw new ProtocolError(`init number must be a whole number ≥ 1, got ${n}`);
  return n === 1 ? `${outputPrefix}-init.mp4` : `${outputPrefix}-init-${n}.mp4`;
}

/**
 * `<key prefix>/<name>` as the original built it, without the leading slash an empty prefix would
 * give (S3 would store a key starting with `/`, and path-style URLs would gain a `//`), and without
 * a doubled slash when the prefix already ends with one.
 */
export function objectKey(keyPrefix: string, name: string): string {
  const prefix = keyPrefix.replace(/\/+$/, '');
  return prefix === '' ? name : `${prefix}/${name}`;
}

/**
 * The name a stream goes by in both daemons' logs and the uploader's maps:
 * `s3://<bucket>/<key prefix>/<playlist>`, e.g. `s3://mybucket/stream0001/stream-128k.m3u8`.
 */
export function streamName(s: { bucketName: string; keyPrefix: string; index: string }): string {
  return `s3://${s.bucketName}/${objectKey(s.keyPrefix, s.index)}`;
}
