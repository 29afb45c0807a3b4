/**
 * Whole-segment AES-128 (RFC 8216 §5.2, §4.3.2.4): AES-128-CBC with PKCS#7 padding over the
 * whole file, done by node:crypto from the local segment (or the spooled `--ship-bytes` copy).
 * The clear segment is never changed. A segment up to WHOLE_SEGMENT_BYTES is read once into a
 * pooled buffer and encrypted in place, which the target stores as it is (no ciphertext
 * file: no write, read and unlink per segment); a larger one is streamed into a ciphertext file
 * of the uploader's own work directory, which is what the targets then store. Memory stays
 * bounded either way: in memory, a segment is encrypted in its upload's concurrency slot.
 */
import { createCipheriv, randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { sequenceIvAttribute } from '../playlist/segment-keys';
import type { BufferPool } from '../targets/buffer-pool';
import { readFully } from '../targets/segment-source';
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

/** An opened segment: its handle, its size, and how to let go of it (AllowedPaths.open gives one). */
export interface OpenedSource {
  handle: FileHandle;
  size: number;
  close(): Promise<void>;
}

/**
 * Opens a segment to encrypt. The uploader's is its policy's read-time check (AllowedPaths.open:
 * O_NOFOLLOW, inside an allowed root, the inode that was checked) — the same check a clear segment
 * passes in ConfinedTarget, so a file swapped after the message was accepted is never encrypted
 * and published either. Without a policy (tests, benchmarks) the file is opened as it is.
 */
export type SourceOpener = (file: string) => Promise<OpenedSource>;

export const openSource: SourceOpener = async (file) => {
  const handle = await open(file, 'r');
  const { size } = await handle.stat().catch(async (err: unknown) => {
    await handle.close();
    throw err;
  });
  return { handle, size, close: () => handle.close() };
};

/** Up to this size a segment is encrypted in memory (as the S3 target reads it whole); above, streamed. */
export const WHOLE_SEGMENT_BYTES = 16 * 1024 * 1024;

/** The ciphertext's size: PKCS#7 always pads, by 1 to 16 bytes, to a whole 16-byte block. */
export function paddedSize(clearSize: number): number {
  return clearSize - (clearSize % 16) + 16;
}

/** A segment's ciphertext in memory: `body` is what to store; `release` gives its buffer back once nothing reads it. */
export interface EncryptedBytes {
  body: Buffer;
  release(): void;
}

/**
 * Encrypts `source` in memory, into a buffer of `buffers`; undefined when it is larger than
 * WHOLE_SEGMENT_BYTES (then encryptFile streams it). CBC with the same key and IV is
 * deterministic: a retried upload may encrypt again and stores the same bytes.
 */
export async function encryptToMemory(source: string, key: Buffer, iv: Buffer, buffers: BufferPool, openSegment: SourceOpener = openSource): Promise<EncryptedBytes | undefined> {
  const opened = await openChecked(source, openSegment);
  let buffer: Buffer | undefined;
  try {
    if (opened.size > WHOLE_SEGMENT_BYTES) return undefined;
    // Room for the padding: the ciphertext goes back into the buffer the clear bytes came in.
    buffer = buffers.acquire(paddedSize(opened.size));
    await readFully(opened.handle, buffer, opened.size, source);
  } catch (err) {
    if (buffer) buffers.release(buffer);
    throw err;
  } finally {
    await opened.close();
  }
  const cipher = createCipheriv(CIPHER, key, iv);
  // node:crypto cannot encrypt into a given buffer: update() returns a new one (it has read all
  // of its input by then), copied at once over the clear bytes and dropped, so no segment-sized
  // buffer outlives this call (held across an upload, they made garbage collection the biggest
  // cost of encrypting) and one pooled buffer per segment in flight is enough. Feeding the cipher
  // in pieces saves nothing: each piece is a new buffer too, and more calls (the bench shows it).
  let length = cipher.update(buffer.subarray(0, opened.size)).copy(buffer, 0);
  length += cipher.final().copy(buffer, length);
  const body = buffer;
  return { body: body.subarray(0, length), release: () => buffers.release(body) };
}

/**
 * Encrypts `source` into a new file of `workDir`; resolves with its path. A source that cannot
 * be read, or that the policy refuses, will not become readable by retrying:
 * PermanentTransferError, so the segment is left out.
 */
export async function encryptFile(source: string, workDir: string, key: Buffer, iv: Buffer, openSegment: SourceOpener = openSource): Promise<string> {
  const out = path.join(workDir, `${randomUUID()}.enc`);
  const opened = await openChecked(source, openSegment);
  try {
    await pipeline(opened.handle.createReadStream({ start: 0, autoClose: false }), createCipheriv(CIPHER, key, iv), createWriteStream(out, { mode: 0o600 }));
  } catch (err) {
    rmSync(out, { force: true });
    throw err;
  } finally {
    await opened.close();
  }
  return out;
}

/** Opens `source` with the policy's check; what retrying cannot fix is a PermanentTransferError. */
async function openChecked(source: string, openSegment: SourceOpener): Promise<OpenedSource> {
  return openSegment(source).catch((err: NodeJS.ErrnoException) => {
    if (err instanceof PermanentTransferError) throw err;
    if (err.code === 'ENOENT' || err.code === 'EACCES' || err.code === 'EISDIR') throw new PermanentTransferError(`cannot read ${source} to encrypt it: ${err.code}`);
    throw err;
  });
}
