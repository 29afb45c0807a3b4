/**
 * A TransferTarget that reports every attempt — kind, outcome, bytes — to an observer, around
 * any other target. main.ts wraps each `--target` in one (inside a mirror, so every mirror is
 * counted on its own); the target itself and the queue stay free of metrics code.
 */
import { stat } from 'node:fs/promises';
import { PermanentTransferError, type KeyUpload, type PlaylistUpload, type SegmentUpload, type TransferTarget } from '../transfer-target';

export type TransferKind = 'segment' | 'playlist' | 'key' | 'delete';

export interface TransferAttempt {
  target: string;
  kind: TransferKind;
  /** `retried`: failed, and the upload queue tries again; `refused`: failed for good. */
  outcome: 'stored' | 'retried' | 'refused';
  /** Bytes stored (0 unless stored). */
  bytes: number;
  /** How long the attempt took, seconds. */
  seconds: number;
}

export interface TransferObserver {
  transferAttempted(attempt: TransferAttempt): void;
}

export class MeteredTarget implements TransferTarget {
  readonly name: string;
  readonly #inner: TransferTarget;
  readonly #observer: TransferObserver;
  /** Milliseconds; only differences are used. */
  readonly #clock: () => number;

  constructor(inner: TransferTarget, observer: TransferObserver, clock: () => number = () => performance.now()) {
    this.#inner = inner;
    this.#observer = observer;
    this.#clock = clock;
    this.name = inner.name;
  }

  async putSegment(upload: SegmentUpload): Promise<void> {
    // Sized alongside the upload, while the file surely exists (local clean-up may follow it).
    const size = upload.body ? Promise.resolve(upload.body.length) : stat(upload.file).then((s) => s.size, () => 0);
    const seconds = await this.#attempt('segment', () => this.#inner.putSegment(upload));
    const bytes = await size;
    this.#observer.transferAttempted({ target: this.name, kind: 'segment', outcome: 'stored', bytes, seconds });
  }

  async putPlaylist(upload: PlaylistUpload): Promise<void> {
    const seconds = await this.#attempt('playlist', () => this.#inner.putPlaylist(upload));
    this.#observer.transferAttempted({ target: this.name, kind: 'playlist', outcome: 'stored', bytes: Buffer.byteLength(upload.text), seconds });
  }

  /** A content key: one small PUT per key, counted as a playlist-sized transfer of its 16 bytes. */
  async putKey(upload: KeyUpload): Promise<void> {
    const inner = this.#inner;
    if (!inner.putKey) throw new PermanentTransferError(`${this.name} cannot store content keys`);
    const seconds = await this.#attempt('key', () => inner.putKey!(upload));
    this.#observer.transferAttempted({ target: this.name, kind: 'key', outcome: 'stored', bytes: upload.bytes.length, seconds });
  }

  /** A read-back at recovery: once per stream and start, not metered. */
  async get(bucket: string, key: string): Promise<string | undefined> {
    return this.#inner.get?.(bucket, key);
  }

  async delete(bucket: string, key: string): Promise<void> {
    const seconds = await this.#attempt('delete', () => this.#inner.delete(bucket, key));
    this.#observer.transferAttempted({ target: this.name, kind: 'delete', outcome: 'stored', bytes: 0, seconds });
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  /** Runs one attempt; resolves with its duration in seconds, or reports the failure and throws. */
  async #attempt(kind: TransferKind, op: () => Promise<void>): Promise<number> {
    const started = this.#clock();
    try {
      await op();
      return (this.#clock() - started) / 1000;
    } catch (err) {
      const outcome = err instanceof PermanentTransferError ? 'refused' : 'retried';
      this.#observer.transferAttempted({ target: this.name, kind, outcome, bytes: 0, seconds: (this.#clock() - started) / 1000 });
      throw err;
    }
  }
}
