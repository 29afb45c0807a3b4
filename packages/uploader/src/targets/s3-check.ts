/**
 * The S3 target's checks (start-up and a bucket's first sight): credentials resolve from the
 * default chain, the bucket exists, a probe object can be put — with the ACL every object gets,
 * so a bucket with Object Ownership "bucket owner enforced" is found before the first segment —
 * and deleted again. The requests go as the uploads do (S3Target: signed and sent directly where
 * they can be, else through the SDK), and fail with the same S3 errors either way.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { errorText, probeKey, storeErrorCode, TargetCheckError } from './target-check';

/** What the operator does about each code S3 (or an S3-compatible store) answers a check with. */
const FIXES: Record<string, string> = {
  CredentialsProviderError:
    'no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with an instance or container role',
  NoSuchBucket: 'the bucket does not exist: create it, or correct the bucket name the segmenter sends (its <bucket> argument)',
  NotFound: 'the bucket does not exist: create it, or correct the bucket name the segmenter sends (its <bucket> argument)',
  AccessControlListNotSupported:
    'the bucket takes no ACLs (Object Ownership "bucket owner enforced"): use --acl none and grant reads with a bucket policy or CloudFront',
  AccessDenied: 'the credentials may not write there: grant s3:PutObject (and s3:PutObjectAcl with --acl public-read) on the bucket and prefix',
  InvalidAccessKeyId: 'the store does not know this access key: check AWS_ACCESS_KEY_ID or the profile',
  SignatureDoesNotMatch: 'the secret key does not match the access key: check AWS_SECRET_ACCESS_KEY or the profile',
  ExpiredToken: 'the session credentials have expired: refresh them (or use a role that renews itself)',
  PermanentRedirect: 'the bucket is in another region: set --s3-region (or $AWS_REGION) to its region',
  AuthorizationHeaderMalformed: 'the bucket is in another region: set --s3-region (or $AWS_REGION) to its region',
  ECONNREFUSED: 'nothing answers at the store address: check --s3-endpoint and that the store is running',
  ENOTFOUND: 'the store host name does not resolve: check --s3-endpoint and DNS',
  ETIMEDOUT: 'the store does not answer: check --s3-endpoint, the network and any proxy',
};

export function s3Fix(code: string): string {
  return FIXES[code.replace(/ \(\d+\)$/, '')] ?? "see the store's message";
}

/** Resolves the credentials the client will sign with; throws a TargetCheckError naming the fix. */
export async function checkS3Credentials(client: S3Client, target: string): Promise<void> {
  try {
    await client.config.credentials();
  } catch (err) {
    const code = storeErrorCode(err);
    throw new TargetCheckError({ target, step: 'resolving credentials', code, fix: s3Fix(code), detail: errorText(err), cause: err });
  }
}

/** The three requests of a bucket check, as the S3 target sends them. */
export interface S3CheckRequests {
  headBucket(bucket: string): Promise<void>;
  /** A PutObject of `body` with the target's ACL. */
  putProbe(bucket: string, key: string, body: string): Promise<void>;
  delete(bucket: string, key: string): Promise<void>;
}

/**
 * HeadBucket, then a probe PUT (with `acl`) and DELETE under `prefix`. A HeadBucket refused with
 * 403 is not fatal (it needs s3:ListBucket, which a write-only policy lacks): the PUT decides.
 * Returns a warning when the probe could be written but not deleted.
 */
export async function checkS3Bucket(store: S3CheckRequests, target: string, bucket: string, prefix: string, acl: 'public-read' | 'none'): Promise<string | undefined> {
  const fail = (step: string, err: unknown, key?: string): never => {
    const code = storeErrorCode(err);
    throw new TargetCheckError({ target, step, bucket, key, code, fix: s3Fix(code), detail: errorText(err), cause: err });
  };
  try {
    await store.headBucket(bucket);
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    // A HEAD answer has no body, so no code: S3 answers 404 for a bucket that does not exist.
    if (status === 404) {
      throw new TargetCheckError({ target, step: 'HeadBucket', bucket, code: 'NoSuchBucket', fix: s3Fix('NoSuchBucket'), detail: errorText(err), cause: err });
    }
    if (status !== 403) fail('HeadBucket', err);
  }
  const key = probeKey(prefix);
  try {
    await store.putProbe(bucket, key, 'hlsrelay write check\n');
  } catch (err) {
    fail(acl === 'public-read' ? 'PutObject with ACL public-read' : 'PutObject', err, key);
  }
  try {
    await store.delete(bucket, key);
  } catch (err) {
    return `the write check object ${key} in bucket ${bucket} could not be deleted (${storeErrorCode(err)}); --delete-after needs s3:DeleteObject`;
  }
  return undefined;
}
