/**
 * Where a message's segment lies and what its stream is called: the knowledge both daemons share
 * about names, in one place, so a log line of either daemon and a file on either side agree.
 */
import path from 'node:path';

/** `<prefix>-%05u.ts`, the segment file name both daemons agree on. */
export function segmentFileName(outputPrefix: string, segment: number): string {
  return `${outputPrefix}-${String(segment).padStart(5, '0')}.ts`;
}

/** The local segment file a message announces: `<output directory>/<prefix>-%05u.ts`. */
export function segmentFilePath(m: { outputDirectory: string; outputPrefix: string; lastSegment: number }): string {
  return path.join(m.outputDirectory, segmentFileName(m.outputPrefix, m.lastSegment));
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
