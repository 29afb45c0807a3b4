/**
 * What storing one message's objects (the segment, then its playlist) costs without the uploader,
 * against the same latency store, measured in the benchmark's own process (idle otherwise):
 *
 * - the floor: read the file, SigV4-sign with node:crypto, PUT over a keep-alive agent;
 * - a bare `PutObjectCommand` loop with the uploader's client settings;
 * - the naive serial 2009 design: one PUT after another, nothing in parallel;
 * - the floor again, paced: messages started at a live step's rate (runPacedFloor), since a
 *   request alone on its wake-up costs more than one in a saturated loop.
 *
 * Each reports CPU per store request (user + system of this process / requests) and the
 * messages per second it sustained.
 */
import { createHash, createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

export interface BaselineResult {
  name: string;
  messages: number;
  requests: number;
  cpuMsPerRequest: number;
  messagesPerSecond: number;
}

export const PLAYLIST_TEXT =
  '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-INDEPENDENT-SEGMENTS\n' +
  '#EXTINF:2.000,\nr0-00001.ts\n'.repeat(5);
const CREDENTIALS = { accessKeyId: 'BENCHKEY', secretAccessKey: 'BENCHSECRET' };
const REGION = 'us-east-1';

type PutOne = (key: string, body: Buffer | string, contentType: string, cacheControl: string) => Promise<void>;

/** `messages` messages, `concurrency` at a time; with `pace` (messages a second), message i starts at i / pace. */
async function run(name: string, messages: number, concurrency: number, file: string, put: PutOne, pace?: number): Promise<BaselineResult> {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < messages; i = next++) {
        if (pace !== undefined) await new Promise((resolve) => setTimeout(resolve, started + (i * 1000) / pace - performance.now()));
        const body = await readFile(file);
        await put(`/bench/live/s${i}/s${i}-00001.ts`, body, 'video/MP2T', 'public, max-age=86400, immutable');
        await put(`/bench/live/s${i}/s${i}.m3u8`, PLAYLIST_TEXT, 'application/vnd.apple.mpegurl', 'max-age=1');
      }
    }),
  );
  const elapsed = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  return {
    name,
    messages,
    requests: 2 * messages,
    cpuMsPerRequest: (cpu.user + cpu.system) / 1000 / (2 * messages),
    messagesPerSecond: messages / (elapsed / 1000),
  };
}

/** SigV4 by hand (AWS General Reference, "Create a signed AWS API request"), signing key kept per day. */
function floorPut(endpoint: string, agent: http.Agent): PutOne {
  const url = new URL(endpoint);
  let keyDay = '';
  let signingKey = Buffer.alloc(0);
  return (key, body, contentType, cacheControl) => {
    const date = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
    const day = date.slice(0, 8);
    if (day !== keyDay) {
      const hmac = (k: Buffer | string, s: string) => createHmac('sha256', k).update(s).digest();
      signingKey = hmac(hmac(hmac(hmac(`AWS4${CREDENTIALS.secretAccessKey}`, day), REGION), 's3'), 'aws4_request');
      keyDay = day;
    }
    const payloadHash = createHash('sha256').update(body).digest('hex');
    const length = String(Buffer.byteLength(body));
    const signed = 'content-length;content-type;host;x-amz-acl;x-amz-content-sha256;x-amz-date';
    const canonical = `PUT\n${key}\n\ncontent-length:${length}\ncontent-type:${contentType}\nhost:${url.host}\nx-amz-acl:public-read\n` +
      `x-amz-content-sha256:${payloadHash}\nx-amz-date:${date}\n\n${signed}\n${payloadHash}`;
    const scope = `${day}/${REGION}/s3/aws4_request`;
    const toSign = `AWS4-HMAC-SHA256\n${date}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`;
    const signature = createHmac('sha256', signingKey).update(toSign).digest('hex');
    return new Promise<void>((resolve, reject) => {
      const req = http.request({
        agent, host: url.hostname, port: url.port, method: 'PUT', path: key,
        headers: {
          'content-length': length, 'content-type': contentType, 'cache-control': cacheControl, 'x-amz-acl': 'public-read',
          'x-amz-content-sha256': payloadHash, 'x-amz-date': date,
          authorization: `AWS4-HMAC-SHA256 Credential=${CREDENTIALS.accessKeyId}/${scope}, SignedHeaders=${signed}, Signature=${signature}`,
        },
      }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
  };
}

function sdkPut(client: S3Client): PutOne {
  return async (key, body, contentType, cacheControl) => {
    const [, bucket, ...rest] = key.split('/');
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: rest.join('/'), Body: body, ContentType: contentType, CacheControl: cacheControl, ACL: 'public-read' }));
  };
}

function sdkClient(endpoint: string, agent: http.Agent): S3Client {
  return new S3Client({
    endpoint, region: REGION, forcePathStyle: true, credentials: CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', maxAttempts: 1,
    requestHandler: { httpAgent: agent },
  });
}

export async function runBaselines(o: { endpoint: string; file: string; messages: number; serialMessages: number; concurrency: number }): Promise<BaselineResult[]> {
  const results: BaselineResult[] = [];
  const agent = () => new http.Agent({ keepAlive: true, maxSockets: o.concurrency, maxFreeSockets: o.concurrency });
  {
    const a = agent();
    results.push(await run('floor (node:crypto SigV4 + keep-alive http)', o.messages, o.concurrency, o.file, floorPut(o.endpoint, a)));
    a.destroy();
  }
  {
    const a = agent();
    const client = sdkClient(o.endpoint, a);
    results.push(await run('bare PutObjectCommand loop', o.messages, o.concurrency, o.file, sdkPut(client)));
    client.destroy();
    a.destroy();
  }
  {
    const a = agent();
    const client = sdkClient(o.endpoint, a);
    results.push(await run('naive serial 2009 design (one PUT after another)', o.serialMessages, 1, o.file, sdkPut(client)));
    client.destroy();
    a.destroy();
  }
  return results;
}

/**
 * The floor's work at a live step's rate: message i starts at i / messagesPerSecond, for
 * `seconds`, each its segment PUT then its playlist PUT, as the uploader gets them from N
 * renditions. What a request costs when requests do not come back to back.
 */
export async function runPacedFloor(o: { endpoint: string; file: string; messagesPerSecond: number; seconds: number; concurrency: number }): Promise<BaselineResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency, maxFreeSockets: o.concurrency });
  const messages = Math.max(1, Math.round(o.messagesPerSecond * o.seconds));
  // One worker per message: each waits for its own start.
  const result = await run(`floor paced at ${o.messagesPerSecond} messages/s`, messages, messages, o.file, floorPut(o.endpoint, agent), o.messagesPerSecond);
  agent.destroy();
  return result;
}
