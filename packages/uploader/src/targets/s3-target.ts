/**
 * The S3 transfer target (AWS S3 or any S3-compatible store: MinIO, R2, s3rver).
 *
 * Credentials come only from the SDK's default chain (environment, shared config and profiles,
 * instance and container roles): never from flags, code or messages.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { open } from 'node:fs/promises';
import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { BufferPool } from './buffer-pool';
import { observeAddedMiddleware, S3DirectPut } from './s3-direct-put';
import { checkS3Bucket, checkS3Credentials, type S3CheckRequests } from './s3-check';
import { readFully } from './segment-source';
import { PermanentTransferError, type KeyUpload, type PlaylistUpload, type SegmentUpload, type TransferTarget } from './transfer-target';

export type CannedAcl = 'public-read' | 'none';

export const SEGMENT_CONTENT_TYPE = 'video/MP2T';
/**
 * fMP4 init sections (`.mp4`) and media segments (`.m4s`): `video/mp4`, as ffmpeg, Apple's
 * tools and MediaPackage serve them. `video/iso.segment` is registered for `.m4s` but CDN
 * compression and MIME rules, S3 consoles and some TV players do not know it; every HLS player
 * takes `video/mp4` for both, and one type keeps the init and its segments under the same rules.
 */
export const FMP4_CONTENT_TYPE = 'video/mp4';

/** The Content-Type of a stored segment (or init section), from its object key. */
export function segmentContentType(key: string): string {
  return /\.(m4s|mp4)$/i.test(key) ? FMP4_CONTENT_TYPE : SEGMENT_CONTENT_TYPE;
}
/** Content keys: raw bytes, private, never in a shared cache (RFC 8216 §5.2; HLS-NOTES). */
export const KEY_CONTENT_TYPE = 'application/octet-stream';
export const KEY_CACHE_CONTROL = 'private, no-store';
export const PLAYLIST_CONTENT_TYPE = 'application/vnd.apple.mpegurl';
/** Segments and init sections never change once written (keys are never reused), so caches may keep them for a day. */
export const SEGMENT_CACHE_CONTROL = 'public, max-age=86400, immutable';
/** Above this a segment goes up in parts with lib-storage rather than one PUT from memory. */
export const MULTIPART_THRESHOLD = 16 * 1024 * 1024;

export interface S3TargetOptions {
  /** `public-read` (the original's behaviour) or `none` for buckets that reject ACLs. */
  acl: CannedAcl;
  /** S3-compatible endpoint URL; omit for AWS. */
  endpoint?: string;
  region?: string;
  /** Path-style URLs (`<endpoint>/<bucket>/<key>`), as MinIO and s3rver need. */
  forcePathStyle?: boolean;
  /** Sockets kept open to the store; size it to the upload concurrency. */
  maxSockets: number;
  /**
   * Extra client settings, for tests and the embedded store (e.g. its fixed credentials, or
   * middleware observing requests). Production leaves credentials to the default chain.
   */
  clientConfig?: Partial<S3ClientConfig>;
}

export class S3Target implements TransferTarget {
  readonly name: string;
  readonly client: S3Client;
  readonly #acl: CannedAcl;
  readonly #agents: { http: HttpAgent; https: HttpsAgent };
  readonly #buffers: BufferPool;
  /** Segment and playlist PUTs without the SDK's middleware stack; absent when the caller brought its own request handler. */
  readonly #direct: S3DirectPut | undefined;

  constructor(options: S3TargetOptions) {
    if (options.acl !== 'public-read' && options.acl !== 'none') {
      throw new TypeError(`acl must be "public-read" or "none", got "${String(options.acl)}"`);
    }
    if (!Number.isInteger(options.maxSockets) || options.maxSockets < 1) {
      throw new TypeError(`maxSockets must be an integer ≥ 1, got ${options.maxSockets}`);
    }
    this.#acl = options.acl;
    this.#buffers = new BufferPool(options.maxSockets);
    this.name = options.endpoint ? `s3 (${options.endpoint})` : 's3';
    // Keep-alive sockets: a new TCP (and TLS) handshake per object would cost more than a small PUT.
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets, maxFreeSockets: options.maxSockets };
    this.#agents = { http: new HttpAgent(agentOptions), https: new HttpsAgent(agentOptions) };
    this.client = new S3Client({
      endpoint: options.endpoint,
      region: options.region ?? 'us-east-1',
      forcePathStyle: options.forcePathStyle ?? false,
      // Checksums only where S3 requires them: s3rver otherwise stores aws-chunked framing
      // inside streamed bodies; for S3 this is the pre-2025 SDK behaviour.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // The upload queue retries with its own backoff and logs each attempt.
      maxAttempts: 1,
      requestHandler: {
        httpAgent: this.#agents.http,
        httpsAgent: this.#agents.https,
        connectionTimeout: 5_000,
        requestTimeout: 60_000,
      },
      ...options.clientConfig,
    });
    this.#direct = options.clientConfig?.requestHandler
      ? undefined
      : new S3DirectPut(this.client, { agents: this.#agents, connectionTimeoutMs: 5_000, requestTimeoutMs: 60_000, observers: observeAddedMiddleware(this.client) });
  }

  async putSegment(upload: SegmentUpload): Promise<void> {
    if (upload.body) return this.#putBody(upload, upload.body);
    // A file the caller opened and checked (ConfinedTarget) is read as it is: no second open and fstat.
    const opened = upload.opened && upload.opened.size <= MULTIPART_THRESHOLD ? upload.opened : undefined;
    const handle = opened?.handle ?? await open(upload.file, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'EISDIR' || err.code === 'EACCES') {
        throw new PermanentTransferError(`cannot read segment file ${upload.file}: ${err.code}`);
      }
      throw err;
    });
    try {
      const size = opened?.size ?? (await handle.stat()).size;
      const common = this.#segmentParams(upload);
      if (size <= MULTIPART_THRESHOLD) {
        // One PUT with a known length from memory: the cheapest request for typical segments.
        const buffer = this.#buffers.acquire(size);
        await this.#put(common, buffer.subarray(0, await readFully(handle, buffer, size, upload.file)));
        // Only after success: after a failure the socket could, in principle, still hold it.
        this.#buffers.release(buffer);
      } else {
        const upload = new Upload({
          client: this.client,
          // ContentLength tells lib-storage how many parts to expect; a stream with `start` but
          // no `end` would make it expect Infinity and abort every attempt.
          params: { ...common, Body: handle.createReadStream({ autoClose: false }), ContentLength: size },
          partSize: 8 * 1024 * 1024,
          queueSize: 2,
        });
        await upload.done();
      }
    } finally {
      if (!opened) await handle.close();
    }
  }

  /** Bytes already in memory (an encrypted segment): one PUT, the direct one where there is one. */
  async #putBody(upload: SegmentUpload, body: Buffer): Promise<void> {
    const common = this.#segmentParams(upload);
    if (body.length > MULTIPART_THRESHOLD) {
      await new Upload({ client: this.client, params: { ...common, Body: body, ContentLength: body.length }, partSize: 8 * 1024 * 1024, queueSize: 2 }).done();
    } else {
      await this.#put(common, body);
    }
  }

  /** One PutObject: the direct request where there is one, else through the SDK. */
  async #put(params: ObjectParams, body: Buffer | string): Promise<void> {
    if (await this.#direct?.put({ ...directParams(params), body })) return;
    await this.client.send(new PutObjectCommand({ ...params, Body: body, ...(typeof body === 'string' ? {} : { ContentLength: body.length }) }));
  }

  #segmentParams(upload: SegmentUpload) {
    return { Bucket: upload.bucket, Key: upload.key, ContentType: segmentContentType(upload.key), CacheControl: SEGMENT_CACHE_CONTROL, ...this.#aclParam() };
  }

  async putPlaylist(upload: PlaylistUpload): Promise<void> {
    const params = {
      Bucket: upload.bucket,
      Key: upload.key,
      ContentType: PLAYLIST_CONTENT_TYPE,
      CacheControl: playlistCacheControl(upload.maxAgeSeconds),
      ...this.#aclParam(),
    };
    await this.#put(params, upload.text);
  }

  /** A content key: never with the public-read ACL, whatever --acl says. */
  async putKey(upload: KeyUpload): Promise<void> {
    const params = { Bucket: upload.bucket, Key: upload.key, ContentType: KEY_CONTENT_TYPE, CacheControl: KEY_CACHE_CONTROL };
    await this.#put(params, Buffer.from(upload.bytes));
  }

  async get(bucket: string, key: string): Promise<string | undefined> {
    const direct = await this.#direct?.get(bucket, key);
    if (direct) return direct.text;
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return (await r.Body?.transformToString('utf8')) ?? '';
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined;
      throw err;
    }
  }

  async delete(bucket: string, key: string): Promise<void> {
    if (await this.#direct?.delete(bucket, key)) return;
    await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }

  /** Credentials resolve from the default chain (s3-check.ts); objects replace atomically on every PUT. */
  async checkAccess(): Promise<Record<string, string>> {
    await checkS3Credentials(this.client, this.name);
    return { acl: this.#acl, playlists: 'replaced by PUT (atomic)' };
  }

  /** The bucket exists and takes a probe object with this target's ACL (s3-check.ts). */
  checkBucket(bucket: string, prefix: string): Promise<string | undefined> {
    return checkS3Bucket(this.#checkRequests, this.name, bucket, prefix, this.#acl);
  }

  /** The check's requests, sent like the uploads (directly where they can be), so a bucket's first sight costs what three small uploads do. */
  readonly #checkRequests: S3CheckRequests = {
    headBucket: async (bucket) => {
      if (await this.#direct?.headBucket(bucket)) return;
      await this.client.send(new HeadBucketCommand({ Bucket: bucket }));
    },
    putProbe: (bucket, key, body) => this.#put({ Bucket: bucket, Key: key, ContentType: 'text/plain', ...this.#aclParam() }, body),
    delete: (bucket, key) => this.delete(bucket, key),
  };

  async close(): Promise<void> {
    this.client.destroy();
    this.#agents.http.destroy();
    this.#agents.https.destroy();
  }

  #aclParam(): { ACL?: 'public-read' } {
    return this.#acl === 'public-read' ? { ACL: 'public-read' } : {};
  }
}

interface ObjectParams {
  Bucket: string;
  Key: string;
  ContentType: string;
  CacheControl?: string;
  ACL?: 'public-read';
}

function directParams(p: ObjectParams) {
  return { bucket: p.Bucket, key: p.Key, contentType: p.ContentType, cacheControl: p.CacheControl, acl: p.ACL };
}

/** `max-age=N`, or `no-cache` when N would be 0 (targets of 1 s). */
export function playlistCacheControl(maxAgeSeconds: number): string {
  return maxAgeSeconds >= 1 ? `max-age=${Math.floor(maxAgeSeconds)}` : 'no-cache';
}
