/**
 * The FTP and FTPS transfer target (basic-ftp). FTPS is explicit TLS (`AUTH TLS` on the normal
 * port), which is what current servers offer; the data connections are encrypted too.
 *
 * Objects land at `<root>/<bucket>/<key>` as on every file-like target. A few logged-in
 * connections are reused for all streams (connection-pool.ts). Playlists are uploaded under a
 * temporary name and renamed over the old one: on servers whose rename replaces an existing file
 * (vsftpd, ProFTPD, pure-ftpd, ftp-srv — they call rename(2)) a player never reads a half-written
 * playlist. Servers that refuse to rename onto an existing file get delete-then-rename, which
 * leaves a moment with no playlist; that is logged once as a warning.
 *
 * The password is only ever handed to the login command: names and log lines carry
 * `ftp://user@host:port/root`.
 */
import { Readable } from 'node:stream';
import { posix } from 'node:path';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { Client, FTPError } from 'basic-ftp';
import type { Logger } from '@hlsrelay/log';
import { ConnectionPool } from './connection-pool';
import { checkSegmentSource } from '../segment-source';
import { remoteObjectPath, temporaryPath } from '../target-path';
import type { PlaylistUpload, SegmentUpload, TransferTarget } from '../transfer-target';

export const DEFAULT_FTP_CONNECTIONS = 3;

export interface FtpTargetOptions {
  host: string;
  port: number;
  user: string;
  /** Read once at start-up from a file or the environment; never logged. */
  password: string | undefined;
  /** Explicit FTPS. */
  secure: boolean;
  /** TLS settings for FTPS (e.g. `ca` for a private certificate authority). */
  tls?: TlsOptions;
  /**
   * Root directory: absolute, or relative to the login directory (the way `ftp://` URLs mean their
   * path, RFC 1738 §3.2.2).
   */
  root: string;
  /** Logged-in connections at most. */
  connections?: number;
  /** Control and data socket timeout, ms. */
  timeoutMs?: number;
  logger: Logger;
}

export class FtpTarget implements TransferTarget {
  readonly name: string;
  readonly #options: FtpTargetOptions;
  readonly #logger: Logger;
  readonly #pool: ConnectionPool<Client>;
  /** Root as an absolute path, known after the first login. */
  #root: string | undefined;
  /** Directories created or seen, so each segment does not cost a walk of CWD/MKD commands. */
  readonly #knownDirs = new Set<string>();
  /** False once the server was seen refusing to rename onto an existing file. */
  #renameReplaces = true;

  constructor(options: FtpTargetOptions) {
    this.#options = options;
    this.#logger = options.logger;
    const scheme = options.secure ? 'ftps' : 'ftp';
    // Written the way the URL gives the root: `/path` relative to the login directory, `//path` absolute.
    this.name = `${scheme}://${encodeURIComponent(options.user)}@${options.host}:${options.port}/${options.root}`;
    this.#pool = new ConnectionPool<Client>({
      size: options.connections ?? DEFAULT_FTP_CONNECTIONS,
      open: () => this.#open(),
      close: async (client) => client.close(),
      alive: (client) => !client.closed,
      // A reply code means the server answered: the connection is fine, the command was refused.
      broken: (err) => !(err instanceof FTPError),
    });
  }

  /** Logins performed so far (a reused connection does not log in again). */
  get logins(): number {
    return this.#pool.opened;
  }

  async putSegment(upload: SegmentUpload): Promise<void> {
    await checkSegmentSource(upload.file);
    await this.#pool.use(async (client) => {
      const final = remoteObjectPath(this.#root!, upload.bucket, upload.key);
      await this.#withDir(client, posix.dirname(final), () => client.uploadFrom(upload.file, final));
    });
  }

  async putPlaylist(upload: PlaylistUpload): Promise<void> {
    await this.#pool.use(async (client) => {
      const final = remoteObjectPath(this.#root!, upload.bucket, upload.key);
      const temp = temporaryPath(final);
      await this.#withDir(client, posix.dirname(final), () => client.uploadFrom(Readable.from([upload.text]), temp));
      await this.#replace(client, temp, final);
    });
  }

  async delete(bucket: string, key: string): Promise<void> {
    await this.#pool.use(async (client) => {
      try {
        await client.remove(remoteObjectPath(this.#root!, bucket, key));
      } catch (err) {
        // 550: no such file (or not allowed); gone either way, and a retried delete must end.
        if (!(err instanceof FTPError && err.code === 550)) throw err;
      }
    });
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }

  async #open(): Promise<Client> {
    const o = this.#options;
    const client = new Client(o.timeoutMs ?? 30_000);
    try {
      await client.access({
        host: o.host,
        port: o.port,
        user: o.user,
        password: o.password,
        secure: o.secure,
        secureOptions: o.tls,
      });
      this.#root ??= posix.resolve(await client.pwd(), o.root);
      this.#logger.debug('ftp connection open', { target: this.name, root: this.#root });
      return client;
    } catch (err) {
      client.close();
      if (err instanceof FTPError && err.code === 530) {
        // Not permanent: an operator may fix the account while segments wait; but say it clearly.
        throw new Error(`${this.name}: login refused (530); check the user and the password source`);
      }
      throw err;
    }
  }

  /** Runs `write`, creating `dir` first unless known; forgets `dir` if the write is refused (it may be gone). */
  async #withDir<T>(client: Client, dir: string, write: () => Promise<T>): Promise<T> {
    if (!this.#knownDirs.has(dir)) {
      await client.ensureDir(dir);
      this.#knownDirs.add(dir);
    }
    try {
      return await write();
    } catch (err) {
      this.#knownDirs.delete(dir);
      throw err;
    }
  }

  async #replace(client: Client, temp: string, final: string): Promise<void> {
    if (this.#renameReplaces) {
      try {
        await client.rename(temp, final);
        return;
      } catch (err) {
        // 4xx is transient; 5xx on a rename onto an existing file is how refusing servers answer.
        if (!(err instanceof FTPError && err.code >= 500)) throw err;
        await client.remove(final, true);
        await client.rename(temp, final);
        // Only now is it known that replacing was the problem: remember it and say so once.
        this.#renameReplaces = false;
        this.#logger.warn(
          'ftp server refuses to rename onto an existing file; playlists are deleted then renamed, so players may briefly miss them',
          { target: this.name, error: err.message },
        );
        return;
      }
    }
    await client.remove(final, true);
    await client.rename(temp, final);
  }
}
