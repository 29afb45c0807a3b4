/**
 * AWS Signature Version 4 for the S3 target's direct requests (s3-direct-put.ts), with
 * node:crypto: the request the SDK's signer (@smithy/signature-v4, as the S3 client configures
 * it: paths signed as sent, the payload hash given in x-amz-content-sha256) would sign, for a
 * tenth of its CPU — it derives its signing key's cache key with an HMAC on every request and
 * clones the request twice. The same headers are left out as there (user-agent, cache-control,
 * …), session credentials add x-amz-security-token, and the signing key is kept per credentials
 * and day. The test suite checks every direct request's signature against the SDK's signer.
 */
import { createHash, createHmac } from 'node:crypto';
import type { AwsCredentialIdentity } from '@smithy/types';

/** Headers the SDK's signer never signs (its ALWAYS_UNSIGNABLE_HEADERS), besides proxy-* and sec-*. */
const UNSIGNED = new Set([
  'authorization', 'cache-control', 'connection', 'expect', 'from', 'keep-alive', 'max-forwards', 'pragma', 'referer', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'user-agent', 'x-amzn-trace-id',
]);

export class S3RequestSigner {
  readonly #credentials: () => Promise<AwsCredentialIdentity>;
  readonly #region: string;
  readonly #service: string;
  /** The last signing key and what it was derived from. */
  #key: { accessKeyId: string; secret: string; day: string; key: Buffer } | undefined;

  constructor(credentials: () => Promise<AwsCredentialIdentity>, region: string, service: string) {
    this.#credentials = credentials;
    this.#region = region;
    this.#service = service;
  }

  /**
   * Signs in place: adds x-amz-date, x-amz-security-token (session credentials) and
   * authorization to `headers` (lower-case names, x-amz-content-sha256 among them). `path` is
   * signed as it is sent; `query` is the canonical query string ('' for none).
   */
  async sign(method: string, path: string, query: string, headers: Record<string, string>, date: Date): Promise<void> {
    const c = await this.#credentials();
    if (typeof c.accessKeyId !== 'string' || typeof c.secretAccessKey !== 'string') throw new Error('Resolved credential object is not valid');
    const longDate = date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
    const day = longDate.slice(0, 8);
    headers['x-amz-date'] = longDate;
    if (c.sessionToken) headers['x-amz-security-token'] = c.sessionToken;
    const names = Object.keys(headers).filter((n) => !UNSIGNED.has(n) && !n.startsWith('proxy-') && !n.startsWith('sec-')).sort();
    let canonicalHeaders = '';
    for (const n of names) canonicalHeaders += `${n}:${headers[n].replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '')}\n`;
    const signedHeaders = names.join(';');
    const canonical = `${method}\n${path}\n${query}\n${canonicalHeaders}\n${signedHeaders}\n${headers['x-amz-content-sha256']}`;
    const scope = `${day}/${this.#region}/${this.#service}/aws4_request`;
    const toSign = `AWS4-HMAC-SHA256\n${longDate}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`;
    const signature = createHmac('sha256', this.#signingKey(c, day)).update(toSign).digest('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${c.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  }

  #signingKey(c: AwsCredentialIdentity, day: string): Buffer {
    const k = this.#key;
    if (k && k.day === day && k.accessKeyId === c.accessKeyId && k.secret === c.secretAccessKey) return k.key;
    let key = createHmac('sha256', `AWS4${c.secretAccessKey}`).update(day).digest();
    for (const part of [this.#region, this.#service, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
    this.#key = { accessKeyId: c.accessKeyId, secret: c.secretAccessKey, day, key };
    return key;
  }
}
