// s3rver ships no types; the part of its API this package uses.
declare module 's3rver' {
  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory: string;
    resetOnClose?: boolean;
    configureBuckets?: Array<{ name: string; configs?: Array<string | Buffer> }>;
  }
  /** s3rver's S3Object: `content` is the request body on a PUT, a file read stream on a GET. */
  interface StoredObject {
    bucket: string;
    key: string;
    content: Buffer | NodeJS.ReadableStream | null;
    metadata: Record<string, string>;
  }
  class S3rver {
    constructor(options: S3rverOptions);
    run(): Promise<unknown>;
    close(): Promise<void>;
    /** The filesystem store behind the API. */
    store: {
      getResourcePath(bucket: string, key: string, resource: string): string;
      deleteObject(bucket: string, key: string): Promise<void>;
      putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
      getObject(bucket: string, key: string, options?: unknown): Promise<StoredObject | null>;
      putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
    };
    /** Koa's middleware list (S3rver is a Koa application), composed when run() starts. */
    middleware: Array<(ctx: unknown, next: () => Promise<void>) => Promise<void>>;
  }
  export = S3rver;
}
