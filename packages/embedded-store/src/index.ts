/**
 * An S3-compatible store on loopback, for the demo, the tests and the benchmarks.
 *
 * s3rver accepts any signature but only the access key `S3RVER`; it ignores ACLs. Clients
 * must send `requestChecksumCalculation: 'WHEN_REQUIRED'` or streamed bodies are stored with
 * their aws-chunked framing inside.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, fstat, type ReadStream } from 'node:fs';
import { mkdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import S3rver from 's3rver';

/** Credentials s3rver accepts. Only for the embedded store: real S3 takes the standard AWS chain. */
export const EMBEDDED_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const EMBEDDED_REGION = 'us-east-1';

export interface EmbeddedStoreOptions {
  /** Folder for the objects; created if missing. */
  directory: string;
  /** Buckets to create at start. */
  buckets: string[];
  /** 0 (default) picks a free port. */
  port?: number;
  /** Allow GETs from any origin (web players on another origin). Default true. */
  cors?: boolean;
}

export interface EmbeddedStore {
  /** `http://127.0.0.1:PORT`, for `--s3-endpoint` and for players. */
  endpoint: string;
  port: number;
  /** Public URL of an object, path-style: `<endpoint>/<bucket>/<key>`. */
  url(bucket: string, key: string): string;
  close(): Promise<void>;
}

const ALLOW_ALL_CORS = `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <MaxAgeSeconds>3000</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>`;

export async function startEmbeddedStore(options: EmbeddedStoreOptions): Promise<EmbeddedStore> {
  const cors = options.cors ?? true;
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory: options.directory,
    configureBuckets: options.buckets.map((name) => ({ name, configs: cors ? [ALLOW_ALL_CORS] : [] })),
  });
  // s3rver's delete also removes directories left empty, racing a PUT under the same prefix: its
  // write stream then fails to open, an exception nothing catches, and the store is gone (the
  // uploader's first-sight probe PUT+DELETE beside a stream's first segment does exactly that).
  // S3 has no directories: delete the object's files and leave the folders.
  const files = server.store;
  files.deleteObject = async (bucket, key) => {
    await Promise.all(
      ['object', 'object.md5', 'metadata.json'].map((resource) =>
        unlink(files.getResourcePath(bucket, key, resource)).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        }),
      ),
    );
  };
  // s3rver writes an object in place (truncate, then write) and answers a GET with the size it
  // stat()ed and the bytes it opened a moment later: a player reading a playlist while the next
  // version is stored could get a short body with a matching Content-Length. Objects are written
  // beside their name and renamed over it, so a GET that opened one reads one whole version, and
  // a GET whose opened file is not the size it announced (renamed between the two) is read again.
  let parts = 0;
  files.putObject = async (object) => {
    const objectPath = files.getResourcePath(object.bucket, object.key, 'object');
    const part = files.getResourcePath(object.bucket, object.key, `part-${process.pid}-${++parts}`);
    await mkdir(path.dirname(objectPath), { recursive: true });
    const md5 = createHash('md5');
    let size = 0;
    const body = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : (object.content ?? Readable.from([]));
    const count = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        md5.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(body, count, createWriteStream(part));
      await rename(part, objectPath);
    } catch (err) {
      await unlink(part).catch(() => undefined);
      throw err;
    }
    const digest = md5.digest('hex');
    await files.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
  };
  // Its metadata files too: a GET parsing a half-written metadata.json answers 500.
  const putMetadata = files.putMetadata.bind(files);
  files.putMetadata = async (bucket, key, metadata, md5) => {
    const part = `${key}.part-${process.pid}-${++parts}`;
    await putMetadata(bucket, part, metadata, md5);
    for (const resource of ['object.md5', 'metadata.json']) {
      await rename(files.getResourcePath(bucket, part, resource), files.getResourcePath(bucket, key, resource)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err; // no md5 given: none written
      });
    }
  };
  const getObject = files.getObject.bind(files);
  const sizeOf = promisify(fstat);
  files.getObject = async (bucket, key, options) => {
    for (let attempt = 1; ; attempt += 1) {
      const object = await getObject(bucket, key, options);
      const content = object?.content as (ReadStream & { fd?: number | null }) | null | undefined;
      if (!object || typeof content?.fd !== 'number' || attempt === 5) return object;
      if ((await sizeOf(content.fd)).size === Number(object.metadata['content-length'])) return object;
      content.destroy();
    }
  };
  // Requests whose handler still runs: one whose client hung up (a killed uploader) goes on
  // touching files after its connection closed, so close() waits for them too — a caller may
  // remove the directory next.
  let handling = 0;
  server.middleware.unshift(async (_ctx, next) => {
    handling += 1;
    try {
      await next();
    } finally {
      handling -= 1;
    }
  });
  const address = (await server.run()) as { address: string; port: number };
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    port: address.port,
    url: (bucket, key) => `${endpoint}/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`,
    close: async () => {
      await server.close();
      for (let waited = 0; handling > 0 && waited < 10_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    },
  };
}
