/**
 * Reading AES-128 playlists as a player does (RFC 8216 §4.3.2.4, §5.2), independently of the
 * uploader's code: which key and IV each listed segment was encrypted with, and decryption.
 */
import { createDecipheriv } from 'node:crypto';

export interface KeyedSegment {
  uri: string;
  /** Its media sequence number. */
  sequence: number;
  /** The URI of the EXT-X-KEY in force, or undefined for a clear segment. */
  keyUri?: string;
  /** The IV it was encrypted with: the tag's IV, else the media sequence number (§5.2). */
  iv?: Buffer;
  /** The EXT-X-MAP in force (fMP4), and the IV the init under it was encrypted with. */
  mapUri?: string;
  mapIv?: Buffer;
}

export function keyedSegments(text: string): KeyedSegment[] {
  let sequence = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? 0);
  let key: { uri: string; iv?: Buffer } | undefined;
  let map: { uri: string; iv?: Buffer } | undefined;
  const out: KeyedSegment[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#EXT-X-KEY:')) {
      const method = /METHOD=([A-Z0-9-]+)/.exec(line)?.[1];
      const iv = /IV=0[xX]([0-9a-fA-F]{32})/.exec(line)?.[1];
      key = method === 'AES-128' ? { uri: /URI="([^"]+)"/.exec(line)![1], iv: iv === undefined ? undefined : Buffer.from(iv, 'hex') } : undefined;
    } else if (line.startsWith('#EXT-X-MAP:')) {
      map = { uri: /URI="([^"]+)"/.exec(line)![1], iv: key?.iv };
    } else if (line !== '' && !line.startsWith('#')) {
      out.push({
        uri: line,
        sequence,
        ...(key ? { keyUri: key.uri, iv: key.iv ?? sequenceIv(sequence) } : {}),
        ...(map ? { mapUri: map.uri, mapIv: map.iv } : {}),
      });
      sequence += 1;
    }
  }
  return out;
}

/** The media sequence number as a 128-bit big-endian IV. */
export function sequenceIv(sequence: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(sequence), 8);
  return iv;
}

/** AES-128-CBC, PKCS#7: throws on a wrong key (bad padding) most of the time; compare the result to be sure. */
export function decrypt(bytes: Buffer, key: Buffer, iv: Buffer): Buffer {
  const d = createDecipheriv('aes-128-cbc', key, iv);
  return Buffer.concat([d.update(bytes), d.final()]);
}

/** The `EXT-X-KEY` lines of a playlist, in order. */
export function keyLines(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('#EXT-X-KEY:'));
}
