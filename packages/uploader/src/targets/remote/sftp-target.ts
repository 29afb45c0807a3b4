/**
 * The SFTP transfer target (ssh2-sftp-client over ssh2).
 *
 * The SFTP side of a RemoteFileTarget (remote-file-target.ts). Plain SFTP v3 RENAME refuses an
 * existing destination on OpenSSH, so where the server offers OpenSSH's
 * `posix-rename@openssh.com` (rename(2): atomic replace) that replaces playlists; elsewhere a
 * plain rename is tried and, if refused, the old playlist is deleted first.
 *
 * The password, key and passphrase only reach ssh2; names and log lines carry
 * `sftp://user@host:port/root`. Without a pinned host key fingerprint the server is not
 * authenticated, and the caller is expected to say so at start-up.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import SftpClient from 'ssh2-sftp-client';
import type { Logger } from '@hlsrelay/log';
import { DEFAULT_FILE_MODE, modeText, RemoteFileTarget, type RemoteAdapter } from './remote-file-target';

export const DEFAULT_SFTP_CONNECTIONS = 3;

export interface SftpTargetOptions {
  host: string;
  port: number;
  user: string;
  /** Read once at start-up from a file or the environment; never logged. */
  password?: string;
  /** Private key (OpenSSH or PEM), read once at start-up; never logged. */
  privateKey?: Buffer;
  passphrase?: string;
  /**
   * The server's host key fingerprint as `ssh-keygen -lf` prints it (`SHA256:base64`, or
   * `MD5:hex:…` from `ssh-keygen -E md5 -lf`). When set, any other key is refused (a man in the
   * middle); when absent, any key is accepted.
   */
  hostKey?: string;
  /** Root directory: absolute, or relative to the login (home) directory. */
  root: string;
  /**
   * Mode of stored files (`--file-mode`), default 0o644. Set explicitly on every file: the SFTP
   * client's own default is 0666, which bypasses the server's umask.
   */
  fileMode?: number;
  connections?: number;
  /** Connect timeout; a silent server is also dropped after about this long (keepalives). */
  timeoutMs?: number;
  logger: Logger;
}

type Session = SftpClient;

export class SftpTarget extends RemoteFileTarget<Session> {
  constructor(options: SftpTargetOptions) {
    if (options.password === undefined && options.privateKey === undefined) {
      throw new TypeError(`sftp target ${options.user}@${options.host}: needs a password or a private key`);
    }
    super({
      adapter: new SftpAdapter(options),
      connections: options.connections ?? DEFAULT_SFTP_CONNECTIONS,
      logger: options.logger,
      noReplaceWarning:
        'sftp server has no posix-rename and refuses to rename onto an existing file; playlists are deleted then renamed, so players may briefly miss them',
    });
  }
}

class SftpAdapter implements RemoteAdapter<Session> {
  readonly name: string;
  readonly #options: SftpTargetOptions;

  constructor(options: SftpTargetOptions) {
    this.#options = options;
    const root = options.root.startsWith('/') ? options.root : `~/${options.root}`;
    this.name = `sftp://${encodeURIComponent(options.user)}@${options.host}:${options.port}${root.startsWith('/') ? '' : '/'}${root}`;
  }

  async open(): Promise<{ connection: Session; root: string }> {
    const o = this.#options;
    const log = { target: this.name };
    // The library's default handlers print to the console; ours log, without any config values.
    const session = new SftpClient('hlsrelay', {
      error: (err: unknown) => {
        o.logger.debug('sftp session error', { ...log, error: err instanceof Error ? err.message : String(err) });
      },
      end: () => o.logger.debug('sftp session ended by the server', log),
      close: () => o.logger.debug('sftp session closed', log),
    });
    const timeout = o.timeoutMs ?? 20_000;
    try {
      await session.connect({
        host: o.host,
        port: o.port,
        username: o.user,
        password: o.password,
        privateKey: o.privateKey,
        passphrase: o.passphrase,
        readyTimeout: timeout,
        // A server that stops answering is dropped after ~3 missed keepalives rather than hanging an upload.
        keepaliveInterval: Math.max(1_000, Math.floor(timeout / 3)),
        keepaliveCountMax: 3,
        hostVerifier: o.hostKey === undefined ? undefined : (key: Buffer) => hostKeyMatches(o.hostKey!, key),
      });
      const root = posix.resolve(await session.realPath('.'), o.root);
      o.logger.debug('sftp session open', { ...log, root });
      return { connection: session, root };
    } catch (err) {
      await session.end().catch(() => undefined);
      const message = err instanceof Error ? err.message : String(err);
      // ssh2 words these vaguely; name the usual causes without echoing any secret.
      if (/authentication methods failed/i.test(message)) {
        throw Object.assign(new Error(`${this.name}: login refused; check the user and the key or password source`), { code: 'login-refused' });
      }
      if (/host.*(verif|denied)/i.test(message)) {
        throw Object.assign(new Error(`${this.name}: the server's host key does not match the pinned ${o.hostKey}`), { code: 'host-key-mismatch' });
      }
      throw err;
    }
  }

  async close(session: Session): Promise<void> {
    await session.end().catch(() => undefined);
  }

  alive(session: Session): boolean {
    return channelOf(session) !== undefined;
  }

  broken(err: unknown): boolean {
    return !isServerRefusal(err);
  }

  refusedRename(err: unknown): boolean {
    return isServerRefusal(err);
  }

  async ensureDir(session: Session, dir: string): Promise<void> {
    await session.mkdir(dir, true);
  }

  async writeFile(session: Session, localFile: string, remote: string): Promise<void> {
    await session.put(localFile, remote, this.#writeOptions());
  }

  async writeText(session: Session, text: string, remote: string): Promise<void> {
    await this.writeBytes(session, Buffer.from(text), remote);
  }

  async writeBytes(session: Session, bytes: Buffer, remote: string): Promise<void> {
    await session.put(bytes, remote, this.#writeOptions());
  }

  facts(): Record<string, string> {
    return { fileMode: modeText(this.#fileMode()), hostKey: this.#options.hostKey ?? 'not pinned' };
  }

  /** ssh2 opens with this mode and then sets it with FSETSTAT, so an existing file gets it too. */
  #writeOptions(): { writeStreamOptions: { mode: number } } {
    return { writeStreamOptions: { mode: this.#fileMode() } };
  }

  #fileMode(): number {
    return this.#options.fileMode ?? DEFAULT_FILE_MODE;
  }

  async readText(session: Session, remote: string): Promise<string | undefined> {
    if ((await session.exists(remote)) === false) return undefined;
    const data = await session.get(remote);
    return Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
  }

  async remove(session: Session, remote: string): Promise<void> {
    await session.delete(remote, true);
  }

  async rename(session: Session, from: string, to: string): Promise<void> {
    await session.rename(from, to);
  }

  async atomicReplace(session: Session, from: string, to: string): Promise<boolean> {
    if (!supportsPosixRename(session)) return false;
    await session.posixRename(from, to);
    return true;
  }
}

/** `SHA256:<base64, no padding>` of the raw public key blob, as `ssh-keygen -lf` and OpenSSH print it. */
export function sshFingerprint(publicKeyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** `MD5:` and 16 colon-separated hex pairs, as `ssh-keygen -E md5 -lf` prints it. */
export function sshMd5Fingerprint(publicKeyBlob: Buffer): string {
  return `MD5:${createHash('md5').update(publicKeyBlob).digest('hex').replace(/(..)(?!$)/g, '$1:')}`;
}

/** Whether the server's key blob has the pinned fingerprint (SHA256 exactly; MD5 hex in any case). */
export function hostKeyMatches(pinned: string, publicKeyBlob: Buffer): boolean {
  if (pinned.startsWith('MD5:')) return sshMd5Fingerprint(publicKeyBlob) === pinned.toLowerCase().replace(/^md5:/, 'MD5:');
  return sshFingerprint(publicKeyBlob) === pinned;
}

/**
 * True when the server answered the request with an SFTP status (a numeric code) or the library
 * refused a path: the session is fine. Anything else (socket closed, timeout, "not connected")
 * means the session is gone.
 */
function isServerRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' || code === 'ERR_BAD_PATH';
}

/**
 * Whether the server announced posix-rename in its SFTP VERSION packet. ssh2 keeps the announced
 * extensions on a private field; calling posixRename without the extension throws a plain error
 * that would look like a broken session, so ask first.
 */
function supportsPosixRename(session: Session): boolean {
  return channelOf(session)?._extensions?.['posix-rename@openssh.com'] !== undefined;
}

/**
 * The session's SFTP channel; ssh2-sftp-client clears it when the connection closes or resets,
 * so its absence means the session is dead. Not in the published typings, hence the cast.
 */
function channelOf(session: Session): { _extensions?: Record<string, string> } | undefined {
  return (session as unknown as { sftp?: { _extensions?: Record<string, string> } }).sftp;
}

