/**
 * An S3-compatible store on loopback, for the demo, the tests and the benchmarks.
 *
 * s3rver accepts any signature but only the access key `S3RVER`; it ignores ACLs. Clients
 * must send `requestChecksumCalculation: 'WHEN_REQUIRED'` or streamed bodies are stored with
 * their aws-chunked framing inside.
 */
import { unlink } from 'node:fs/promises';
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
