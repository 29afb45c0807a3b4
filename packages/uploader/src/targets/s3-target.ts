/**
 * The S3 transfer target (AWS S3 or any S3-compatible store: MinIO, R2, s3rver).
 *
 * Credentials come only from the SDK's default chain (environment, shared config and profiles,
 * instance and container roles): never from flags, code or messages.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { open, type FileHandle } from 'node:fs/promises';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { BufferPool } from './buffer-pool';
import { PermanentTransferError, type PlaylistUpload, type SegmentUpload, type TransferTarget } from './transfer-target';

export type CannedAcl = 'public-read' | 'none';

export const SEGMENT_CONTENT_TYPE = 'video/MP2T';
export const PLAYLIST_CONTENT_TYPE = 'application/vnd.apple.mpegurl';
/** Segments never change once written (keys are never reused), so caches may keep them for a day. */
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
  }

  async putSegment(upload: SegmentUpload): Promise<void> {
    const handle = await open(upload.file, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'EISDIR' || err.code === 'EACCES') {
        throw new PermanentTransferError(`cannot read segment file ${upload.file}: ${err.code}`);
      }
      throw err;
    });
    try {
      const { size } = await handle.stat();
      const common = {
        Bucket: upload.bucket,
        Key: upload.key,
        ContentType: SEGMENT_CONTENT_TYPE,
        CacheControl: SEGMENT_CACHE_CONTROL,
        ...this.#aclParam(),
      };
      if (size <= MULTIPART_THRESHOLD) {
        // One PUT with a known length from memory: the cheapest request for typical segments.
        const buffer = this.#buffers.acquire(size);
        const body = buffer.subarray(0, await readFully(handle, buffer, size, upload.file));
        await this.client.send(new PutObjectCommand({ ...common, Body: body, ContentLength: body.length }));
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
      await handle.close();
    }
  }

  async putPlaylist(upload: PlaylistUpload): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: upload.bucket,
        Key: upload.key,
        Body: upload.text,
        ContentType: PLAYLIST_CONTENT_TYPE,
        CacheControl: playlistCacheControl(upload.maxAgeSeconds),
        ...this.#aclParam(),
      }),
    );
  }

  async get(bucket: string, key: string): Promise<string | undefined> {
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
    await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }

  async close(): Promise<void> {
    this.client.destroy();
    this.#agents.http.destroy();
    this.#agents.https.destroy();
  }

  #aclParam(): { ACL?: 'public-read' } {
    return this.#acl === 'public-read' ? { ACL: 'public-read' } : {};
  }
}

/** Reads `size` bytes from the start of the file; a file that shrank meanwhile is an error worth retrying. */
async function readFully(handle: FileHandle, buffer: Buffer, size: number, file: string): Promise<number> {
  let done = 0;
  while (done < size) {
    const { bytesRead } = await handle.read(buffer, done, size - done, done);
    if (bytesRead === 0) throw new Error(`segment file ${file} ended after ${done} of ${size} bytes`);
    done += bytesRead;
  }
  return done;
}

/** `max-age=N`, or `no-cache` when N would be 0 (targets of 1 s). */
export function playlistCacheControl(maxAgeSeconds: number): string {
  return maxAgeSeconds >= 1 ? `max-age=${Math.floor(maxAgeSeconds)}` : 'no-cache';
}
