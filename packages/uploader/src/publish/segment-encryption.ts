/**
 * Whole-segment AES-128 (RFC 8216 §5.2, §4.3.2.4): AES-128-CBC with PKCS#7 padding over the
 * whole file, done by node:crypto as the bytes stream from the local segment (or the spooled
 * `--ship-bytes` copy) into a ciphertext file of the uploader's own work directory, which is
 * what the targets then store. Memory stays bounded by the stream buffers; the clear segment
 * on the transcode machine is never changed.
 */
import { createCipheriv, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { sequenceIvAttribute } from '../playlist/segment-keys';
import { PermanentTransferError } from '../targets/transfer-target';

export const CIPHER = 'aes-128-cbc';

/** The IV of a segment without an explicit one: its media sequence number as a 128-bit big-endian integer (RFC 8216 §5.2). */
export function sequenceIv(mediaSequence: number): Buffer {
  if (!Number.isSafeInteger(mediaSequence) || mediaSequence < 0) throw new RangeError(`media sequence must be a whole number ≥ 0, got ${mediaSequence}`);
  return Buffer.from(sequenceIvAttribute(mediaSequence).slice(2), 'hex');
}

/** `0x` and 32 hex digits, as EXT-X-KEY's IV attribute is written. */
export function ivAttribute(iv: Buffer): string {
  return `0x${iv.toString('hex')}`;
}

/** The uploader's folder for ciphertext waiting to be stored: under the state directory, one of the folders targets may read. */
export function encryptionWorkDir(stateDir: string): string {
  return path.join(stateDir, 'encrypting');
}

/** Creates the work directory, emptied of what a stopped or killed run left (each file is made again from its segment). */
export function createEncryptionWorkDir(stateDir: string): string {
  const dir = encryptionWorkDir(stateDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const name of readdirSync(dir)) rmSync(path.join(dir, name), { force: true });
  return dir;
}

/**
 * Encrypts `source` into a new file of `workDir`; resolves with its path. A source that cannot
 * be read will not appear by retrying: PermanentTransferError, so the segment is left out.
 */
export async function encryptFile(source: string, workDir: string, key: Buffer, iv: Buffer): Promise<string> {
  const out = path.join(workDir, `${randomUUID()}.enc`);
  const input = createReadStream(source);
  const opened = new Promise<void>((resolve, reject) => {
    input.once('open', () => resolve());
    input.once('error', reject);
  });
  try {
    await Promise.all([opened, pipeline(input, createCipheriv(CIPHER, key, iv), createWriteStream(out, { mode: 0o600 }))]);
  } catch (err) {
    rmSync(out, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') throw new PermanentTransferError(`cannot read ${source} to encrypt it: ${code}`);
    throw err;
  }
  return out;
}
