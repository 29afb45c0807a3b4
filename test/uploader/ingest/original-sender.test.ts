/**
 * The 2009 segmenter against this uploader: test/support/live-upload.c, compiled here, sends
 * each message as `live_upload` did — connect, send() without a line end, close() without ever
 * reading — optionally sleeping between send() and close() as a slow machine does. Every message
 * must be stored; the start-up message (last_segment 0) is accepted and ignored.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { formatMessage, type IndexMessage } from '@hlsrelay/protocol';
import { FileTarget, startUploaderService } from '@hlsrelay/uploader';
import { captureLog } from '../../support/log-capture';
import { ROOT } from '../../support/paths';
import { tempDir } from '../../support/temp-dir';
import { until } from '../../support/until';

let work: string;
let sender: string;

before(() => {
  work = tempDir('live-upload');
  sender = path.join(work, 'live-upload');
  execFileSync('cc', ['-O2', '-o', sender, path.join(ROOT, 'test/support/live-upload.c')]);
});
after(() => fs.rmSync(work, { recursive: true, force: true }));

/** Runs the C sender with one message per stdin line; resolves with how many it says it sent. */
function liveUpload(port: number, delayMs: number, lines: string[]): Promise<number> {
  const child = spawn(sender, ['127.0.0.1', String(port), String(delayMs)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdin.end(lines.map((l) => l + '\n').join(''));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`live-upload exited ${code}: ${err}`)))),
  );
}

/**
 * `streams` streams of `perStream` segments each, every stream sent by its own sender (in
 * order, as one segmenter would), all senders at once; each stream opens with the start-up message.
 */
async function run(name: string, delayMs: number, streams: number, perStream: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(work, `${name}-`));
  const segs = path.join(dir, 'segs');
  const store = path.join(dir, 'store');
  fs.mkdirSync(segs);
  const log = captureLog('uploader', 'info');
  const service = await startUploaderService({ target: new FileTarget({ root: store }), logger: log.logger, host: '127.0.0.1', port: 0 });
  try {
    const message = (k: number, n: number): IndexMessage => ({
      index: `s${k}.m3u8`, outputDirectory: segs, segmentDuration: 1, outputPrefix: `s${k}`, httpPrefix: 'http://cdn/',
      firstSegment: 1, lastSegment: n, end: n === perStream, bucketName: 'b', keyPrefix: 'live', ext: {},
    });
    const senders: Array<Promise<number>> = [];
    for (let k = 0; k < streams; k++) {
      const lines = [formatMessage(message(k, 0))];
      for (let n = 1; n <= perStream; n++) {
        fs.writeFileSync(path.join(segs, `s${k}-${String(n).padStart(5, '0')}.ts`), `stream ${k} segment ${n}`);
        lines.push(formatMessage(message(k, n)));
      }
      senders.push(liveUpload(service.address.port, delayMs, lines));
    }
    const sent = await Promise.all(senders);
    assert.deepEqual(sent, Array(streams).fill(perStream + 1), 'every sender sent all its messages');
    const stored = (): number => (fs.existsSync(path.join(store, 'b/live')) ? fs.readdirSync(path.join(store, 'b/live')).filter((f) => f.endsWith('.ts')).length : 0);
    const total = streams * perStream;
    await until(() => stored() === total, 30_000, `all ${total} segments stored`).catch(() => {
      assert.fail(`${stored()} of ${total} segments stored: the uploader lost ${total - stored()} messages of a 2009 sender`);
    });
    await service.uploader.onIdle();
    await log.settle();
    for (let k = 0; k < streams; k++) {
      const playlist = fs.readFileSync(path.join(store, `b/live/s${k}.m3u8`), 'utf8');
      assert.doesNotMatch(playlist, /EXT-X-DISCONTINUITY/, 'the start-up message leaves no gap before segment 1');
      assert.match(playlist, /#EXT-X-ENDLIST/);
    }
    const bad = log.entries.filter((e) => e.level === 'error' || /never announced|refused/.test(e.message));
    assert.deepEqual(bad, [], 'nothing refused or reported missing');
  } finally {
    await service.close();
  }
}

test('a 2009 sender: 300 messages, all stored; the start-up message is ignored without a gap', async () => {
  await run('at-once', 0, 3, 100);
});

test('a 2009 sender that sleeps 250 ms between send() and close(): 300 messages, all stored', async () => {
  // 30 senders at once keep the run short; each still waits 250 ms before every close().
  await run('slow-close', 250, 30, 10);
});
