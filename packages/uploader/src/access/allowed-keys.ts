/**
 * Where a message may make the uploader write: which buckets and key prefixes, and what a bucket,
 * key prefix or file name may look like at all.
 *
 * The 2009 uploader wrote wherever a message said, with whatever its credentials reached: anyone
 * who could reach the port could overwrite any object in any bucket the uploader's account owns.
 * `--allow-bucket NAME[/PREFIX]` narrows that to the streams this uploader is for. Names are also
 * held to a safe shape (the S3 bucket name alphabet; keys without `..` segments, leading `/`, control
 * or invisible formatting characters, and within S3's length limits), so a key can never climb
 * out of a prefix on a file-like target nor smuggle odd bytes into logs and playlists.
 */
import { ProtocolError } from '@hlsrelay/protocol';

/** S3's limit on a whole object key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;
/** A key prefix leaves room for the file name under it. */
export const MAX_KEY_PREFIX_BYTES = 768;
/** Longest file name (playlist, segment prefix): common file systems stop at 255 bytes. */
export const MAX_FILE_NAME_BYTES = 200;

/** One `--allow-bucket` grant: the bucket and, optionally, the key prefix within it. */
export interface BucketGrant {
  bucket: string;
  /** '' grants the whole bucket; otherwise keys must equal it or lie under `<prefix>/`. */
  prefix: string;
}

/**
 * The S3 bucket name alphabet, in its legacy (widest) form: up to 255 letters, digits, `.`, `-`
 * and `_`, starting and ending with a letter or digit, no `..`. What matters here is that a
 * bucket is one safe path segment on every target (a file-like target uses it as a directory,
 * where even one-letter names are fine); S3 itself refuses names outside its current rules.
 * Returns why a name breaks this, or undefined when it is fine.
 */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 1 || name.length > 255) return `must be 1 to 255 characters, got ${name.length}`;
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/.test(name)) {
    return 'may hold only letters, digits, ".", "-" and "_", starting and ending with a letter or digit';
  }
  if (name.includes('..')) return 'must not contain ".."';
  return undefined;
}

/** No control characters (C0, DEL, C1) nor invisible formatting ones (bidi overrides, zero-width). */
const PRINTABLE = /^[^\p{Cc}\p{Cf}]*$/u;

const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/**
 * Why a key prefix is unsafe, or undefined. An empty prefix is fine (objects at the bucket root);
 * trailing slashes are dropped when keys are built, so `live/` is fine too.
 */
export function keyPrefixProblem(prefix: string): string | undefined {
  if (prefix === '') return undefined;
  if (utf8Bytes(prefix) > MAX_KEY_PREFIX_BYTES) return `is longer than ${MAX_KEY_PREFIX_BYTES} bytes`;
  if (!PRINTABLE.test(prefix)) return 'contains control or invisible formatting characters';
  if (prefix.startsWith('/')) return 'must not start with "/"';
  if (prefix.includes('\\')) return 'must not contain "\\"';
  const segments = prefix.replace(/\/+$/, '').split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return 'must not contain empty, "." or ".." path segments';
  return undefined;
}

/** Why a single file name (playlist name, segment prefix) is unsafe, or undefined. */
export function fileNameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (utf8Bytes(name) > MAX_FILE_NAME_BYTES) return `is longer than ${MAX_FILE_NAME_BYTES} bytes`;
  if (!PRINTABLE.test(name)) return 'contains control or invisible formatting characters';
  if (name.includes('/') || name.includes('\\')) return 'must be a file name, without "/" or "\\"';
  if (name === '.' || name === '..' || name.includes('..')) return 'must not contain ".."';
  return undefined;
}

/**
 * Parses `NAME` or `NAME/PREFIX` as given to `--allow-bucket`. Throws a TypeError that names the
 * option, what was expected and what came.
 */
export function parseBucketGrant(value: string, option = '--allow-bucket'): BucketGrant {
  const slash = value.indexOf('/');
  const bucket = slash < 0 ? value : value.slice(0, slash);
  const prefix = slash < 0 ? '' : value.slice(slash + 1).replace(/\/+$/, '');
  const bucketProblem = bucketNameProblem(bucket);
  if (bucketProblem) throw new TypeError(`${option} expects NAME[/PREFIX] with an S3 bucket name; "${bucket}" ${bucketProblem}`);
  const prefixProblem = keyPrefixProblem(prefix);
  if (prefixProblem) throw new TypeError(`${option} expects NAME[/PREFIX]; the prefix "${prefix}" ${prefixProblem}`);
  return { bucket, prefix };
}

export class AllowedKeys {
  /** Grants by bucket; empty means every bucket and prefix is allowed (names are still checked). */
  readonly #grants = new Map<string, string[]>();

  constructor(grants: readonly BucketGrant[] = []) {
    for (const g of grants) {
      const list = this.#grants.get(g.bucket) ?? [];
      list.push(g.prefix.replace(/\/+$/, ''));
      this.#grants.set(g.bucket, list);
    }
  }

  /** False when no grant was given: any well-formed bucket and key prefix is accepted. */
  get restricted(): boolean {
    return this.#grants.size > 0;
  }

  /** The grants, for the start-up log: `bucket` or `bucket/prefix`. */
  describe(): string[] {
    return [...this.#grants].flatMap(([bucket, prefixes]) => prefixes.map((p) => (p ? `${bucket}/${p}` : bucket)));
  }

  /** Throws ProtocolError when the bucket or key prefix is malformed or not granted. */
  check(bucket: string, keyPrefix: string): void {
    const bucketProblem = bucketNameProblem(bucket);
    if (bucketProblem) throw new ProtocolError(`bucket_name "${bucket}" ${bucketProblem}`);
    const prefixProblem = keyPrefixProblem(keyPrefix);
    if (prefixProblem) throw new ProtocolError(`key_prefix "${keyPrefix}" ${prefixProblem}`);
    if (!this.restricted) return;
    const prefixes = this.#grants.get(bucket);
    if (!prefixes) throw new ProtocolError(`bucket "${bucket}" is not one this uploader writes to (--allow-bucket)`);
    const wanted = keyPrefix.replace(/\/+$/, '');
    // Whole path segments: a grant of `live` covers `live` and `live/x`, never `livex`.
    if (!prefixes.some((p) => p === '' || wanted === p || wanted.startsWith(p + '/'))) {
      throw new ProtocolError(`key prefix "${keyPrefix}" in bucket "${bucket}" is not one this uploader writes to (--allow-bucket)`);
    }
  }

  /** Throws ProtocolError when a whole object key is unsafe or outside the grants (a second line of defence at upload time). */
  checkKey(bucket: string, key: string): void {
    if (utf8Bytes(key) > MAX_KEY_BYTES) throw new ProtocolError(`key "${key.slice(0, 64)}…" is longer than ${MAX_KEY_BYTES} bytes`);
    const slash = key.lastIndexOf('/');
    const name = key.slice(slash + 1);
    const nameProblem = fileNameProblem(name);
    if (nameProblem) throw new ProtocolError(`object name "${name}" ${nameProblem}`);
    this.check(bucket, slash < 0 ? '' : key.slice(0, slash));
  }
}
