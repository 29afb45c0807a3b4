/**
 * What names a stream: the bucket, the key prefix and the playlist (index) name of its messages.
 * Two segmenters that send the same three publish into the same playlist, so they are one stream.
 */
import type { IndexMessage } from '@hlsrelay/protocol';

export interface StreamKey {
  bucket: string;
  keyPrefix: string;
  index: string;
}

export function streamKeyOf(message: IndexMessage): StreamKey {
  return { bucket: message.bucketName, keyPrefix: message.keyPrefix, index: message.index };
}

/** A stable id for maps and logs, e.g. `s3://mybucket/stream0001/stream-128k.m3u8`. */
export function streamId(key: StreamKey): string {
  return `s3://${key.bucket}/${objectKey(key.keyPrefix, key.index)}`;
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
