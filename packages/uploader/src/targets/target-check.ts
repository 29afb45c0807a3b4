/**
 * What a start-up (or first-sight) check of a target says when it fails: which target, which
 * bucket and key, the store's own error code, and what the operator does about it. One
 * vocabulary for S3, file, FTP and SFTP, so every failure reads the same in the log.
 *
 * A check writes one small object, `.hlsrelay-write-check`, where segments would go (under the
 * granted key prefix), and deletes it: S3 has no way to prove a PUT is allowed short of making
 * one (HeadBucket proves ListBucket, not PutObject; IAM policy simulation needs IAM rights the
 * uploader should not have). The name is fixed, so a probe a policy forbids deleting is
 * overwritten by the next start rather than piling up.
 */

/** The probe object's file name, under the key prefix segments go to. */
export const PROBE_NAME = '.hlsrelay-write-check';

/** `<prefix>/.hlsrelay-write-check`, or at the bucket root for an empty prefix. */
export function probeKey(prefix: string): string {
  const p = prefix.replace(/\/+$/, '');
  return p === '' ? PROBE_NAME : `${p}/${PROBE_NAME}`;
}

export interface CheckFailure {
  /** The target's name (`s3 (endpoint)`, `sftp://user@host:22/root`, …). */
  target: string;
  /** What was being done: `HeadBucket`, `PutObject`, `login`, `write`, … */
  step: string;
  /** The store's error code (S3 `NoSuchBucket`, an FTP reply code, an errno), or the SDK's error name. */
  code: string;
  /** What the operator does about it. */
  fix: string;
  bucket?: string;
  key?: string;
  /** The store's own message. */
  detail?: string;
  /** The error the store or the network gave. */
  cause?: unknown;
}

/** A target that cannot do its job as configured: start-up stops with it; later it is logged as an error. */
export class TargetCheckError extends Error {
  override readonly name = 'TargetCheckError';
  readonly failure: CheckFailure;

  constructor(failure: CheckFailure) {
    const where = failure.bucket === undefined ? '' : ` bucket "${failure.bucket}"${failure.key === undefined ? '' : ` key "${failure.key}"`}`;
    super(`${failure.target}${where}: ${failure.step} failed with ${failure.code}: ${failure.fix}`);
    this.failure = failure;
  }

  /** The fields of a log line: target, bucket, key, code, fix, the store's message. */
  fields(): Record<string, string> {
    const { target, bucket, key, code, fix, detail, step } = this.failure;
    return Object.fromEntries(Object.entries({ target, step, bucket, key, code, fix, detail }).filter(([, v]) => v !== undefined)) as Record<string, string>;
  }
}

/**
 * The code a store or the network gave for `err`: S3's error code (the SDK names the exception
 * after it), an FTP or SFTP reply code, or an errno such as ECONNREFUSED.
 */
export function storeErrorCode(err: unknown): string {
  const e = err as { name?: unknown; Code?: unknown; code?: unknown; $metadata?: { httpStatusCode?: number } } | undefined;
  if (typeof e?.Code === 'string') return e.Code;
  if (typeof e?.code === 'string' || typeof e?.code === 'number') return String(e.code);
  const status = e?.$metadata?.httpStatusCode;
  if (typeof e?.name === 'string' && e.name !== 'Error') return status !== undefined && /^(Unknown|NotFound|Forbidden)$/.test(e.name) ? `${e.name} (${status})` : e.name;
  return 'Error';
}

/** True when the store answered (an HTTP status, an FTP/SFTP reply): not a network blip worth retrying quietly. */
export function storeAnswered(err: unknown): boolean {
  const e = err as { $metadata?: { httpStatusCode?: number }; code?: unknown; name?: unknown } | undefined;
  return e?.$metadata?.httpStatusCode !== undefined || typeof e?.code === 'number' || e?.name === 'CredentialsProviderError';
}

/**
 * True when the store refused the request for a reason retrying will not fix by itself (HTTP 4xx
 * other than timeouts and throttling: a missing bucket, a denied permission, a rejected ACL), or
 * no credentials could be found.
 */
export function storeRefused(err: unknown): boolean {
  const e = err as { $metadata?: { httpStatusCode?: number }; name?: unknown } | undefined;
  const status = e?.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 400 && status < 500 && status !== 408 && status !== 429;
  return e?.name === 'CredentialsProviderError';
}

/** The store's message for `err`, without the stack. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What the operator does about each code a directory, FTP or SFTP server answers a check with. */
const FILE_FIXES: Record<string, string> = {
  EACCES: "the uploader's user may not write there: chown or chmod the directory, or pick another root",
  EPERM: "the uploader's user may not write there: chown or chmod the directory, or pick another root",
  EROFS: 'the file system is mounted read-only',
  ENOSPC: 'the disk is full',
  ENOTDIR: 'a part of the root path is a file, not a directory',
  ECONNREFUSED: 'nothing answers at that host and port: check the --target URL and that the server runs',
  ENOTFOUND: 'the host name does not resolve: check the --target URL and DNS',
  ETIMEDOUT: 'the server does not answer: check the --target URL, the network and any firewall',
  'login-refused': 'check the user and the password or key source (?password-file=, ?key-file=, the environment)',
  'host-key-mismatch': "the server's host key is not the pinned ?host-key=: check it with ssh-keygen -lf on the server (or a man in the middle answers)",
  '530': 'login refused: check the user and the password source (?password-file= or $HLSRELAY_FTP_PASSWORD)',
  '550': 'the server refuses to write there: check that the root exists and the account may write to it',
  '553': 'the server refuses the file name or the directory: check the root and the account permissions',
  // SFTP status codes (draft-ietf-secsh-filexfer-02 §7): 2 no such file, 3 permission denied, 4 failure.
  '2': 'no such directory: check the root path of the --target URL',
  '3': 'the account may not write there: check the root and its permissions on the server',
  '4': "the server refused (SFTP FAILURE): check the root, its permissions and the server's disk",
};

export function fileFix(code: string): string {
  return FILE_FIXES[code] ?? "see the server's message";
}

/** `err` as the TargetCheckError of a file-like target's `step`. */
export function fileCheckError(target: string, step: string, err: unknown, where: { bucket?: string; key?: string } = {}): TargetCheckError {
  if (err instanceof TargetCheckError) return err;
  const code = storeErrorCode(err);
  return new TargetCheckError({ target, step, ...where, code, fix: fileFix(code), detail: errorText(err), cause: err });
}
