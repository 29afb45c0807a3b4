/**
 * Shared set-up for the uploader's integration tests: a real s3rver (behind a port the test
 * holds, so it can stop and start again), the uploader service in-process on 127.0.0.1:0, real TCP clients, and a record of every request the S3 client
 * sent (s3rver ignores ACLs, so those are asserted on the way out).
 */
import { rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { EMBEDDED_CREDENTIALS, EMBEDDED_REGION, type EmbeddedStore } from '@hlsrelay/embedded-store';
import { silentLogger, type Logger } from '@hlsrelay/log';
import { formatMessage, frameMessage, segmentFileName, type IndexMessage } from '@hlsrelay/protocol';
import { S3Target, startUploaderService, type CannedAcl, type UploaderService } from '@hlsrelay/uploader';
import { HeldStore } from './held-store';
import { until } from './until';
import { tempDir } from './temp-dir';

export interface SentRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
}

export interface Harness {
  dir: string;
  store: EmbeddedStore;
  storeDir: string;
  service: UploaderService;
  requests: SentRequest[];
  /** `PUT <path>` of every request the store answered with success, in the order the answers came. */
  stored: string[];
  /** Each stored playlist's text, with its index in `stored`. */
  storedPlaylists: Array<{ at: number; text: string }>;
  /** Starts the store again on its directory, at the same endpoint (after `store.close()`). */
  restartStore(): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(
  options: { buckets?: string[]; acl?: CannedAcl; window?: number; concurrency?: number; logger?: Logger; retryMaxMs?: number } = {},
): Promise<Harness> {
  const dir = tempDir('uploader-test');
  const storeDir = path.join(dir, 'store');
  const buckets = options.buckets ?? ['mybucket'];
  const store = await HeldStore.start(storeDir, buckets);
  const { target, requests, stored, storedPlaylists } = recordedS3Target(store.endpoint, { acl: options.acl ?? 'public-read', maxSockets: 16 });
  const service = await startUploaderService({
    target,
    logger: options.logger ?? silentLogger(),
    host: '127.0.0.1',
    port: 0,
    window: options.window,
    concurrency: options.concurrency ?? 8,
    retry: { initialDelayMs: 50, maxDelayMs: options.retryMaxMs ?? 400 },
  });
  const h: Harness = {
    dir,
    get store() {
      return store;
    },
    storeDir,
    service,
    requests,
    stored,
    storedPlaylists,
    restartStore: () => store.start(),
    async close() {
      await service.close();
      await store.release();
      await rm(dir, { recursive: true, force: true });
    },
  } as Harness;
  return h;
}

/** The S3 client the rigs give the uploader: every request it sends is recorded on the way out. */
export function recordedS3Target(endpoint: string, options: { acl: CannedAcl; maxSockets: number }) {
  const requests: SentRequest[] = [];
  const stored: string[] = [];
  const storedPlaylists: Array<{ at: number; text: string }> = [];
  const target = new S3Target({
    acl: options.acl,
    endpoint,
    region: EMBEDDED_REGION,
    forcePathStyle: true,
    maxSockets: options.maxSockets,
    clientConfig: { credentials: EMBEDDED_CREDENTIALS },
  });
  target.client.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { method: string; path: string; headers: Record<string, string>; body?: unknown };
      requests.push({ method: req.method, path: req.path, headers: { ...req.headers } });
      const result = await next(args);
      if (typeof req.body === 'string') storedPlaylists.push({ at: stored.length, text: req.body });
      stored.push(`${req.method} ${decodeURIComponent(req.path)}`);
      return result;
    },
    { step: 'finalizeRequest', name: 'recordRequests' },
  );
  return { target, requests, stored, storedPlaylists };
}

/** The original framing: connect, send one message with no line end, close. */
export function sendOriginal(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(text));
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (reply += d));
    socket.on('error', reject);
    // Every connection is greeted (protocol session.ts); an original segmenter never reads it.
    socket.on('close', () => resolve(withoutGreeting(reply)));
  });
}

/** What the uploader answered after its greeting line. */
export function withoutGreeting(reply: string): string {
  return reply.replace(/^HLSRELAY [^\n]*\n/, '');
}

/** A persistent connection carrying newline-framed messages; collects what the uploader answers. */
export class PersistentClient {
  readonly socket: net.Socket;
  replies = '';

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    // The greeting line (protocol session.ts) is not an answer to anything sent here.
    let greeting: string | undefined = '';
    socket.on('data', (d: string) => {
      if (greeting === undefined) {
        this.replies += d;
      } else if ((greeting += d).includes('\n')) {
        this.replies += withoutGreeting(greeting);
        greeting = undefined;
      }
    });
  }

  static connect(port: number): Promise<PersistentClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new PersistentClient(socket)));
      socket.once('error', reject);
    });
  }

  send(text: string): void {
    this.socket.write(frameMessage(text));
  }

  /** Waits until the replies contain `n` lines. */
  async waitForLines(n: number): Promise<string[]> {
    await until(() => this.replies.split('\n').length - 1 >= n);
    return this.replies.split('\n').slice(0, n);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
    });
  }
}

/** A stream the tests play the segmenter for: writes segment files and formats its messages. */
export class FakeStream {
  constructor(
    readonly dir: string,
    readonly base: Omit<IndexMessage, 'lastSegment' | 'end' | 'ext' | 'outputDirectory'>,
  ) {}

  /** Distinct bytes per stream and segment, so a mix-up cannot go unnoticed. */
  content(n: number): Buffer {
    const header = Buffer.from(`${this.base.keyPrefix}/${this.base.outputPrefix} segment ${n}\n`);
    return Buffer.concat([header, Buffer.alloc(1000 + n, n & 0xff)]);
  }

  async cut(n: number): Promise<void> {
    await writeFile(path.join(this.dir, segmentFileName(this.base.outputPrefix, n)), this.content(n));
  }

  message(n: number, end = false, ext: IndexMessage['ext'] = {}): string {
    return formatMessage({ ...this.base, outputDirectory: this.dir, lastSegment: n, end, ext });
  }
}

/**
 * GETs an object from the store. s3rver rewrites an object in place, so a GET racing a PUT of
 * the same key can be cut off mid-body (fetch: "terminated"); S3 PUTs are atomic. Such a read is
 * simply repeated, a few times at most.
 */
export async function getObject(store: EmbeddedStore, bucket: string, key: string): Promise<{ status: number; body: Buffer; headers: Headers }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(store.url(bucket, key));
      return { status: res.status, body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** The segment URIs a playlist lists. */
export function listedUris(playlist: string): string[] {
  return playlist.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}
