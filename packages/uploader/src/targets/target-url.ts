/**
 * `--target URL` values: where the uploader stores segments and playlists.
 *
 *   s3:                                   S3 (the default); the bucket comes from each index message
 *   file:///srv/hls                       a directory (NFS mount, web server root)
 *   ftp://user@host:21/path               FTP; ftps://… for explicit FTPS (AUTH TLS)
 *   sftp://user@host:22/path              SFTP
 *
 * Paths follow curl: for ftp(s) the path is relative to the login directory, `//abs` (or `/%2Fabs`)
 * is absolute (RFC 1738 §3.2.2); for sftp the path is absolute and `/~/rel` is relative to home.
 * Non-S3 targets store `<path>/<bucket>/<key>`.
 *
 * Secrets never come from the URL (it shows in `ps`, shell history and logs):
 *   ?password-file=FILE        ftp, ftps, sftp   else $HLSRELAY_FTP_PASSWORD / $HLSRELAY_SFTP_PASSWORD
 *   ?key-file=FILE             sftp              else $HLSRELAY_SFTP_KEY_FILE (a path, not the key)
 *   ?passphrase-file=FILE      sftp              else $HLSRELAY_SFTP_KEY_PASSPHRASE
 * Other settings:
 *   ?ca-file=FILE              ftps              CA certificate(s), PEM, for a private CA or self-signed server
 *   ?host-key=SHA256:…         sftp              pin the server's host key (`ssh-keygen -lf` form)
 *   ?connections=N             ftp, ftps, sftp   logged-in connections kept (default 3)
 *
 * Parsing is pure: the environment comes in as an argument (only main.ts reads the process).
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const ENV_FTP_PASSWORD = 'HLSRELAY_FTP_PASSWORD';
export const ENV_SFTP_PASSWORD = 'HLSRELAY_SFTP_PASSWORD';
export const ENV_SFTP_KEY_FILE = 'HLSRELAY_SFTP_KEY_FILE';
export const ENV_SFTP_KEY_PASSPHRASE = 'HLSRELAY_SFTP_KEY_PASSPHRASE';

/** Where a secret is read from at start-up; never the secret itself, so specs are safe to log. */
export type SecretSource = { from: 'file'; path: string } | { from: 'env'; variable: string };

/** What every remote file server's URL gives. */
interface RemoteSpec {
  display: string;
  host: string;
  port: number;
  user: string;
  root: string;
  password?: SecretSource;
  connections?: number;
}

export type TargetSpec =
  | { scheme: 's3'; display: string }
  | { scheme: 'file'; display: string; root: string }
  | (RemoteSpec & { scheme: 'ftp' | 'ftps'; caFile?: string })
  | (RemoteSpec & {
      scheme: 'sftp';
      /** A file holding the private key (from `?key-file=` or $HLSRELAY_SFTP_KEY_FILE). */
      keyFile?: string;
      passphrase?: SecretSource;
      hostKeySha256?: string;
    });

export class TargetUrlError extends Error {
  override readonly name = 'TargetUrlError';
}

const ALLOWED_PARAMS: Record<'ftp' | 'ftps' | 'sftp', string[]> = {
  ftp: ['password-file', 'connections'],
  ftps: ['password-file', 'ca-file', 'connections'],
  sftp: ['password-file', 'key-file', 'passphrase-file', 'host-key', 'connections'],
};

export function parseTargetUrl(value: string, env: Readonly<Record<string, string | undefined>> = {}): TargetSpec {
  const fail = (what: string): never => {
    throw new TargetUrlError(`--target "${masked(value)}": ${what}`);
  };
  if (value === 's3' || value === 's3:' || value === 's3://') return { scheme: 's3', display: 's3:' };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail('not a URL; expected s3:, file:///dir, ftp://user@host/path, ftps://user@host/path or sftp://user@host/path');
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme === 's3') {
    return fail('S3 takes no bucket or path here: the bucket and key prefix come from each index message; write "s3:"');
  }
  if (scheme === 'file') {
    if (url.search) fail('file targets take no ?options');
    if (url.hostname !== '' && url.hostname !== 'localhost') fail('file URLs name a local directory: file:///srv/hls');
    const root = fileURLToPath(url);
    if (root === '/' || !path.isAbsolute(root)) fail('expected an absolute directory other than /, e.g. file:///srv/hls');
    return { scheme: 'file', display: `file://${root}`, root };
  }
  if (scheme !== 'ftp' && scheme !== 'ftps' && scheme !== 'sftp') {
    return fail(`unknown scheme "${scheme}:"; expected s3:, file:, ftp:, ftps: or sftp:`);
  }
  if (url.password !== '') {
    const envName = scheme === 'sftp' ? ENV_SFTP_PASSWORD : ENV_FTP_PASSWORD;
    fail(
      `a password in the URL would show in process listings, shell history and logs; ` +
        `remove it and use ?password-file=FILE or the environment variable ${envName}`,
    );
  }
  if (url.hostname === '') fail('no host; expected e.g. ' + `${scheme}://user@host/path`);
  for (const key of url.searchParams.keys()) {
    if (!ALLOWED_PARAMS[scheme].includes(key)) {
      fail(`unknown option "?${key}"; ${scheme} accepts ${ALLOWED_PARAMS[scheme].map((p) => `?${p}=`).join(', ')}`);
    }
  }
  const param = (name: string): string | undefined => {
    const v = url.searchParams.get(name);
    if (v === '') fail(`?${name}= is empty`);
    return v ?? undefined;
  };
  const fileParam = (name: string): string | undefined => {
    const v = param(name);
    if (v !== undefined && !path.isAbsolute(v)) fail(`?${name}= must be an absolute path, got "${v}"`);
    return v;
  };
  const defaultPort = scheme === 'sftp' ? 22 : 21;
  const port = url.port === '' ? defaultPort : Number(url.port);
  const user = decodeURIComponent(url.username);
  let connections: number | undefined;
  const c = param('connections');
  if (c !== undefined) {
    connections = Number(c);
    if (!Number.isInteger(connections) || connections < 1 || connections > 16) fail(`?connections= must be an integer 1–16, got "${c}"`);
  }
  const secret = (fileOption: string, variable: string): SecretSource | undefined => {
    const file = fileParam(fileOption);
    if (file !== undefined) return { from: 'file', path: file };
    return env[variable] !== undefined && env[variable] !== '' ? { from: 'env', variable } : undefined;
  };
  const pathname = decodeURIComponent(url.pathname);
  const display = `${scheme}://${user === '' ? '' : `${encodeURIComponent(user)}@`}${url.hostname}:${port}${url.pathname}`;

  if (scheme === 'sftp') {
    if (user === '') fail('sftp needs a user: sftp://user@host/path');
    const root = pathname === '/~' ? '' : pathname.startsWith('/~/') ? pathname.slice(3) : pathname === '' ? '/' : pathname;
    const hostKey = param('host-key');
    if (hostKey !== undefined && !/^SHA256:[A-Za-z0-9+/]{43}$/.test(hostKey)) {
      fail(`?host-key= must be a SHA256 fingerprint as "ssh-keygen -lf" prints it (SHA256: and 43 base64 characters), got "${hostKey}"`);
    }
    const keyFile = fileParam('key-file') ?? (env[ENV_SFTP_KEY_FILE] || undefined);
    if (keyFile !== undefined && !path.isAbsolute(keyFile)) fail(`${ENV_SFTP_KEY_FILE} must be an absolute path, got "${keyFile}"`);
    const password = secret('password-file', ENV_SFTP_PASSWORD);
    if (keyFile === undefined && password === undefined) {
      fail(`no credentials: give ?key-file=FILE or ?password-file=FILE, or set ${ENV_SFTP_KEY_FILE} or ${ENV_SFTP_PASSWORD}`);
    }
    return {
      scheme,
      display,
      host: url.hostname,
      port,
      user,
      root,
      password,
      keyFile,
      passphrase: secret('passphrase-file', ENV_SFTP_KEY_PASSPHRASE),
      hostKeySha256: hostKey,
      connections,
    };
  }
  // ftp, ftps: the path is relative to the login directory unless it starts with a second slash.
  return {
    scheme,
    display,
    host: url.hostname,
    port,
    user: user === '' ? 'anonymous' : user,
    root: pathname.slice(1),
    password: secret('password-file', ENV_FTP_PASSWORD),
    caFile: scheme === 'ftps' ? fileParam('ca-file') : undefined,
    connections,
  };
}

/** `value` with any password part replaced by `***`, for error messages and logs. */
export function masked(value: string): string {
  return value.replace(/^([a-z0-9+.-]+:\/\/[^/@:?#]*):[^/@?#]*@/i, '$1:***@');
}
