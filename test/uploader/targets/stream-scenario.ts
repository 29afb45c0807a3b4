/**
 * What every file-like transfer target must do, run the same way against each real server:
 * a live stream of real MPEG-TS segments (made by ffmpeg) stored, its playlist replaced after
 * every segment while a reader on the server's disk checks each read is a whole playlist that was
 * published, old segments deleted; and the same stream through the uploader's retrying queue with
 * the server stopped and restarted mid-stream.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { silentLogger, type Logger } from '@hlsrelay/log';
import { PermanentTransferError, UploadQueue, type TransferTarget } from '@hlsrelay/uploader';
import { FFMPEG as ffmpegPath } from '../../support/ffmpeg';
import { tempDir } from '../../support/temp-dir';


/**
 * One test against a server of its own: a fresh root, the server on it, the targets the body
 * opens (through `use`), all closed and removed afterwards whatever the body did.
 */
export async function onServer<S extends { stop(): Promise<unknown> }>(
  name: string,
  start: (root: string) => Promise<S>,
  body: (root: string, server: S, use: <T extends { close(): Promise<unknown> }>(target: T) => T) => Promise<void>,
): Promise<void> {
  const root = await tempDir(name);
  const opened: Array<{ close(): Promise<unknown> }> = [];
  let server: S | undefined;
  try {
    server = await start(root);
    await body(root, server, (target) => {
      opened.push(target);
      return target;
    });
  } finally {
    for (const target of opened) await target.close();
    await server?.stop();
    await rm(root, { recursive: true });
  }
}

export const BUCKET = 'live-bucket';
export const PREFIX = 'event/stream0001';
export const WINDOW = 5;

/**
 * Bytes held in memory (SegmentUpload.body: an encrypted segment) are stored as they are; the
 * segment file they name is not read (here it does not exist). Returns where they landed.
 */
export async function storesBytes(target: TransferTarget, pathOnServer: (key: string) => string): Promise<string> {
  const body = randomBytes(100_003);
  const key = `${PREFIX}/bytes-00001.ts`;
  await target.putSegment({ bucket: BUCKET, key, file: '/nonexistent/bytes-00001.ts', body });
  assert.deepEqual(await readFile(pathOnServer(key)), body);
  return pathOnServer(key);
}

let segmentsOnce: Promise<string[]> | undefined;

/** Real one-second MPEG-TS segments of a test picture, made once per test process. */
export function realSegments(): Promise<string[]> {
  segmentsOnce ??= (async () => {
    const dir = tempDir('target-segments');
    await promisify(execFile)(ffmpegPath, [
      '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-t', '12',
      '-c:v', 'libx264', '-g', '25', '-pix_fmt', 'yuv420p', '-f', 'segment', '-segment_time', '1',
      '-segment_format', 'mpegts', path.join(dir, 'seg-%05d.ts'),
    ]);
    const names = (await readdir(dir)).filter((n) => n.endsWith('.ts')).sort();
    assert.ok(names.length >= 10, `ffmpeg made ${names.length} segments`);
    return names.map((n) => path.join(dir, n));
  })();
  return segmentsOnce;
}

export function segmentKey(file: string): string {
  return `${PREFIX}/${path.basename(file)}`;
}

export const PLAYLIST_KEY = `${PREFIX}/index.m3u8`;

/**
 * A playlist listing the last WINDOW of `files`, padded with comment lines so that writing it
 * takes several packets and a reader could catch a half-written file if replacement were not
 * atomic.
 */
export function playlistText(files: string[], ended: boolean): string {
  const listed = files.slice(-WINDOW);
  const first = files.length - listed.length;
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:1', `#EXT-X-MEDIA-SEQUENCE:${first}`];
  for (let i = 0; i < 400; i++) lines.push(`# padding line ${i} so the playlist spans many packets ................................`);
  for (const f of listed) lines.push('#EXTINF:1.000,', path.basename(f));
  if (ended) lines.push('#EXT-X-ENDLIST');
  return lines.join('\n') + '\n';
}

export interface ReaderReport {
  reads: number;
  missing: number;
}

/**
 * Reads `file` over and over until stopped; every successful read must be one of `published`
 * (complete, never a mix) and every segment it lists must exist next to it (or have been deleted
 * since, having left the window).
 * `allowMissing` counts ENOENT instead of failing (for servers that cannot rename atomically).
 */
export function startPlaylistReader(file: string, published: Set<string>, deleted: Set<string>, allowMissing = false) {
  let stop = false;
  const report: ReaderReport = { reads: 0, missing: 0 };
  let seenOnce = false;
  const done = (async () => {
    while (!stop) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        if (seenOnce && !allowMissing) throw new Error(`playlist ${file} vanished after it was first published`);
        if (seenOnce) report.missing += 1;
        await new Promise((r) => setImmediate(r));
        continue;
      }
      seenOnce = true;
      report.reads += 1;
      assert.ok(published.has(text), `reader saw a playlist that was never published (${text.length} bytes, ends ${JSON.stringify(text.slice(-40))})`);
      for (const name of text.split('\n').filter((l) => l.endsWith('.ts'))) {
        await readFile(path.join(path.dirname(file), name)).catch((err: NodeJS.ErrnoException) => {
          // Only a segment deleted after this read (it left the window meanwhile) may be missing.
          if (err.code !== 'ENOENT' || !deleted.has(name)) throw new Error(`playlist lists ${name}, which is not stored`);
        });
      }
      await new Promise((r) => setImmediate(r));
    }
    return report;
  })();
  // Its failure is reported by stop(); until then it must not count as unhandled.
  done.catch(() => undefined);
  return {
    async stop(): Promise<ReaderReport> {
      stop = true;
      return done;
    },
  };
}

/**
 * Stores the stream through `target` the way the uploader does: segment, then the playlist that
 * lists it, then the deletion of the segment that left the window. `onDisk(key)` maps a key to
 * the file a web server on the target would serve.
 */
export async function runLiveStream(target: TransferTarget, onDisk: (key: string) => string, opts: { allowMissing?: boolean } = {}) {
  const files = await realSegments();
  const published = new Set<string>();
  const deleted = new Set<string>();
  const reader = startPlaylistReader(onDisk(PLAYLIST_KEY), published, deleted, opts.allowMissing);
  const stored: string[] = [];
  let report: ReaderReport;
  // Read back (how a restarted uploader without state recovers a stream): none yet is a new stream.
  assert.ok(target.get, `${target.name} reads objects back`);
  assert.equal(await target.get(BUCKET, PLAYLIST_KEY), undefined, 'no playlist stored yet reads as none');
  try {
    for (const [i, file] of files.entries()) {
      await target.putSegment({ bucket: BUCKET, key: segmentKey(file), file });
      stored.push(file);
      const text = playlistText(stored, i === files.length - 1);
      published.add(text);
      await target.putPlaylist({ bucket: BUCKET, key: PLAYLIST_KEY, text, maxAgeSeconds: 0 });
      // Keep one extra segment past the window for players that are a little behind.
      if (stored.length > WINDOW + 1) {
        const old = stored[stored.length - WINDOW - 2];
        deleted.add(path.basename(old));
        await target.delete(BUCKET, segmentKey(old));
      }
    }
  } finally {
    report = await reader.stop();
  }
  const final = await readFile(onDisk(PLAYLIST_KEY), 'utf8');
  assert.equal(final, playlistText(files, true), 'the last playlist is the one stored');
  assert.equal(await target.get(BUCKET, PLAYLIST_KEY), final, 'the stored playlist reads back as stored');
  for (const [i, file] of files.entries()) {
    const kept = i >= files.length - WINDOW - 1;
    const there = await readFile(onDisk(segmentKey(file))).catch(() => undefined);
    if (kept) assert.deepEqual(there, await readFile(file), `${path.basename(file)} stored byte for byte`);
    else assert.equal(there, undefined, `${path.basename(file)} deleted after leaving the window`);
  }
  assert.ok(report.reads > 0, 'the reader read the playlist at least once');
  return { report, files };
}

/**
 * The same stream through a real UploadQueue (one ordered lane, retries with short backoff):
 * `interrupt` runs after `interruptAfter` segments were queued (e.g. stopping the server), `resume`
 * once the queue has retried at least `retriesBeforeResume` times. Returns the order in which the
 * target completed operations, which must be the queued order.
 */
export async function runThroughOutage(
  target: TransferTarget,
  onDisk: (key: string) => string,
  hooks: { interrupt(): Promise<void>; resume(): Promise<void>; interruptAfter?: number; retriesBeforeResume?: number; logger?: Logger },
) {
  const files = await realSegments();
  const queue = new UploadQueue({ concurrency: 4, retry: { initialDelayMs: 20, maxDelayMs: 100 }, logger: hooks.logger ?? silentLogger() });
  const expected: string[] = [];
  const completed: string[] = [];
  const stored: string[] = [];
  const interruptAfter = hooks.interruptAfter ?? 4;
  for (const [i, file] of files.entries()) {
    if (i === interruptAfter) {
      await queue.onIdle();
      await hooks.interrupt();
    }
    stored.push(file);
    const key = segmentKey(file);
    const text = playlistText(stored, i === files.length - 1);
    expected.push(`segment ${key}`, `playlist ${text.length}`);
    queue.enqueue('stream', async () => {
      await queue.transfer('segment upload', { key }, () => target.putSegment({ bucket: BUCKET, key, file }));
      completed.push(`segment ${key}`);
      await queue.transfer('playlist upload', { key: PLAYLIST_KEY }, () =>
        target.putPlaylist({ bucket: BUCKET, key: PLAYLIST_KEY, text, maxAgeSeconds: 0 }),
      );
      completed.push(`playlist ${text.length}`);
    });
  }
  const want = hooks.retriesBeforeResume ?? 3;
  while (queue.retries < want) await new Promise((r) => setTimeout(r, 10));
  await hooks.resume();
  await queue.onIdle();
  assert.deepEqual(completed, expected, 'every upload completed, in the order queued');
  assert.equal(await readFile(onDisk(PLAYLIST_KEY), 'utf8'), playlistText(files, true));
  for (const file of files) {
    assert.deepEqual(await readFile(onDisk(segmentKey(file))), await readFile(file), `${path.basename(file)} arrived intact`);
  }
  return { retries: queue.retries };
}

export async function writeSecret(dir: string, name: string, value: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, value, { mode: 0o600 });
  return file;
}

/**
 * The login story every remote target must tell: a refused login is retried like any outage (an
 * operator may fix the account) until the caller gives up; a target that logs in stores a
 * segment; the server going away and coming back mid-upload costs retries, never the playlist.
 */
export async function refusedLoginThenRestart(
  queue: UploadQueue,
  refused: TransferTarget,
  accepted: TransferTarget,
  server: { stop(): Promise<void>; start(): Promise<unknown> },
  file: string,
): Promise<void> {
  let attempts = 0;
  await assert.rejects(
    queue.transfer('segment upload', { target: refused.name }, async () => {
      if (++attempts > 3) throw new PermanentTransferError('test gives up');
      await refused.putSegment({ bucket: BUCKET, key: segmentKey(file), file });
    }),
    PermanentTransferError,
  );
  await accepted.putSegment({ bucket: BUCKET, key: segmentKey(file), file });
  await server.stop();
  let down = 0;
  await queue.transfer('playlist upload', { target: accepted.name }, async () => {
    if (++down === 3) await server.start();
    await accepted.putPlaylist({ bucket: BUCKET, key: PLAYLIST_KEY, text: '#EXTM3U\n', maxAgeSeconds: 0 });
  });
}
