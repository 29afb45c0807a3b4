/**
 * The S3 target's own PUTs (s3-direct-put.ts), seen from the store's side: a small HTTP server on
 * 127.0.0.1:0 records what arrives and answers as S3 would — 200, or S3 error XML. s3rver ignores
 * ACLs and signatures, so those are asserted here, on the wire; uploader-s3.test.ts runs the same
 * path against s3rver. The stored-playlist read-back (`get`) takes the same path: asserted here
 * against s3rver behind a recording proxy, and its errors against the fake store.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { EMBEDDED_CREDENTIALS, EMBEDDED_REGION, startEmbeddedStore } from '@hlsrelay/embedded-store';
import { silentLogger } from '@hlsrelay/log';
import { describe, S3Target, UploadQueue, type CannedAcl } from '@hlsrelay/uploader';
import { RecordingProxy } from '../../support/recording-proxy';
import { tempDir } from '../../support/temp-dir';

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const REGION = 'eu-west-1';

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

type Answer = { status: number; body?: string; headers?: Record<string, string> };

/** Answers the n-th request with answers[n] (the last one from then on); records every request. */
async function fakeStore(answers: Answer[]): Promise<{ endpoint: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
      const a = answers[Math.min(received.length - 1, answers.length - 1)];
      res.writeHead(a.status, { 'content-type': 'application/xml', ...a.headers });
      res.end(a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

function target(endpoint: string, acl: CannedAcl = 'public-read'): S3Target {
  return new S3Target({ acl, endpoint, region: REGION, forcePathStyle: true, maxSockets: 4, clientConfig: { credentials: CREDENTIALS } });
}

const s3Error = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>4442587FB7D0A2F9</RequestId><HostId>h0st</HostId></Error>`;

/** Signs the request again, from what arrived, with the SDK's signer and the same credentials. */
async function expectedAuthorization(r: Received, s3: S3Target, credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = CREDENTIALS): Promise<string> {
  const auth = r.headers.authorization!;
  const signedNames = /SignedHeaders=([^,]+)/.exec(auth)![1].split(';');
  const headers: Record<string, string> = {};
  for (const name of signedNames) headers[name] = String(r.headers[name]);
  const url = new URL(r.url, 'http://x');
  const amzDate = headers['x-amz-date'];
  const signingDate = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
  const signer = new SignatureV4({ credentials, region: REGION, service: 's3', sha256: s3.client.config.sha256, uriEscapePath: false, applyChecksum: false });
  const signed = await signer.sign(
    { method: r.method, protocol: 'http:', hostname: '127.0.0.1', path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body: r.body } as never,
    { signingDate },
  );
  return (signed as unknown as { headers: Record<string, string> }).headers.authorization;
}

test('segment and playlist PUTs carry ACL, caching, type, length and a SigV4 signature the SDK signer reproduces', async (t) => {
  const store = await fakeStore([{ status: 200 }]);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hlsrelay-direct-put-'));
  const s3 = target(store.endpoint);
  t.after(async () => {
    await s3.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const bytes = Buffer.alloc(188 * 1000, 0x47);
  const file = path.join(dir, 'cam-00001.ts');
  await writeFile(file, bytes);
  await s3.putSegment({ bucket: 'live-bucket', key: 'events/cam 1/cam-00001.ts', file });
  await s3.putPlaylist({ bucket: 'live-bucket', key: 'events/cam 1/cam.m3u8', text: '#EXTM3U\n# é\n', maxAgeSeconds: 3 });

  assert.equal(store.received.length, 2);
  const [segment, playlist] = store.received;
  // Not through the SDK's stack: its user-agent middleware would have named the SDK.
  assert.equal(segment.headers['user-agent'], 'hlsrelay-uploader');
  assert.equal(segment.method, 'PUT');
  assert.equal(segment.url, '/live-bucket/events/cam%201/cam-00001.ts?x-id=PutObject');
  assert.equal(segment.headers['x-amz-acl'], 'public-read');
  assert.equal(segment.headers['cache-control'], 'public, max-age=86400, immutable');
  assert.equal(segment.headers['content-type'], 'video/MP2T');
  assert.equal(segment.headers['content-length'], String(bytes.length));
  assert.deepEqual(segment.body, bytes);
  assert.equal(playlist.headers['cache-control'], 'max-age=3');
  assert.equal(playlist.headers['content-type'], 'application/vnd.apple.mpegurl');
  assert.equal(playlist.headers['content-length'], String(Buffer.byteLength('#EXTM3U\n# é\n')));
  assert.equal(playlist.body.toString(), '#EXTM3U\n# é\n');
  for (const r of store.received) {
    assert.equal(r.headers['x-amz-content-sha256'], createHash('sha256').update(r.body).digest('hex'));
    assert.match(r.headers.authorization!, new RegExp(`^AWS4-HMAC-SHA256 Credential=${CREDENTIALS.accessKeyId}/\\d{8}/${REGION}/s3/aws4_request, `));
    assert.match(r.headers.authorization!, /SignedHeaders=[^,]*content-type;host;x-amz-acl;x-amz-content-sha256;x-amz-date/);
    assert.equal(r.headers.authorization, await expectedAuthorization(r, s3));
  }
});

test('a segment held in memory (an encrypted one) goes up by the same direct PUT, its file never read', async (t) => {
  const store = await fakeStore([{ status: 200 }]);
  const s3 = target(store.endpoint);
  t.after(async () => {
    await s3.close();
    await store.close();
  });
  const body = Buffer.alloc(188 * 1000 + 16, 0xa5);
  await s3.putSegment({ bucket: 'live-bucket', key: 'events/cam-00001.ts', file: '/nonexistent/cam-00001.ts', body });
  assert.equal(store.received.length, 1);
  const [segment] = store.received;
  assert.equal(segment.headers['user-agent'], 'hlsrelay-uploader', 'not through the SDK stack');
  assert.equal(segment.url, '/live-bucket/events/cam-00001.ts?x-id=PutObject');
  assert.equal(segment.headers['x-amz-acl'], 'public-read');
  assert.equal(segment.headers['cache-control'], 'public, max-age=86400, immutable');
  assert.equal(segment.headers['content-type'], 'video/MP2T');
  assert.equal(segment.headers['content-length'], String(body.length));
  assert.deepEqual(segment.body, body);
  assert.equal(segment.headers.authorization, await expectedAuthorization(segment, s3));
});

test('--acl none: no ACL header, and it is not signed', async (t) => {
  const store = await fakeStore([{ status: 200 }]);
  const s3 = target(store.endpoint, 'none');
  t.after(async () => {
    await s3.close();
    await store.close();
  });
  await s3.putPlaylist({ bucket: 'b', key: 'x.m3u8', text: '#EXTM3U\n', maxAgeSeconds: 0 });
  assert.equal(store.received[0].headers['x-amz-acl'], undefined);
  assert.equal(store.received[0].headers['cache-control'], 'no-cache');
  assert.doesNotMatch(store.received[0].headers.authorization!, /x-amz-acl/);
  assert.equal(store.received[0].headers.authorization, await expectedAuthorization(store.received[0], s3));
});

test('SlowDown is retried by the upload queue and the PUT then succeeds', async (t) => {
  const store = await fakeStore([{ status: 503, body: s3Error('SlowDown', 'Please reduce your request rate.') }, { status: 200 }]);
  const s3 = target(store.endpoint);
  t.after(async () => {
    await s3.close();
    await store.close();
  });
  const queue = new UploadQueue({ concurrency: 1, retry: { initialDelayMs: 1, maxDelayMs: 1 }, logger: silentLogger(), sleep: async () => {} });
  await queue.transfer('playlist upload', {}, () => s3.putPlaylist({ bucket: 'b', key: 'x.m3u8', text: '#EXTM3U\n', maxAgeSeconds: 1 }));
  assert.equal(store.received.length, 2);
  assert.equal(queue.retries, 1);
});

/** The store errors a request may meet; each must surface with its S3 code. */
const ERROR_ANSWERS: Array<[Answer, string]> = [
  [{ status: 403, body: s3Error('AccessDenied', 'Access Denied') }, 'AccessDenied'],
  [{ status: 503, body: s3Error('SlowDown', 'Please reduce your request rate.') }, 'SlowDown'],
  [{ status: 400, body: s3Error('RequestTimeout', 'Your socket connection to the server was not read from or written to within the timeout period.') }, 'RequestTimeout'],
  [{ status: 301, body: s3Error('PermanentRedirect', 'The bucket you are attempting to access must be addressed using the specified endpoint.') }, 'PermanentRedirect'],
  [{ status: 307, headers: { location: 'http://elsewhere.example/' } }, 'Unknown'],
];

/** For each error answer: our request and the SDK's command fail alike, each sent once (nothing followed or retried). */
async function assertErrorsAsTheSdk(t: TestContext, ours: (s3: S3Target) => Promise<unknown>, sdk: (s3: S3Target) => Promise<unknown>): Promise<void> {
  for (const [answer, code] of ERROR_ANSWERS) {
    const store = await fakeStore([answer]);
    const s3 = target(store.endpoint);
    t.after(async () => {
      await s3.close();
      await store.close();
    });
    const ourError = await ours(s3).then(() => undefined, (e: unknown) => e);
    const sdkError = await sdk(s3).then(() => undefined, (e: unknown) => e);
    assert.ok(ourError instanceof Error, `${code}: rejected`);
    assert.equal(ourError.name, code);
    assert.match(describe(ourError), new RegExp(`^${code}: `));
    assert.equal(store.received.length, 2, `${code}: one request each`);
    const pick = (e: any) => // eslint-disable-line @typescript-eslint/no-explicit-any
      ({ name: e.name, message: e.message, fault: e.$fault, status: e.$metadata?.httpStatusCode, requestId: e.$metadata?.requestId, Code: e.Code });
    assert.deepEqual(pick(ourError), pick(sdkError), `${code}: same as the SDK's`);
  }
}

test('S3 errors arrive as the SDK would raise them: the store code as the name, its message, status and request id', async (t) => {
  await assertErrorsAsTheSdk(
    t,
    (s3) => s3.putPlaylist({ bucket: 'b', key: 'x.m3u8', text: '#EXTM3U\n', maxAgeSeconds: 1 }),
    (s3) => s3.client.send(new PutObjectCommand({ Bucket: 'b', Key: 'x.m3u8', Body: '#EXTM3U\n' })),
  );
});

test('get against s3rver: a missing key is undefined, a stored playlist comes back byte for byte, both by the direct GET', async (t) => {
  const dir = tempDir('direct-get');
  const store = await startEmbeddedStore({ directory: dir, buckets: ['live-bucket'] });
  const proxy = await RecordingProxy.start(store.port);
  const s3 = new S3Target({ acl: 'public-read', endpoint: proxy.endpoint, region: EMBEDDED_REGION, forcePathStyle: true, maxSockets: 4, clientConfig: { credentials: EMBEDDED_CREDENTIALS } });
  t.after(async () => {
    await s3.close();
    await proxy.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  assert.equal(await s3.get('live-bucket', 'events/cam 1/cam.m3u8'), undefined);
  const text = '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n# caméra 1 — 東京\n#EXTINF:2.000,\ncam-00001.ts\n';
  await s3.putPlaylist({ bucket: 'live-bucket', key: 'events/cam 1/cam.m3u8', text, maxAgeSeconds: 1 });
  assert.equal(await s3.get('live-bucket', 'events/cam 1/cam.m3u8'), text);
  assert.equal(await s3.get('no-such-bucket', 'cam.m3u8'), undefined, 'NoSuchBucket is a 404 too, as the SDK path read it');

  const gets = proxy.requests.filter((r) => r.method === 'GET');
  assert.deepEqual(gets.map((r) => [r.path, r.status]), [
    ['/live-bucket/events/cam 1/cam.m3u8', 404],
    ['/live-bucket/events/cam 1/cam.m3u8', 200],
    ['/no-such-bucket/cam.m3u8', 404],
  ]);
  for (const r of gets) {
    assert.equal(r.headers['user-agent'], 'hlsrelay-uploader', 'not through the SDK stack');
    assert.match(r.headers.authorization!, new RegExp(`^AWS4-HMAC-SHA256 Credential=${EMBEDDED_CREDENTIALS.accessKeyId}/\\d{8}/${EMBEDDED_REGION}/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, `));
  }
});

test('get: the signature is the SDK signer\'s, and store errors surface with their S3 code, as the SDK path raised them', async (t) => {
  const ok = await fakeStore([{ status: 200, body: '#EXTM3U\n' }]);
  const okTarget = target(ok.endpoint);
  t.after(async () => {
    await okTarget.close();
    await ok.close();
  });
  assert.equal(await okTarget.get('live-bucket', 'events/cam.m3u8'), '#EXTM3U\n');
  const [got] = ok.received;
  assert.equal(got.method, 'GET');
  assert.equal(got.url, '/live-bucket/events/cam.m3u8?x-id=GetObject');
  assert.equal(got.headers['x-amz-content-sha256'], createHash('sha256').update('').digest('hex'));
  assert.equal(got.headers.authorization, await expectedAuthorization(got, okTarget));

  await assertErrorsAsTheSdk(t, (s3) => s3.get('b', 'x.m3u8'), (s3) => s3.client.send(new GetObjectCommand({ Bucket: 'b', Key: 'x.m3u8' })));
});

test('the bucket check (start-up and first sight) is three direct requests: HeadBucket, the probe PUT with the ACL, its DELETE', async (t) => {
  const store = await fakeStore([{ status: 200 }, { status: 200 }, { status: 204 }]);
  const s3 = target(store.endpoint);
  t.after(async () => {
    await s3.close();
    await store.close();
  });
  assert.equal(await s3.checkBucket('live-bucket', 'events/cam 1/'), undefined);
  assert.deepEqual(store.received.map((r) => `${r.method} ${r.url}`), [
    'HEAD /live-bucket',
    'PUT /live-bucket/events/cam%201/.hlsrelay-write-check?x-id=PutObject',
    'DELETE /live-bucket/events/cam%201/.hlsrelay-write-check?x-id=DeleteObject',
  ]);
  const [head, probe] = store.received;
  assert.equal(probe.headers['x-amz-acl'], 'public-read');
  assert.equal(probe.headers['content-type'], 'text/plain');
  assert.equal(probe.headers['cache-control'], undefined);
  assert.equal(probe.body.toString(), 'hlsrelay write check\n');
  assert.equal(head.headers['x-amz-content-sha256'], createHash('sha256').update('').digest('hex'));
  for (const r of store.received) {
    assert.equal(r.headers['user-agent'], 'hlsrelay-uploader', `${r.method}: not through the SDK stack`);
    assert.equal(r.headers.authorization, await expectedAuthorization(r, s3));
  }
});

test('the bucket check\'s answers read as before: HeadBucket 404 is NoSuchBucket, 403 lets the probe decide, a refused DELETE is a warning', async (t) => {
  const check = async (answers: Answer[]): Promise<{ warning?: string; err?: Error & { failure?: Record<string, unknown> }; sent: string[] }> => {
    const store = await fakeStore(answers);
    const s3 = target(store.endpoint);
    t.after(async () => {
      await s3.close();
      await store.close();
    });
    const result = await s3.checkBucket('b', 'live').then((warning) => ({ warning }), (err: unknown) => ({ err: err as Error & { failure?: Record<string, unknown> } }));
    return { ...result, sent: store.received.map((r) => r.method) };
  };
  const missing = await check([{ status: 404 }]);
  assert.equal(missing.err?.name, 'TargetCheckError');
  assert.equal(missing.err?.failure?.code, 'NoSuchBucket');
  assert.equal(missing.err?.failure?.step, 'HeadBucket');
  assert.deepEqual(missing.sent, ['HEAD']);

  const denied = await check([{ status: 403 }, { status: 403, body: s3Error('AccessDenied', 'Access Denied') }]);
  assert.equal(denied.err?.failure?.code, 'AccessDenied');
  assert.equal(denied.err?.failure?.step, 'PutObject with ACL public-read');
  assert.equal(denied.err?.failure?.key, 'live/.hlsrelay-write-check');
  assert.match(String(denied.err?.message), /grant s3:PutObject/);
  assert.deepEqual(denied.sent, ['HEAD', 'PUT']);

  const noAcl = await check([{ status: 200 }, { status: 400, body: s3Error('AccessControlListNotSupported', 'The bucket does not allow ACLs') }]);
  assert.equal(noAcl.err?.failure?.code, 'AccessControlListNotSupported');
  assert.match(String(noAcl.err?.message), /use --acl none/);

  const undeletable = await check([{ status: 200 }, { status: 200 }, { status: 403, body: s3Error('AccessDenied', 'Access Denied') }]);
  assert.equal(undeletable.warning, 'the write check object live/.hlsrelay-write-check in bucket b could not be deleted (AccessDenied); --delete-after needs s3:DeleteObject');
  assert.deepEqual(undeletable.sent, ['HEAD', 'PUT', 'DELETE']);
});

test('HeadBucket and DeleteObject errors arrive as the SDK raises them', async (t) => {
  const compare = async (answer: Answer, ours: (s3: S3Target) => Promise<unknown>, sdk: (s3: S3Target) => Promise<unknown>) => {
    const store = await fakeStore([answer]);
    const s3 = target(store.endpoint);
    t.after(async () => {
      await s3.close();
      await store.close();
    });
    const pick = (e: any) => // eslint-disable-line @typescript-eslint/no-explicit-any
      ({ name: e?.name, message: e?.message, fault: e?.$fault, status: e?.$metadata?.httpStatusCode, Code: e?.Code });
    const ourError = await ours(s3).then(() => undefined, (e: unknown) => e);
    const sdkError = await sdk(s3).then(() => undefined, (e: unknown) => e);
    assert.ok(ourError instanceof Error, `${answer.status}: rejected`);
    assert.deepEqual(pick(ourError), pick(sdkError), `${answer.status}: same as the SDK's`);
    assert.equal(store.received[0].headers['user-agent'], 'hlsrelay-uploader');
  };
  const head = (s3: S3Target) => s3.checkBucket('b', '').catch((e: { failure?: { cause?: unknown } }) => Promise.reject(e.failure?.cause));
  for (const status of [404, 400, 500]) {
    await compare({ status }, head, (s3) => s3.client.send(new HeadBucketCommand({ Bucket: 'b' })));
  }
  await compare({ status: 403, body: s3Error('AccessDenied', 'Access Denied') }, (s3) => s3.delete('b', 'x.ts'), (s3) => s3.client.send(new DeleteObjectCommand({ Bucket: 'b', Key: 'x.ts' })));
});

test('session credentials sign with x-amz-security-token; credentials that change (a refreshed role) sign with the new key', async (t) => {
  const store = await fakeStore([{ status: 200 }]);
  const first = { accessKeyId: 'ASIAFIRST', secretAccessKey: 'first/secret', sessionToken: 'token-1' };
  const second = { accessKeyId: 'ASIASECOND', secretAccessKey: 'second/secret', sessionToken: 'token-2' };
  let current = first;
  const s3 = new S3Target({ acl: 'public-read', endpoint: store.endpoint, region: REGION, forcePathStyle: true, maxSockets: 4, // Expiring within the SDK's refresh window: its memoized provider asks again for every request.
    clientConfig: { credentials: async () => ({ ...current, expiration: new Date(Date.now() + 60_000) }) } });
  t.after(async () => {
    await s3.close();
    await store.close();
  });
  await s3.putPlaylist({ bucket: 'b', key: 'x.m3u8', text: '#EXTM3U\n', maxAgeSeconds: 1 });
  current = second;
  await s3.putPlaylist({ bucket: 'b', key: 'x.m3u8', text: '#EXTM3U\n', maxAgeSeconds: 1 });
  const [a, b] = store.received;
  assert.equal(a.headers['x-amz-security-token'], 'token-1');
  assert.equal(b.headers['x-amz-security-token'], 'token-2');
  assert.match(a.headers.authorization!, /^AWS4-HMAC-SHA256 Credential=ASIAFIRST\/.*SignedHeaders=[^,]*x-amz-security-token/);
  assert.match(b.headers.authorization!, /^AWS4-HMAC-SHA256 Credential=ASIASECOND\//);
  assert.equal(a.headers.authorization, await expectedAuthorization(a, s3, first));
  assert.equal(b.headers.authorization, await expectedAuthorization(b, s3, second));
});
