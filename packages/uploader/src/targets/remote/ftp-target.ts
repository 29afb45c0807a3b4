/**
 * The FTP and FTPS transfer target (basic-ftp). FTPS is explicit TLS (`AUTH TLS` on the normal
 * port), which is what current servers offer; the data connections are encrypted too.
 *
 * The FTP side of a RemoteFileTarget (remote-file-target.ts). Playlists are renamed over the old
 * one: servers whose rename replaces an existing file (vsftpd, ProFTPD, pure-ftpd, ftp-srv — they
 * call rename(2)) never show a half-written playlist; the others answer 5xx and get
 * delete-then-rename.
 *
 * The password is only ever handed to the login command: names and log lines carry
 * `ftp://user@host:port/root`.
 */
import { Readable, Writable } from 'node:stream';
import { posix } from 'node:path';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { Client, FTPError } from 'basic-ftp';
import type { Logger } from '@hlsrelay/log';
import { DEFAULT_FILE_MODE, modeText, RemoteFileTarget, type RemoteAdapter } from './remote-file-target';

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
  /** Mode of stored files (`--file-mode`), set with SITE CHMOD where the server takes it. Default 0o644. */
  fileMode?: number;
  /** Control and data socket timeout, ms. */
  timeoutMs?: number;
  logger: Logger;
}

export class FtpTarget extends RemoteFileTarget<Client> {
  constructor(options: FtpTargetOptions) {
    super({
      adapter: new FtpAdapter(options),
      connections: options.connections ?? DEFAULT_FTP_CONNECTIONS,
      logger: options.logger,
      noReplaceWarning: 'ftp server refuses to rename onto an existing file; playlists are deleted then renamed, so players may briefly miss them',
    });
  }
}

class FtpAdapter implements RemoteAdapter<Client> {
  readonly name: string;
  readonly #options: FtpTargetOptions;
  /** False once the server refused SITE CHMOD (it is not in RFC 959; many servers lack it): said once, not tried again. */
  #chmod = true;

  constructor(options: FtpTargetOptions) {
    this.#options = options;
    const scheme = options.secure ? 'ftps' : 'ftp';
    // Written the way the URL gives the root: `/path` relative to the login directory, `//path` absolute.
    this.name = `${scheme}://${encodeURIComponent(options.user)}@${options.host}:${options.port}/${options.root}`;
  }

  async open(): Promise<{ connection: Client; root: string }> {
    const o = this.#options;
    const client = new Client(o.timeoutMs ?? 30_000);
    try {
      await client.access({ host: o.host, port: o.port, user: o.user, password: o.password, secure: o.secure, secureOptions: o.tls });
      const root = posix.resolve(await client.pwd(), o.root);
      o.logger.debug('ftp connection open', { target: this.name, root });
      return { connection: client, root };
    } catch (err) {
      client.close();
      if (err instanceof FTPError && err.code === 530) {
        // Not permanent: an operator may fix the account while segments wait; but say it clearly.
        throw Object.assign(new Error(`${this.name}: login refused (530); check the user and the password source`), { code: 530 });
      }
      throw err;
    }
  }

  async close(client: Client): Promise<void> {
    client.close();
  }

  alive(client: Client): boolean {
    return !client.closed;
  }

  /** A reply code means the server answered: the connection is fine, the command was refused. */
  broken(err: unknown): boolean {
    return !(err instanceof FTPError);
  }

  /** 4xx is transient; 5xx on a rename onto an existing file is how refusing servers answer. */
  refusedRename(err: unknown): boolean {
    return err instanceof FTPError && err.code >= 500;
  }

  async ensureDir(client: Client, dir: string): Promise<void> {
    await client.ensureDir(dir);
  }

  async writeFile(client: Client, localFile: string, remote: string): Promise<void> {
    await client.uploadFrom(localFile, remote);
    await this.#setMode(client, remote);
  }

  async writeText(client: Client, text: string, remote: string): Promise<void> {
    await this.writeBytes(client, Buffer.from(text), remote);
  }

  async writeBytes(client: Client, bytes: Buffer, remote: string): Promise<void> {
    await client.uploadFrom(Readable.from([bytes]), remote);
    await this.#setMode(client, remote);
  }

  facts(): Record<string, string> {
    const mode = modeText(this.#mode());
    return { fileMode: this.#chmod ? `${mode} (SITE CHMOD)` : "the server's default (no SITE CHMOD)" };
  }

  /**
   * FTP has no mode on STOR: files get the server's umask, which may let other local users
   * rewrite the stream. SITE CHMOD sets it where the server offers it; where it does not, that is
   * logged once and files keep the server's default.
   */
  async #setMode(client: Client, remote: string): Promise<void> {
    if (!this.#chmod) return;
    try {
      await client.send(`SITE CHMOD ${modeText(this.#mode()).slice(1)} ${remote}`);
    } catch (err) {
      if (!(err instanceof FTPError)) throw err;
      this.#chmod = false;
      this.#options.logger.warn("ftp server refuses SITE CHMOD; stored files keep the server's default mode (set its umask, e.g. vsftpd local_umask=022)", {
        target: this.name,
        error: err.message,
      });
    }
  }

  #mode(): number {
    return this.#options.fileMode ?? DEFAULT_FILE_MODE;
  }

  async readText(client: Client, remote: string): Promise<string | undefined> {
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk);
        done();
      },
    });
    try {
      await client.downloadTo(sink, remote);
    } catch (err) {
      // A refused RETR is 550 on most servers, other 5xx codes on some (ftp-srv: 551): the file
      // is missing only if its directory does not list it. Anything else (a dropped connection)
      // is retried by the caller.
      if (err instanceof FTPError && err.code >= 500 && !(await listed(client, remote))) return undefined;
      throw err;
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  async remove(client: Client, remote: string): Promise<void> {
    try {
      await client.remove(remote);
    } catch (err) {
      // 550: no such file (or not allowed); gone either way, and a retried delete must end.
      if (!(err instanceof FTPError && err.code === 550)) throw err;
    }
  }

  async rename(client: Client, from: string, to: string): Promise<void> {
    await client.rename(from, to);
  }
}

/**
 * Whether `remote`'s directory lists it. A directory the server refuses to list holds nothing:
 * servers answer a missing one with 550, 450 or 451 (ftp-srv), or an empty listing. A dropped
 * connection is thrown (and retried).
 */
async function listed(client: Client, remote: string): Promise<boolean> {
  try {
    return (await client.list(posix.dirname(remote))).some((f) => f.name === posix.basename(remote));
  } catch (err) {
    if (err instanceof FTPError) return false;
    throw err;
  }
}
