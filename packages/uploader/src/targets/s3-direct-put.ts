/**
 * The hot path of the S3 target: one PUT of a segment or a playlist, SigV4-signed as the SDK's
 * signer signs it (s3-sigv4.ts) and sent on the target's keep-alive agents, without the SDK's per-request
 * middleware stack (about a third of the uploader's CPU at a few hundred renditions). The same
 * path reads a stored playlist back (`get`: each new stream's first message, usually a 404),
 * and sends the bucket check's HeadBucket, probe PUT and DELETE (and retention's deletes).
 *
 * Everything that decides what the request is comes from the S3Client's resolved configuration,
 * so it is the request PutObjectCommand would send: the endpoint from the client's own rule set
 * (path-style or virtual-hosted, custom endpoint, region, FIPS, dual-stack), the credentials from
 * its provider chain (memoized, refreshed before they expire), its clock-skew correction. A
 * failed request becomes the same S3ServiceException the SDK throws (name = the store's error
 * code: SlowDown, AccessDenied, PermanentRedirect…), which the upload queue retries as before.
 * Like the SDK as the target configures it (maxAttempts 1, no region redirects), a request is
 * sent once and a 3xx is that error: nothing is followed or retried here.
 *
 * What only the SDK does is left to it — `put` answers false and the caller sends the command:
 * endpoints signed with anything but plain SigV4 (S3 Express, multi-region access points) and
 * bodies large enough for the SDK to send `Expect: 100-continue`.
 *
 * Middleware added to the client after it was built (tests observing requests) still sees every
 * request: it runs around the send, as it does around the SDK's.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- middleware stacks are typed per command; these carry any */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { PutObjectCommand, S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
import { constructStack } from '@smithy/core/client';
import { getEndpointFromInstructions } from '@smithy/core/endpoints';
import type { MiddlewareStack } from '@smithy/types';
import { S3RequestSigner } from './s3-sigv4';
import { s3ErrorFromResponse } from './s3-error-response';

export interface DirectPutParams {
  bucket: string;
  key: string;
  /** A playlist's text goes as the string it is (UTF-8), as the SDK sends it. */
  body: Buffer | string;
  contentType: string;
  /** Absent: no Cache-Control (the bucket check's probe). */
  cacheControl?: string;
  acl?: 'public-read';
}

export interface DirectPutOptions {
  agents: { http: http.Agent; https: https.Agent };
  /** Time allowed to open a connection, ms (the SDK handler's connectionTimeout). */
  connectionTimeoutMs: number;
  /** Longest silence on a socket during a request, ms (the SDK handler's requestTimeout). */
  requestTimeoutMs: number;
  /** Middleware added to the client since it was built (observeAddedMiddleware). */
  observers: MiddlewareStack<any, any>;
}

interface Route {
  protocol: 'http:' | 'https:';
  hostname: string;
  port: string;
  /** Host header: with the port unless it is the scheme's default. */
  host: string;
  /** Path of the bucket on the endpoint ('' or '/bucket'), without a trailing slash. */
  basePath: string;
  signer: S3RequestSigner;
  /** The sends to this route per operation, observed (made at first use: each sends to its own route). */
  sends: Map<DirectOperation, Handler>;
}

/** The requests sent directly, and their HTTP methods. */
type DirectOperation = 'PutObject' | 'GetObject' | 'HeadBucket' | 'DeleteObject';
const METHODS: Record<DirectOperation, string> = { PutObject: 'PUT', GetObject: 'GET', HeadBucket: 'HEAD', DeleteObject: 'DELETE' };

/** What a sent request answered: the body of a GET's 2xx, '' for a PUT. */
type Handler = (args: { input: object; request: SignableRequest }) => Promise<string>;

interface SignableRequest {
  protocol: string;
  hostname: string;
  port?: number;
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: Buffer | string;
}

const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** SHA-256 of an empty body: what a GET signs as its payload hash. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** Where an observed request's answer travels through the middleware added to the client. */
const ANSWER = Symbol('answer');

/** RFC 3986 unreserved characters stay, everything else is %-encoded (the SDK's extendedEncodeURIComponent), per key segment. */
export function encodeKeyPath(key: string): string {
  return key
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

/**
 * From now on, middleware added to the client is also added to the returned stack (call it right
 * after building the client): the client's own middleware stays out of it, whatever refers to what.
 * Middleware placed relative to another goes in at the step of an observer, finalizeRequest.
 */
export function observeAddedMiddleware(client: S3Client): MiddlewareStack<any, any> {
  const added = constructStack<any, any>();
  const stack = client.middlewareStack;
  const add = stack.add.bind(stack);
  const addRelativeTo = stack.addRelativeTo.bind(stack);
  stack.add = ((mw: any, o?: any) => {
    added.add(mw, o);
    return add(mw, o);
  }) as typeof stack.add;
  stack.addRelativeTo = ((mw: any, o: any) => {
    added.add(mw, { step: 'finalizeRequest', name: o?.name, tags: o?.tags });
    return addRelativeTo(mw, o);
  }) as typeof stack.addRelativeTo;
  return added;
}

export class S3DirectPut {
  readonly #client: S3Client;
  readonly #options: DirectPutOptions;
  /** Per bucket: how to reach it, or null when only the SDK may send to it. */
  readonly #routes = new Map<string, Promise<Route | null>>();

  constructor(client: S3Client, options: DirectPutOptions) {
    this.#client = client;
    this.#options = options;
  }

  /** Stores the object; false when this request must go through the SDK instead (see above). */
  async put(p: DirectPutParams): Promise<boolean> {
    const expect = this.#client.config.expectContinueHeader;
    const length = Buffer.byteLength(p.body);
    if (expect === true || (typeof expect === 'number' && length >= expect)) return false;
    const headers: Record<string, string> = {
      'content-type': p.contentType,
      'content-length': String(length),
      ...(p.cacheControl === undefined ? {} : { 'cache-control': p.cacheControl }),
      'x-amz-content-sha256': createHash('sha256').update(p.body).digest('hex'),
    };
    if (p.acl) headers['x-amz-acl'] = p.acl;
    return (await this.#request('PutObject', p.bucket, p.key, headers, p.body)) !== false;
  }

  /**
   * A stored object's text (UTF-8, as GetObject's transformToString): `{ text }`, with text
   * undefined when there is no such object (404); false when only the SDK may send to this bucket.
   */
  async get(bucket: string, key: string): Promise<{ text: string | undefined } | false> {
    try {
      const text = await this.#request('GetObject', bucket, key);
      return text === false ? false : { text };
    } catch (err) {
      // A 404 is an answer (no such object), as the target's SDK path reads NoSuchKey; observers saw it fail, as there.
      if (err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.$metadata.httpStatusCode === 404)) return { text: undefined };
      throw err;
    }
  }

  /**
   * HeadBucket (the bucket check at start-up and at a bucket's first sight): resolves when the
   * bucket answers 2xx; an error answer has no body, so it is `Unknown` with its status, as the
   * SDK raises it (404 `NotFound`). False when only the SDK may send to this bucket.
   */
  async headBucket(bucket: string): Promise<boolean> {
    try {
      return (await this.#request('HeadBucket', bucket, undefined)) !== false;
    } catch (err) {
      if (err instanceof S3ServiceException && err.name === 'Unknown' && err.$metadata.httpStatusCode === 404) {
        throw Object.assign(err, { name: 'NotFound' });
      }
      throw err;
    }
  }

  /** DeleteObject (2xx, usually 204); false when only the SDK may send to this bucket. */
  async delete(bucket: string, key: string): Promise<boolean> {
    return (await this.#request('DeleteObject', bucket, key)) !== false;
  }

  /**
   * One signed request of `operation` (PutObject, GetObject, HeadBucket, DeleteObject) to the
   * bucket (and key): the body of a GET's 2xx, '' for the others; false when only the SDK may
   * send to this bucket.
   */
  async #request(operation: DirectOperation, bucket: string, key: string | undefined, extra: Record<string, string> = {}, body: Buffer | string = ''): Promise<string | false> {
    const r = await this.#routeFor(bucket, key ?? '');
    if (!r) return false;
    const request: SignableRequest = {
      protocol: r.protocol,
      hostname: r.hostname,
      port: r.port === '' ? undefined : Number(r.port),
      method: METHODS[operation],
      // HeadBucket is the bucket itself: its path on the endpoint, or / on a virtual-hosted one.
      path: key === undefined ? r.basePath || '/' : `${r.basePath}/${encodeKeyPath(key)}`,
      query: key === undefined ? {} : { 'x-id': operation },
      headers: { host: r.host, 'x-amz-content-sha256': EMPTY_SHA256, ...extra, 'user-agent': 'hlsrelay-uploader' },
      body,
    };
    let send = r.sends.get(operation);
    if (!send) {
      send = this.#observed((args) => this.#send(r, args.request), `${operation}Command`);
      r.sends.set(operation, send);
    }
    return send({ input: key === undefined ? { Bucket: bucket } : { Bucket: bucket, Key: key }, request });
  }

  #routeFor(bucket: string, key: string): Promise<Route | null> {
    let route = this.#routes.get(bucket);
    if (!route) {
      route = this.#route(bucket, key);
      this.#routes.set(bucket, route);
    }
    return route;
  }

  async #route(bucket: string, key: string): Promise<Route | null> {
    const config = this.#client.config;
    const endpoint = await getEndpointFromInstructions({ Bucket: bucket, Key: key }, PutObjectCommand, config as never);
    const schemes = (endpoint.properties?.authSchemes ?? []) as Array<{ name?: string; signingName?: string; signingRegion?: string }>;
    const scheme = schemes[0];
    if (!scheme || scheme.name !== 'sigv4' || endpoint.properties?.backend === 'S3Express') return null;
    const url = endpoint.url;
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    // S3 signs the path as sent (disableDoubleEncoding in the rule set), the payload hash as given.
    const signer = new S3RequestSigner(config.credentials, scheme.signingRegion ?? (await config.region()), scheme.signingName ?? 's3');
    return {
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port,
      host: url.host,
      basePath: url.pathname.replace(/\/+$/, ''),
      signer,
      sends: new Map(),
    };
  }

  /** Middleware added to the client since it was built, wrapped around `send`; `send` alone when none was. */
  #observed(send: Handler, commandName: string): Handler {
    const stack = this.#options.observers;
    if (stack.identify().length === 0) return send;
    const resolved = stack.resolve(
      async (args) => {
        const answer = await send(args as unknown as Parameters<Handler>[0]);
        return { output: { $metadata: {} }, response: { [ANSWER]: answer } } as never;
      },
      { logger: this.#client.config.logger, clientName: 'S3Client', commandName },
    );
    return async (args) => ((await resolved(args as never)).response as Record<symbol, string>)[ANSWER];
  }

  async #send(r: Route, request: SignableRequest): Promise<string> {
    const offset = this.#client.config.systemClockOffset ?? 0;
    // One x-id parameter at most: its URL form is its canonical form.
    const query = new URLSearchParams(request.query).toString();
    const headers = { ...request.headers };
    await r.signer.sign(request.method, request.path, query, headers, new Date(Date.now() + offset));
    const reading = request.method === 'GET';
    return new Promise<string>((resolve, reject) => {
      const transport = r.protocol === 'https:' ? https : http;
      const req = transport.request(
        {
          agent: r.protocol === 'https:' ? this.#options.agents.https : this.#options.agents.http,
          protocol: r.protocol,
          hostname: r.hostname,
          port: r.port || undefined,
          method: request.method,
          path: query ? `${request.path}?${query}` : request.path,
          headers,
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300 && !reading) {
            res.resume();
            res.once('end', () => resolve(''));
            res.once('error', reject);
            return;
          }
          const ok = status >= 200 && status < 300;
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (d: Buffer) => {
            if (ok || size < MAX_ERROR_BODY_BYTES) chunks.push(d);
            size += d.length;
          });
          res.once('error', reject);
          res.once('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            if (ok) return resolve(body);
            const err = s3ErrorFromResponse(status, res.headers, body);
            this.#correctClock(err, res.headers.date);
            reject(err);
          });
        },
      );
      req.setTimeout(this.#options.requestTimeoutMs, () => {
        req.destroy(Object.assign(new Error(`no answer from ${r.host} for ${this.#options.requestTimeoutMs} ms`), { name: 'TimeoutError' }));
      });
      req.once('socket', (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(() => {
          req.destroy(Object.assign(new Error(`no connection to ${r.host} within ${this.#options.connectionTimeoutMs} ms`), { name: 'TimeoutError' }));
        }, this.#options.connectionTimeoutMs);
        socket.once('connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      });
      req.once('error', reject);
      req.end(request.body);
    });
  }

  /** As the SDK does: a store that says our clock is off sets the offset later requests are signed with. */
  #correctClock(err: S3ServiceException, date: string | undefined): void {
    if (date === undefined || !/^(RequestTimeTooSkewed|RequestExpired|RequestInTheFuture)$/.test(err.name)) return;
    const server = Date.parse(date);
    if (Number.isFinite(server)) this.#client.config.systemClockOffset = server - Date.now();
  }
}
