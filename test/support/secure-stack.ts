/**
 * An uploader set up as SECURITY.md recommends, in-process on 127.0.0.1:0 against a real s3rver,
 * with a legitimate live stream flowing through it — so every attack test can show the refusal
 * and that the honest stream kept advancing (not a test file).
 */
import { mkdir, rm } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { startEmbeddedStore, type EmbeddedStore } from '@hlsrelay/embedded-store';
import { formatHello, frameMessage } from '@hlsrelay/protocol';
import {
  AllowedKeys,
  AllowedPaths,
  ConfinedTarget,
  MessagePolicy,
  parseBucketGrant,
  startUploaderService,
  type ConnectionLimits,
  type UploaderService,
} from '@hlsrelay/uploader';
import { until } from './until';
import { FakeStream, getObject, listedUris, recordedS3Target } from './uploader-rig';
import { captureLog, type CapturedLog } from './log-capture';
import { tempDir } from './temp-dir';

export const BUCKET = 'mybucket';
export const OTHER_BUCKET = 'other';

export interface SecureStack {
  dir: string;
  /** The only directory messages may read from. */
  segments: string;
  /** A directory outside it, with files an attacker would like published. */
  outside: string;
  store: EmbeddedStore;
  service: UploaderService;
  port: number;
  log: CapturedLog;
  /** `PUT /bucket/key` of every request sent to the store. */
  puts: string[];
  legit: LegitStream;
  close(): Promise<void>;
}

export interface StackOptions {
  limits?: Partial<ConnectionLimits>;
  token?: string;
  /** Extra service options (TLS, …). */
  service?: Record<string, unknown>;
  /** The legitimate segmenter connects over TLS trusting this CA. */
  legitTls?: { ca: Buffer };
}

export async function startSecureStack(options: StackOptions = {}): Promise<SecureStack> {
  const dir = tempDir('security');
  const segments = path.join(dir, 'segments');
  const outside = path.join(dir, 'outside');
  await mkdir(segments);
  await mkdir(outside);
  const store = await startEmbeddedStore({ directory: path.join(dir, 'store'), buckets: [BUCKET, OTHER_BUCKET] });
  const { target: s3, requests } = recordedS3Target(store.endpoint, { acl: 'none', maxSockets: 8 });
  const paths = await AllowedPaths.resolve([segments]);
  const keys = new AllowedKeys([parseBucketGrant(`${BUCKET}/live`)]);
  const log = captureLog('uploader');
  const service = await startUploaderService({
    target: new ConfinedTarget(s3, paths, keys),
    logger: log.logger,
    host: '127.0.0.1',
    port: 0,
    window: 3,
    concurrency: 4,
    retry: { initialDelayMs: 50, maxDelayMs: 400 },
    policy: new MessagePolicy({ paths, keys }),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.token ? { token: options.token } : {}),
    ...options.service,
  } as Parameters<typeof startUploaderService>[0]);
  const port = service.address.port;
  const legit = await LegitStream.start(store, segments, port, options.token, options.legitTls);
  return {
    dir,
    segments,
    outside,
    store,
    service,
    port,
    log,
    get puts() {
      return requests.filter((r) => r.method === 'PUT').map((r) => `PUT ${decodeURIComponent(r.path)}`);
    },
    legit,
    async close() {
      legit.socket.destroy();
      await service.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The honest segmenter: one persistent session, one segment at a time. */
export class LegitStream {
  readonly stream: FakeStream;
  next = 1;
  replies = '';

  private constructor(
    readonly store: EmbeddedStore,
    readonly socket: net.Socket,
    segments: string,
  ) {
    this.stream = new FakeStream(segments, {
      index: 'legit.m3u8', segmentDuration: 2, outputPrefix: 'legit', httpPrefix: '', firstSegment: 1,
      bucketName: BUCKET, keyPrefix: 'live/legit',
    });
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (this.replies += d));
  }

  static async start(store: EmbeddedStore, segments: string, port: number, token?: string, secure?: { ca: Buffer }): Promise<LegitStream> {
    const socket = secure ? await connectTls(port, secure.ca) : await connect(port);
    const legit = new LegitStream(store, socket, segments);
    await until(() => legit.replies.includes('\n'), 10_000); // the greeting
    socket.write(frameMessage(formatHello()));
    if (token) {
      socket.write(frameMessage(`AUTH ${token}`));
      await until(() => /^OK 1$/m.test(legit.replies), 10_000);
    }
    await legit.advance();
    return legit;
  }

  /** Cuts and announces the next segment; resolves once the stored playlist lists it. */
  async advance(): Promise<number> {
    const n = this.next++;
    await this.stream.cut(n);
    this.socket.write(frameMessage(this.stream.message(n, false, { duration: 2 })));
    const name = `legit-${String(n).padStart(5, '0')}.ts`;
    await until(async () => {
      const playlist = await getObject(this.store, BUCKET, 'live/legit/legit.m3u8');
      return playlist.status === 200 && listedUris(playlist.body.toString()).includes(name);
    });
    return n;
  }
}

export function connectTls(port: number, ca: Buffer): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca }, () => resolve(socket));
    socket.once('error', reject);
  });
}

export function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/**
 * The 2009 exchange: connect, send, half-close, then collect everything the uploader says until
 * it closes. The greeting line is dropped (an original segmenter never reads it).
 */
export async function exchange(port: number, text: string | Buffer): Promise<string> {
  const socket = await connect(port);
  return new Promise((resolve) => {
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (reply += d));
    socket.on('error', () => {});
    socket.on('close', () => resolve(reply.replace(/^HLSRELAY [^\n]*\n/, '')));
    socket.end(text);
  });
}
