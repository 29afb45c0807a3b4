/**
 * Where an object lands on a file-like target (a directory, FTP, SFTP): `<root>/<bucket>/<key>`,
 * the same layout as S3 path-style URLs, so a web server serving the root answers the same URLs a
 * player would use against `https://<endpoint>/<bucket>/<key>`.
 *
 * Bucket and key come from index messages, i.e. from the network: a key such as `../../etc/x`
 * must never write outside the root, so anything that is not a plain relative path is refused
 * (a PermanentTransferError: retrying cannot make it safe).
 */
import { posix } from 'node:path';
import { PermanentTransferError } from './transfer-target';

/**
 * The parts of `<bucket>/<key>` as path segments, after checking each one. Refuses empty, `.` and
 * `..` segments, absolute keys, backslashes (a separator on Windows servers) and NUL.
 */
export function objectPathSegments(bucket: string, key: string): string[] {
  if (bucket === '' || bucket.includes('/')) {
    throw new PermanentTransferError(`bucket "${bucket}" must be one non-empty path segment`);
  }
  if (key.startsWith('/')) {
    throw new PermanentTransferError(`key "${key}" is absolute; keys are relative to <root>/<bucket>`);
  }
  const segments = [bucket, ...key.split('/')];
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..') {
      throw new PermanentTransferError(
        `key "${key}" in bucket "${bucket}" has an empty, "." or ".." segment; it could escape the target root`,
      );
    }
    if (s.includes('\\') || s.includes('\0')) {
      throw new PermanentTransferError(`key "${key}" in bucket "${bucket}" contains a backslash or NUL`);
    }
  }
  return segments;
}

/** `<root>/<bucket>/<key>` with `/` separators (FTP and SFTP paths; POSIX file systems). */
export function remoteObjectPath(root: string, bucket: string, key: string): string {
  return posix.join(root, ...objectPathSegments(bucket, key));
}

/**
 * The name a file is written under before it is renamed over `finalPath`, in the same directory
 * (a rename is only atomic within one file system). Dot-prefixed so directory listings and most
 * web server configurations skip it; fixed per object so a crashed attempt's leftover is
 * overwritten by the next attempt instead of piling up.
 */
export function temporaryPath(finalPath: string): string {
  return posix.join(posix.dirname(finalPath), `.${posix.basename(finalPath)}.partial`);
}
