/**
 * A transfer target that only reads segments inside the allowed directories and only writes
 * allowed keys, whatever its caller asks — the read-time half of the message policy.
 *
 * The message-time check answers the peer; this one is what actually guards the bytes: each
 * segment is opened once here (see AllowedPaths.open) and the wrapped target reads that opened
 * file, so a file swapped for a symbolic link after the message was accepted is never read.
 * A refusal is a PermanentTransferError: nothing is uploaded, the segment is left out of the
 * playlist and the uploader says so; other streams are unaffected.
 *
 * Wrap leaf targets, not a mirror: the opened file is closed when `putSegment` settles, and a
 * mirror member that lags behind reads its segment after the mirror's `putSegment` has settled.
 */
import { ProtocolError } from '@hlsrelay/protocol';
import type { AllowedKeys } from '../../access/allowed-keys';
import type { AllowedPaths } from '../../access/allowed-paths';
import { PermanentTransferError, type KeyUpload, type PlaylistUpload, type SegmentUpload, type TransferTarget } from '../transfer-target';

export class ConfinedTarget implements TransferTarget {
  readonly name: string;
  readonly #inner: TransferTarget;
  readonly #paths: AllowedPaths;
  readonly #keys: AllowedKeys;

  constructor(inner: TransferTarget, paths: AllowedPaths, keys: AllowedKeys) {
    this.#inner = inner;
    this.#paths = paths;
    this.#keys = keys;
    this.name = inner.name;
  }

  async putSegment(upload: SegmentUpload): Promise<void> {
    this.#checkKey(upload.bucket, upload.key);
    // Bytes in memory were read past this same check where they were made (segment-encryption.ts).
    if (upload.body) return this.#inner.putSegment(upload);
    const segment = await this.#paths.open(upload.file);
    try {
      await this.#inner.putSegment({ ...upload, file: segment.readPath, opened: { handle: segment.handle, size: segment.size } });
    } finally {
      await segment.close();
    }
  }

  // async: a refusal is a rejected promise, as the TransferTarget contract says, never a throw.
  async putPlaylist(upload: PlaylistUpload): Promise<void> {
    this.#checkKey(upload.bucket, upload.key);
    return this.#inner.putPlaylist(upload);
  }

  async putKey(upload: KeyUpload): Promise<void> {
    this.#checkKey(upload.bucket, upload.key);
    if (!this.#inner.putKey) throw new PermanentTransferError(`${this.name} cannot store content keys`);
    return this.#inner.putKey(upload);
  }

  async get(bucket: string, key: string): Promise<string | undefined> {
    this.#checkKey(bucket, key);
    return this.#inner.get?.(bucket, key);
  }

  async delete(bucket: string, key: string): Promise<void> {
    this.#checkKey(bucket, key);
    return this.#inner.delete(bucket, key);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  #checkKey(bucket: string, key: string): void {
    try {
      this.#keys.checkKey(bucket, key);
    } catch (err) {
      if (err instanceof ProtocolError) throw new PermanentTransferError(err.message);
      throw err;
    }
  }
}
