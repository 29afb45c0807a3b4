/**
 * The `file` transfer target: a directory, typically an NFS mount or a web server's document root.
 * Objects land at `<root>/<bucket>/<key>` (see target-path.ts), so serving the root gives players
 * the same URLs as S3 path-style.
 *
 * Every object is written under a temporary name in its final directory and renamed into place:
 * rename(2) within one file system replaces the old file atomically, so a web server or an NFS
 * client reading concurrently sees the old playlist or the new one, never a half-written file.
 */
import { constants } from 'node:fs';
import { copyFile, mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { checkSegmentSource } from './segment-source';
import { fileCheckError, PROBE_NAME, probeKey } from './target-check';
import { objectPathSegments, temporaryPath } from './target-path';
import type { KeyUpload, PlaylistUpload, SegmentUpload, TransferTarget } from './transfer-target';

export interface FileTargetOptions {
  /** The directory buckets live in. Must be absolute: a daemon's working directory is no anchor. */
  root: string;
  /** Mode of stored files, so the web server user can read them whatever the umask. Default 0o644. */
  fileMode?: number;
}

export class FileTarget implements TransferTarget {
  readonly name: string;
  readonly root: string;
  readonly #fileMode: number;

  constructor(options: FileTargetOptions) {
    if (!path.isAbsolute(options.root)) {
      throw new TypeError(`file target root must be an absolute directory path, got "${options.root}"`);
    }
    this.root = path.resolve(options.root);
    this.#fileMode = options.fileMode ?? 0o644;
    this.name = `file://${this.root}`;
  }

  /** Where `key` of `bucket` is stored; throws PermanentTransferError for keys that would escape the root. */
  pathOf(bucket: string, key: string): string {
    return path.join(this.root, ...objectPathSegments(bucket, key));
  }

  async putSegment(upload: SegmentUpload): Promise<void> {
    const final = this.pathOf(upload.bucket, upload.key);
    const temp = temporaryPath(final);
    if (!upload.body) await checkSegmentSource(upload.file);
    await mkdir(path.dirname(final), { recursive: true });
    // COPYFILE_FICLONE: a reflink where the file system offers one, a plain copy otherwise.
    if (!upload.body) await copyFile(upload.file, temp, constants.COPYFILE_FICLONE);
    const handle = await open(temp, upload.body ? 'w' : 'r+', this.#fileMode);
    try {
      if (upload.body) await handle.writeFile(upload.body);
      await handle.chmod(this.#fileMode);
      // Durable before it becomes visible: a player must not fetch a segment whose blocks an NFS
      // server or a crash could still lose.
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, final);
  }

  async putPlaylist(upload: PlaylistUpload): Promise<void> {
    const final = this.pathOf(upload.bucket, upload.key);
    const temp = temporaryPath(final);
    await mkdir(path.dirname(final), { recursive: true });
    // No fsync: the playlist is rewritten every few seconds, atomicity is what readers need.
    await writeFile(temp, upload.text, { mode: this.#fileMode });
    await rename(temp, final);
  }

  /**
   * A content key: mode 0600 whatever --file-mode says, so a web server serving the root does not
   * hand it out; serve keys from a key server or a private location (README, Encryption).
   */
  async putKey(upload: KeyUpload): Promise<void> {
    const final = this.pathOf(upload.bucket, upload.key);
    const temp = temporaryPath(final);
    await mkdir(path.dirname(final), { recursive: true });
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(upload.bytes);
      await handle.chmod(0o600);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, final);
  }

  async get(bucket: string, key: string): Promise<string | undefined> {
    return readFile(this.pathOf(bucket, key), 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
  }

  async delete(bucket: string, key: string): Promise<void> {
    // `force`: deleting what is already gone succeeds, so a retried delete does not fail forever.
    await rm(this.pathOf(bucket, key), { force: true });
  }

  /** The root exists (or can be made) and takes a file written and renamed the way playlists are. */
  async checkAccess(): Promise<Record<string, string>> {
    const probe = path.join(this.root, PROBE_NAME);
    try {
      await mkdir(this.root, { recursive: true });
      await writeFile(temporaryPath(probe), 'hlsrelay write check\n', { mode: this.#fileMode });
      await rename(temporaryPath(probe), probe);
      await rm(probe, { force: true });
    } catch (err) {
      throw fileCheckError(this.name, 'writing a file in the root', err, { key: probe });
    }
    return { playlists: 'rename over the old file (rename(2), atomic)', fileMode: this.#fileMode.toString(8).padStart(4, '0') };
  }

  async checkBucket(bucket: string, prefix: string): Promise<string | undefined> {
    const key = probeKey(prefix);
    try {
      await this.putPlaylist({ bucket, key, text: 'hlsrelay write check\n', maxAgeSeconds: 0 });
      await this.delete(bucket, key);
    } catch (err) {
      throw fileCheckError(this.name, 'writing a file', err, { bucket, key });
    }
    return undefined;
  }

  async close(): Promise<void> {
    // Nothing held open between calls.
  }
}
