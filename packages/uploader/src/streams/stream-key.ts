/**
 * What names a stream: the bucket, the key prefix and the playlist (index) name of its messages.
 * Two segmenters that send the same three publish into the same playlist, so they are one stream.
 */
import { streamName, type IndexMessage } from '@hlsrelay/protocol';

export { objectKey } from '@hlsrelay/protocol';

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
  return streamName({ bucketName: key.bucket, keyPrefix: key.keyPrefix, index: key.index });
}
