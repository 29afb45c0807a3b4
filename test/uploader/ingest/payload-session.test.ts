/**
 * Segment bytes shipped on a session (segmenter --ship-bytes) into the real uploader service with
 * a state directory, over real TCP, stored in s3rver: stored byte-identical from the spool, the
 * spool emptied once stored, refusals answered without ending the session, cut payloads and a
 * restart leaving nothing behind and losing nothing acknowledged.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { EMBEDDED_CREDENTIALS, EMBEDDED_REGION, startEmbeddedStore, type EmbeddedStore } from '@hlsrelay/embedded-store';
import { silentLogger } from '@hlsrelay/log';
import { formatMessage, formatPayloadCommand, frameMessage, MessageDecoder, type IndexMessage } from '@hlsrelay/protocol';
import { payloadSpoolDir, S3Target, startUploaderService, type UploaderService } from '@hlsrelay/uploader';
import { until } from '../../support/until';
import { getObject } from '../../support/uploader-rig';
import { tempDir } from '../../support/temp-dir';

const message = (n: number, size: number | undefined, over: Partial<IndexMessage> = {}): string =>
  formatMessage({
    index: 'far.m3u8',
    // A directory that exists nowhere on the uploader: only the shipped bytes can be stored.
    outputDirectory: 'relative/on/the/transcoder',
    segmentDuration: 2,
    outputPrefix: 'far',
    httpPrefix: 'https://cdn.example/live/',
    firstSegment: 1,
    lastSegment: n,
    end: false,
    bucketName: 'mybucket',
    keyPrefix: 'live',
    ext: { duration: 2, ...(size === undefined ? {} : { size }) },
    ...over,
  });

/** A raw session client: hello, then whatever the test writes; collects answer lines after the greeting. */
class RawSession {
  readonly socket: net.Socket;
  greeting = '';
  readonly answers: string[] = [];
  closed = false;
  readonly #decoder = new MessageDecoder();

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      for (const line of this.#decoder.push(chunk)) {
        if (this.greeting === '') this.greeting = line;
        else this.answers.push(line);
      }
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => {});
  }

  static async open(port: number, hello = true): Promise<RawSession> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    const session = new RawSession(socket);
    await until(() => session.greeting !== '');
    if (hello) socket.write('HLSRELAY 1\n');
    return session;
  }

  ship(bytes: Buffer, line: string): void {
    this.socket.write(frameMessage(formatPayloadCommand(bytes.length)));
    this.socket.write(bytes);
    this.socket.write(frameMessage(line));
  }

  async answer(n: number): Promise<string> {
    await until(() => this.answers.length >= n || this.closed);
    assert.ok(this.answers.length >= n, `connection closed after ${this.answers.join(' | ')}`);
    return this.answers[n - 1];
  }
}

/** Files left in the spool (temporaries included). */
function spooled(stateDir: string): string[] {
  const dir = payloadSpoolDir(stateDir);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
}

describe('segment bytes on the session into the uploader service', { timeout: 120_000 }, () => {
  let dir: string;
  let store: EmbeddedStore;
  let stateDir: string;
  let service: UploaderService;

  const start = (extra: { maxPayloadBytes?: number; stateDir?: string | null; token?: string } = {}) =>
    startUploaderService({
      target: new S3Target({
        acl: 'none',
        endpoint: store.endpoint,
        region: EMBEDDED_REGION,
        forcePathStyle: true,
        maxSockets: 4,
        clientConfig: { credentials: EMBEDDED_CREDENTIALS },
      }),
      logger: silentLogger(),
      host: '127.0.0.1',
      port: 0,
      window: 50,
      retry: { initialDelayMs: 50, maxDelayMs: 200 },
      stateDir: extra.stateDir === null ? undefined : (extra.stateDir ?? stateDir),
      maxPayloadBytes: extra.maxPayloadBytes ?? 4 * 1024 * 1024,
      token: extra.token,
    });

  before(async () => {
    dir = tempDir('payload-session');
    stateDir = path.join(dir, 'state');
    store = await startEmbeddedStore({ directory: path.join(dir, 'store'), buckets: ['mybucket'] });
    service = await start();
  });

  after(async () => {
    await service?.close();
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the greeting offers payload; shipped segments are stored byte-identical and leave the spool', async () => {
    const s = await RawSession.open(service.address.port);
    assert.match(s.greeting, /^HLSRELAY 1 ack\b.*\bpayload\b/);
    const segments = [1, 2, 3].map((n) => randomBytes(100_000 + n * 777));
    // Bytes that look like protocol lines inside the payload change nothing.
    segments[1].write('\nOK 9\nPAYLOAD 3\n', 500);
    segments.forEach((bytes, i) => s.ship(bytes, message(i + 1, bytes.length)));
    for (let n = 1; n <= 6; n++) assert.equal(await s.answer(n), `OK ${n}`, 'PAYLOAD and its message, each answered in order');
    await service.uploader.onIdle();
    for (const [i, bytes] of segments.entries()) {
      const object = await getObject(store, 'mybucket', `live/far-${String(i + 1).padStart(5, '0')}.ts`);
      assert.equal(object.status, 200);
      assert.ok(object.body.equals(bytes), `segment ${i + 1} stored byte-identical`);
    }
    const playlist = (await getObject(store, 'mybucket', 'live/far.m3u8')).body.toString();
    assert.match(playlist, /far-00001\.ts[\s\S]*far-00002\.ts[\s\S]*far-00003\.ts/);
    await until(() => spooled(stateDir).length === 0);
    s.socket.destroy();
  });

  test('refused bytes — too large, a size= that disagrees, a command instead of the message — are answered ERR and the session goes on', async () => {
    const s = await RawSession.open(service.address.port);
    const big = Buffer.alloc(4 * 1024 * 1024 + 1, 1);
    s.ship(big, message(10, big.length));
    assert.match(await s.answer(1), /^ERR 1 payload of 4194305 bytes is over this uploader's --max-payload-bytes 4194304/);
    assert.match(await s.answer(2), /^ERR 2 segment bytes refused: payload of 4194305 bytes is over/);
    const bytes = randomBytes(5000);
    s.ship(bytes, message(11, 4999));
    assert.equal(await s.answer(3), 'OK 3', 'the bytes themselves arrived');
    assert.match(await s.answer(4), /^ERR 4 payload of 5000 bytes does not match size=4999 of segment 11/);
    s.socket.write(`${formatPayloadCommand(3)}\nabcNOOP\n`);
    assert.equal(await s.answer(5), 'OK 5');
    assert.match(await s.answer(6), /^ERR 6 unknown command NOOP \(its segment bytes are dropped\)/);
    // Still served: a good one after all that.
    const good = randomBytes(3000);
    s.ship(good, message(12, good.length));
    assert.equal(await s.answer(8), 'OK 8');
    await service.uploader.onIdle();
    assert.ok((await getObject(store, 'mybucket', 'live/far-00012.ts')).body.equals(good));
    assert.equal((await getObject(store, 'mybucket', 'live/far-00010.ts')).status, 404);
    await until(() => spooled(stateDir).length === 0);
    s.socket.destroy();
  });

  test('a connection cut inside a payload, or before its message, leaves nothing in the spool', async () => {
    const cutMid = await RawSession.open(service.address.port);
    cutMid.socket.write(`${formatPayloadCommand(1_000_000)}\n`);
    cutMid.socket.write(Buffer.alloc(300_000, 7));
    await until(() => spooled(stateDir).length === 1, 10_000);
    cutMid.socket.destroy();
    const noMessage = await RawSession.open(service.address.port);
    noMessage.socket.write(`${formatPayloadCommand(10)}\n0123456789`);
    assert.equal(await noMessage.answer(1), 'OK 1');
    noMessage.socket.end();
    await until(() => spooled(stateDir).length === 0);
    await until(() => noMessage.closed);
  });

  test('PAYLOAD outside a session ends the connection; an uploader without a state directory offers none and refuses bytes', async () => {
    const original = await RawSession.open(service.address.port, false);
    original.socket.write(`${formatPayloadCommand(4)}\nabcd`);
    await until(() => original.closed);
    assert.match(original.answers.join('\n'), /ERR PAYLOAD outside a session/);

    const plain = await start({ stateDir: null });
    try {
      const s = await RawSession.open(plain.address.port);
      assert.doesNotMatch(s.greeting, /payload/);
      s.ship(Buffer.from('xyz'), message(20, 3));
      assert.match(await s.answer(1), /^ERR 1 this uploader takes no segment bytes .*--state-dir/);
      assert.match(await s.answer(2), /^ERR 2 segment bytes refused/);
      s.socket.destroy();
    } finally {
      await plain.close();
    }
  });

  test('with a token, bytes before AUTH end the connection and are never spooled; after AUTH they are taken', async () => {
    const token = 'a-shared-token-of-enough-length';
    const guarded = await start({ token, stateDir: path.join(dir, 'guarded-state') });
    try {
      const early = await RawSession.open(guarded.address.port);
      assert.match(early.greeting, /\bauth\b.*\bpayload\b|\bpayload\b.*\bauth\b/);
      early.ship(Buffer.alloc(100_000, 1), message(40, 100_000));
      await until(() => early.closed);
      assert.match(early.answers.join('\n'), /authentication required/);
      assert.deepEqual(spooled(path.join(dir, 'guarded-state')), []);

      const s = await RawSession.open(guarded.address.port);
      s.socket.write(`AUTH ${token}\n`);
      const bytes = randomBytes(2000);
      s.ship(bytes, message(41, bytes.length, { keyPrefix: 'guarded' }));
      assert.equal(await s.answer(3), 'OK 3');
      await guarded.uploader.onIdle();
      assert.ok((await getObject(store, 'mybucket', 'guarded/far-00041.ts')).body.equals(bytes));
      s.socket.destroy();
    } finally {
      await guarded.close();
    }
  });

  test('a restart sweeps from the spool what no journaled message needs: payloads cut by a crash, bytes never acknowledged', async () => {
    await service.close();
    const spoolDir = payloadSpoolDir(stateDir);
    fs.writeFileSync(path.join(spoolDir, '.incoming-crash-0.tmp'), Buffer.alloc(1000));
    fs.mkdirSync(path.join(spoolDir, 'abc'), { recursive: true });
    fs.writeFileSync(path.join(spoolDir, 'abc', 'far-00099.ts'), Buffer.alloc(1000));
    assert.equal(spooled(stateDir).length, 2);
    service = await start();
    assert.deepEqual(spooled(stateDir), []);
    assert.deepEqual(fs.readdirSync(spoolDir), [], 'empty stream directories go too');
  });

  test('fMP4 (payload-init): an init payload before the segment\'s is stored as the init the message names, once, for later messages too', async () => {
    const s = await RawSession.open(service.address.port);
    assert.match(s.greeting, /\bpayload-init\b/);
    const init = randomBytes(700);
    const fmp4 = (n: number, size: number) => message(n, size, { index: 'far4.m3u8', outputPrefix: 'far4' }).replace(/$/, ', format=fmp4, init=far4-init.mp4');
    const first = randomBytes(20_000);
    s.socket.write(frameMessage(formatPayloadCommand(init.length)));
    s.socket.write(init);
    s.ship(first, fmp4(1, first.length));
    for (let n = 1; n <= 3; n++) assert.equal(await s.answer(n), `OK ${n}`, 'both payloads and the message answered in order');
    // The next message of the session names the same init and ships only its segment.
    const second = randomBytes(20_000);
    s.ship(second, fmp4(2, second.length));
    assert.equal(await s.answer(5), 'OK 5');
    await service.uploader.onIdle();
    assert.ok((await getObject(store, 'mybucket', 'live/far4-init.mp4')).body.equals(init), 'init stored byte-identical');
    assert.ok((await getObject(store, 'mybucket', 'live/far4-00002.m4s')).body.equals(second));
    const playlist = (await getObject(store, 'mybucket', 'live/far4.m3u8')).body.toString();
    assert.match(playlist, /#EXT-X-MAP:URI="https:\/\/cdn\.example\/live\/far4-init\.mp4"\n#EXTINF:2\.000,\n.*far4-00001\.m4s\n#EXTINF:2\.000,\n.*far4-00002\.m4s/);
    // The segments leave the spool once stored; the init stays while the stream may still name it.
    await until(() => spooled(stateDir).join() === 'far4-init.mp4', 10_000, 'only the init left in the spool');
    s.socket.destroy();
  });
});
