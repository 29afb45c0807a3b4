/**
 * A transfer target on a remote file server (FTP, FTPS, SFTP): objects land at
 * `<root>/<bucket>/<key>` as on every file-like target, over a few logged-in connections reused
 * for all streams (connection-pool.ts). What differs between protocols is behind a
 * RemoteAdapter: how to log in, make a directory, write, remove and rename.
 *
 * Playlists are written under a temporary name and renamed over the old one, so a player never
 * reads a half-written playlist: with the adapter's atomic replace where it has one, else a plain
 * rename; a server that refuses to rename onto an existing file gets delete-then-rename, which
 * leaves a moment with no playlist and is logged once as a warning.
 */
import { posix } from 'node:path';
import type { Logger } from '@hlsrelay/log';
import { checkSegmentSource } from '../segment-source';
import { fileCheckError, PROBE_NAME, probeKey } from '../target-check';
import { remoteObjectPath, temporaryPath } from '../target-path';
import type { PlaylistUpload, SegmentUpload, TransferTarget } from '../transfer-target';
import { ConnectionPool } from './connection-pool';

/** rw-r--r--: the web server may read, no other local user may rewrite the stream. */
export const DEFAULT_FILE_MODE = 0o644;

/** `0644`, as chmod and ls users write modes. */
export function modeText(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

/** One protocol's commands on a logged-in connection `C`. */
export interface RemoteAdapter<C> {
  /** For logs: `ftp://user@host:port/root`, never a secret. */
  readonly name: string;
  /** Logs in; `root` is the absolute root directory, resolved against the login directory. */
  open(): Promise<{ connection: C; root: string }>;
  close(c: C): Promise<void>;
  alive(c: C): boolean;
  /** True when `err` means the connection is gone (not a refusal the server answered with). */
  broken(err: unknown): boolean;
  /** True when the server answered a rename with a refusal (as it does onto an existing file on some servers). */
  refusedRename(err: unknown): boolean;
  ensureDir(c: C, dir: string): Promise<void>;
  writeFile(c: C, localFile: string, remote: string): Promise<void>;
  writeText(c: C, text: string, remote: string): Promise<void>;
  /** Bytes held in memory (SegmentUpload.body). */
  writeBytes(c: C, bytes: Buffer, remote: string): Promise<void>;
  /** The text of `remote`, or undefined when there is no such file. */
  readText(c: C, remote: string): Promise<string | undefined>;
  /** Removes `remote`; a missing file is no error (a retried delete must end). */
  remove(c: C, remote: string): Promise<void>;
  rename(c: C, from: string, to: string): Promise<void>;
  /** Renames replacing `to` atomically, where this connection's server offers it; false when it does not. */
  atomicReplace?(c: C, from: string, to: string): Promise<boolean>;
  /** Facts for the start-up log line (e.g. the file mode and how it is set). */
  facts?(): Record<string, string>;
}

export interface RemoteFileTargetOptions<C> {
  adapter: RemoteAdapter<C>;
  /** Logged-in connections at most. */
  connections: number;
  logger: Logger;
  /** What the once-only warning says when the server cannot replace a playlist atomically. */
  noReplaceWarning: string;
}

export class RemoteFileTarget<C> implements TransferTarget {
  readonly name: string;
  readonly #adapter: RemoteAdapter<C>;
  readonly #logger: Logger;
  readonly #noReplaceWarning: string;
  readonly #pool: ConnectionPool<C>;
  /** Root as an absolute path, known after the first login. */
  #root: string | undefined;
  /** Directories created or seen, so each segment does not cost a walk of directory commands. */
  readonly #knownDirs = new Set<string>();
  /** False once the server was seen refusing to rename onto an existing file. */
  #renameReplaces = true;
  /** How the last playlist replaced the old one (REPLACE_PATHS), logged when it first is known or changes. */
  #replacePath: string | undefined;

  constructor(options: RemoteFileTargetOptions<C>) {
    const adapter = options.adapter;
    this.#adapter = adapter;
    this.name = adapter.name;
    this.#logger = options.logger;
    this.#noReplaceWarning = options.noReplaceWarning;
    this.#pool = new ConnectionPool<C>({
      size: options.connections,
      open: async () => {
        const { connection, root } = await adapter.open();
        this.#root ??= root;
        return connection;
      },
      close: (c) => adapter.close(c),
      alive: (c) => adapter.alive(c),
      broken: (err) => adapter.broken(err),
    });
  }

  /** Logins performed so far (a reused connection does not log in again). */
  get logins(): number {
    return this.#pool.opened;
  }

  async putSegment(upload: SegmentUpload): Promise<void> {
    const body = upload.body;
    if (!body) await checkSegmentSource(upload.file);
    await this.#pool.use(async (c) => {
      const final = remoteObjectPath(this.#root!, upload.bucket, upload.key);
      await this.#withDir(c, posix.dirname(final), () => (body ? this.#adapter.writeBytes(c, body, final) : this.#adapter.writeFile(c, upload.file, final)));
    });
  }

  async putPlaylist(upload: PlaylistUpload): Promise<void> {
    await this.#pool.use(async (c) => {
      const final = remoteObjectPath(this.#root!, upload.bucket, upload.key);
      const temp = temporaryPath(final);
      await this.#withDir(c, posix.dirname(final), () => this.#adapter.writeText(c, upload.text, temp));
      await this.#replace(c, temp, final);
    });
  }

  async get(bucket: string, key: string): Promise<string | undefined> {
    return this.#pool.use((c) => this.#adapter.readText(c, remoteObjectPath(this.#root!, bucket, key)));
  }

  async delete(bucket: string, key: string): Promise<void> {
    await this.#pool.use((c) => this.#adapter.remove(c, remoteObjectPath(this.#root!, bucket, key)));
  }

  /**
   * Logs in, makes the root, and writes a probe file, then replaces it the way playlists are
   * replaced — so the log says at start which rename path this server gets — and removes it.
   */
  async checkAccess(): Promise<Record<string, string>> {
    let step = 'login';
    try {
      const replaced = await this.#pool.use(async (c) => {
        const probe = posix.join(this.#root!, PROBE_NAME);
        step = 'writing a file in the root';
        await this.#withDir(c, this.#root!, () => this.#adapter.writeText(c, 'hlsrelay write check\n', probe));
        step = 'replacing a file by rename';
        await this.#adapter.writeText(c, 'hlsrelay write check\n', temporaryPath(probe));
        const how = await this.#replace(c, temporaryPath(probe), probe);
        step = 'removing the probe file';
        await this.#adapter.remove(c, probe);
        return how;
      });
      return { playlists: replaced, root: this.#root!, ...this.#adapter.facts?.() };
    } catch (err) {
      throw fileCheckError(this.name, step, err, { key: this.#root === undefined ? undefined : posix.join(this.#root, PROBE_NAME) });
    }
  }

  async checkBucket(bucket: string, prefix: string): Promise<string | undefined> {
    const key = probeKey(prefix);
    try {
      await this.#writeProbe(bucket, key);
      await this.delete(bucket, key);
    } catch (err) {
      throw fileCheckError(this.name, 'writing a file', err, { bucket, key });
    }
    return undefined;
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }

  /** Writes a small file at `<root>/<bucket>/<key>` the way segments are written (the bucket check's probe). */
  async #writeProbe(bucket: string, key: string): Promise<void> {
    await this.#pool.use(async (c) => {
      const final = remoteObjectPath(this.#root!, bucket, key);
      await this.#withDir(c, posix.dirname(final), () => this.#adapter.writeText(c, 'hlsrelay write check\n', final));
    });
  }

  /** Runs `write`, creating `dir` first unless known; forgets `dir` if the write is refused (it may be gone). */
  async #withDir(c: C, dir: string, write: () => Promise<void>): Promise<void> {
    if (!this.#knownDirs.has(dir)) {
      await this.#adapter.ensureDir(c, dir);
      this.#knownDirs.add(dir);
    }
    try {
      await write();
    } catch (err) {
      this.#knownDirs.delete(dir);
      throw err;
    }
  }

  async #replace(c: C, temp: string, final: string): Promise<string> {
    const how = await this.#replaceBy(c, temp, final);
    if (how !== this.#replacePath) {
      this.#replacePath = how;
      this.#logger.info('playlists are replaced by ' + how, { target: this.name });
    }
    return how;
  }

  async #replaceBy(c: C, temp: string, final: string): Promise<string> {
    const a = this.#adapter;
    if (await a.atomicReplace?.(c, temp, final)) return REPLACE_PATHS.atomic;
    if (this.#renameReplaces) {
      try {
        await a.rename(c, temp, final);
        return REPLACE_PATHS.renameOver;
      } catch (err) {
        if (!a.refusedRename(err)) throw err;
        await a.remove(c, final);
        await a.rename(c, temp, final);
        // Only now is it known that replacing was the problem: remember it and say so once.
        this.#renameReplaces = false;
        this.#logger.warn(this.#noReplaceWarning, { target: this.name, error: err instanceof Error ? err.message : String(err) });
        return REPLACE_PATHS.deleteThenRename;
      }
    }
    await a.remove(c, final);
    await a.rename(c, temp, final);
    return REPLACE_PATHS.deleteThenRename;
  }
}

/** The ways a playlist replaces the old one, worst last, as the log names them. */
export const REPLACE_PATHS = {
  atomic: 'posix-rename (atomic replace)',
  renameOver: 'rename over the old file (atomic on servers that call rename(2))',
  deleteThenRename: 'delete then rename (players may briefly miss the playlist)',
} as const;
