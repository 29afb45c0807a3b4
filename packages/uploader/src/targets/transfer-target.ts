/**
 * Where segments and playlists go. S3 today (`s3-target.ts`); a local directory, FTP and SFTP
 * implement the same three operations later, so the queue and the playlist logic never change.
 */
import type { FileHandle } from 'node:fs/promises';

export interface SegmentUpload {
  bucket: string;
  key: string;
  /** Local path of the finished segment file. */
  file: string;
  /**
   * The same file, already opened and checked by the caller (ConfinedTarget); a target may read
   * it instead of opening `file` again. It stays open until putSegment settles.
   */
  opened?: { handle: FileHandle; size: number };
  /**
   * The bytes to store, when the uploader holds them in memory (an encrypted segment: the
   * ciphertext of `file`, read past the policy's check). A target stores these and does not read
   * `file`, which still names the segment (logs, allStored). Unchanged until putSegment settles.
   */
  body?: Buffer;
}

export interface PlaylistUpload {
  bucket: string;
  key: string;
  text: string;
  /**
   * How long caches may keep it, in seconds (at most half the target duration, RFC 8216 §6.2.2);
   * 0 means "revalidate every time".
   */
  maxAgeSeconds: number;
}

/**
 * A content key of an encrypted stream (16 bytes): stored private whatever the target's ACL
 * setting, never cached by shared caches (`Cache-Control: private, no-store`), never logged.
 */
export interface KeyUpload {
  bucket: string;
  key: string;
  bytes: Uint8Array;
}

export interface TransferTarget {
  /** For logs: `s3`, `file:///srv/hls`, … */
  readonly name: string;
  /** Stores a finished segment. Resolves only once it is fully stored and readable. */
  putSegment(upload: SegmentUpload): Promise<void>;
  /** Replaces a playlist atomically: a reader sees the old text or the new, never a mix. */
  putPlaylist(upload: PlaylistUpload): Promise<void>;
  delete(bucket: string, key: string): Promise<void>;
  /** Stores a content key (KeyUpload); targets without it cannot hold keys of encrypted streams. */
  putKey?(upload: KeyUpload): Promise<void>;
  /**
   * The stored text of an object, or undefined when there is none: how a stream the uploader does
   * not know (no journal, a lost state disk) is recovered from its stored playlist. Every target
   * the uploader ships implements it; a test double may leave it out (then nothing is recovered).
   */
  get?(bucket: string, key: string): Promise<string | undefined>;
  /**
   * For targets that answer `putSegment` before every copy exists (a mirror set answers when its
   * first member has the segment): resolves once every copy of `file` is stored or refused for
   * good. The local file must stay until then. Targets without it are done when putSegment is.
   */
  allStored?(file: string): Promise<void>;
  /**
   * The start-up check: credentials resolve, the server logs in, its root is writable. Resolves
   * with facts for the log (how playlists are replaced); throws a TargetCheckError (target-check.ts).
   */
  checkAccess?(): Promise<Record<string, string>>;
  /**
   * Whether objects can be written under `prefix` of `bucket` as configured: a probe object is
   * written and removed. Resolves with a warning worth logging, if any; throws a TargetCheckError.
   */
  checkBucket?(bucket: string, prefix: string): Promise<string | undefined>;
  /** Releases connections. */
  close(): Promise<void>;
}

/**
 * An error that retrying cannot fix for this upload (e.g. the segment file does not exist).
 * Everything else is assumed transient and retried.
 */
export class PermanentTransferError extends Error {
  override readonly name: string = 'PermanentTransferError';
}

/**
 * A transfer that kept failing until the give-up time (`--give-up-after`): treated as permanent
 * from then on, so the stream moves on without it. `lastError` is the final attempt's failure.
 */
export class GaveUpTransferError extends PermanentTransferError {
  override readonly name: string = 'GaveUpTransferError';
  readonly lastError: unknown;

  constructor(message: string, lastError: unknown) {
    super(message);
    this.lastError = lastError;
  }
}
