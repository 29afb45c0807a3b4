import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { silentLogger } from '@hlsrelay/log';
import { segmentFileName, type IndexMessage } from '@hlsrelay/protocol';
import {
  FileTarget, FtpTarget, MirrorTarget, PermanentTransferError, Uploader,
  type PlaylistUpload, type SegmentUpload, type TransferTarget,
} from '@hlsrelay/uploader';
import { startFtpServer } from './ftp-server';
import { tempDir } from '../../support/temp-dir';
import { BUCKET, PLAYLIST_KEY, playlistText, realSegments, segmentKey } from './stream-scenario';

const RETRY = { initialDelayMs: 10, maxDelayMs: 50 };

/**
 * A real file target behind a gate: while closed, every operation waits (a mirror that is slow or
 * hanging). Records the order in which operations completed.
 */
class GatedTarget implements TransferTarget {
  readonly name: string;
  readonly done: string[] = [];
  #open!: () => void;
  #gate = new Promise<void>((resolve) => (this.#open = resolve));
  constructor(readonly inner: FileTarget) {
    this.name = `gated ${inner.name}`;
  }
  open(): void {
    this.#open();
  }
  async putSegment(u: SegmentUpload) {
    await this.#gate;
    await this.inner.putSegment(u);
    this.done.push(`segment ${path.basename(u.key)}`);
  }
  async putPlaylist(u: PlaylistUpload) {
    await this.#gate;
    await this.inner.putPlaylist(u);
    this.done.push(`playlist ${u.text.split('\n').filter((l) => l.endsWith('.ts')).join(' ')}`);
  }
  async delete(bucket: string, key: string) {
    await this.#gate;
    await this.inner.delete(bucket, key);
    this.done.push(`delete ${path.basename(key)}`);
  }
  async close() {}
}

/** Stores a live stream through `target` the way the uploader does (each call after the last). */
async function store(target: TransferTarget, files: string[]) {
  for (const [i, file] of files.entries()) {
    await target.putSegment({ bucket: BUCKET, key: segmentKey(file), file });
    await target.putPlaylist({ bucket: BUCKET, key: PLAYLIST_KEY, text: playlistText(files.slice(0, i + 1), i === files.length - 1), maxAgeSeconds: 0 });
  }
}

/**
 * A whole stream of index messages through the real uploader into a mirror of a slow (gated,
 * still closed) and a fast file target; resolves once the uploader has finished with it.
 */
async function streamThroughSlowMirror(name: string, removeLocal: boolean) {
  const dir = await tempDir(name);
  const files = await realSegments();
  const segDir = path.join(dir, 'segments');
  await mkdir(segDir);
  for (const [i, f] of files.entries()) await copyFile(f, path.join(segDir, segmentFileName('live', i + 1)));
  const slow = new GatedTarget(new FileTarget({ root: path.join(dir, 'slow') }));
  const fast = new FileTarget({ root: path.join(dir, 'fast') });
  const mirror = new MirrorTarget({ targets: [slow, fast], logger: silentLogger(), retry: RETRY });
  const uploader = new Uploader({ target: mirror, logger: silentLogger(), window: 3, retry: RETRY, removeLocal });
  const message = (n: number): IndexMessage => ({
    index: 'live.m3u8', outputDirectory: segDir, segmentDuration: 1, outputPrefix: 'live', httpPrefix: 'http://cdn.example/',
    firstSegment: 1, lastSegment: n, end: n === files.length, bucketName: BUCKET, keyPrefix: 'ev', ext: { duration: 1 },
  });
  for (let n = 1; n <= files.length; n++) uploader.accept(message(n));
  await uploader.close();
  return { dir, files, segDir, slow, mirror };
}

async function assertHolds(root: string, files: string[]) {
  assert.equal(await readFile(path.join(root, BUCKET, PLAYLIST_KEY), 'utf8'), playlistText(files, true));
  for (const f of files) assert.deepEqual(await readFile(path.join(root, BUCKET, segmentKey(f))), await readFile(f));
}

describe('mirror target', () => {
  it('a hanging mirror does not hold up the other; it catches up in order, skipping superseded playlists', async () => {
    const dir = await tempDir('mirror-slow');
    const files = await realSegments();
    const fast = new FileTarget({ root: path.join(dir, 'fast') });
    const slow = new GatedTarget(new FileTarget({ root: path.join(dir, 'slow') }));
    const mirror = new MirrorTarget({ targets: [fast, slow], logger: silentLogger(), retry: RETRY });
    // Every call returns while the slow mirror has not stored anything at all.
    await store(mirror, files);
    await assertHolds(path.join(dir, 'fast'), files);
    assert.equal(slow.done.length, 0, 'the slow mirror has stored nothing yet');
    const behind = mirror.stats().find((s) => s.name === slow.name)!;
    assert.equal(behind.backlog, files.length * 2);
    slow.open();
    await mirror.onIdle();
    await assertHolds(path.join(dir, 'slow'), files);
    // On the slow mirror every playlist was stored after the segments it lists.
    for (const [i, op] of slow.done.entries()) {
      if (!op.startsWith('playlist ')) continue;
      for (const name of op.slice('playlist '.length).split(' ')) assert.ok(slow.done.slice(0, i).includes(`segment ${name}`), `${name} before its playlist`);
    }
    const [fastStats, slowStats] = mirror.stats();
    assert.equal(fastStats.stored, files.length * 2);
    assert.equal(fastStats.superseded, 0);
    assert.equal(slowStats.superseded, files.length - 1, 'only the newest queued playlist was written');
    assert.equal(slowStats.stored, files.length + 1);
    assert.equal(slowStats.backlog, 0);
    await mirror.close();
    await rm(dir, { recursive: true });
  });

  it('a failing FTP mirror retries on its own while the directory mirror keeps up; both end identical', async () => {
    const dir = await tempDir('mirror-ftp');
    const files = await realSegments();
    const ftpRoot = path.join(dir, 'ftp');
    await import('node:fs/promises').then((fs) => fs.mkdir(ftpRoot));
    const server = await startFtpServer({ root: ftpRoot, user: 'u', password: 'p' });
    await server.stop(); // the port is known; nothing answers on it yet
    const ftp = new FtpTarget({ host: '127.0.0.1', port: server.port, user: 'u', password: 'p', secure: false, root: '/', timeoutMs: 3_000, logger: silentLogger() });
    const local = new FileTarget({ root: path.join(dir, 'www') });
    const mirror = new MirrorTarget({ targets: [ftp, local], logger: silentLogger(), retry: RETRY });
    try {
      await store(mirror, files);
      await assertHolds(path.join(dir, 'www'), files);
      const ftpStats = mirror.stats()[0];
      assert.ok(ftpStats.retries > 0 && ftpStats.backlog > 0, JSON.stringify(ftpStats));
      await server.start();
      await mirror.onIdle();
      await assertHolds(ftpRoot, files);
    } finally {
      await mirror.close();
      await server.stop();
      await rm(dir, { recursive: true });
    }
  });

  it('rejects only when every mirror refuses permanently', async () => {
    const dir = await tempDir('mirror-refuse');
    const a = new FileTarget({ root: path.join(dir, 'a') });
    const b = new FileTarget({ root: path.join(dir, 'b') });
    const mirror = new MirrorTarget({ targets: [a, b], logger: silentLogger(), retry: RETRY });
    await assert.rejects(mirror.putSegment({ bucket: BUCKET, key: 'x/gone.ts', file: path.join(dir, 'missing.ts') }), (err: Error) => {
      assert.ok(err instanceof PermanentTransferError);
      assert.match(err.message, /refused by every mirror/);
      return true;
    });
    assert.deepEqual(mirror.stats().map((s) => s.failed), [1, 1]);
    // Refused by one (an S3-only key shape would be, on file targets) but stored on the other: resolves.
    const [file] = await realSegments();
    const picky: TransferTarget = {
      name: 'picky',
      putSegment: () => Promise.reject(new PermanentTransferError('no')),
      putPlaylist: (u) => b.putPlaylist(u),
      delete: (bucket, key) => b.delete(bucket, key),
      close: () => b.close(),
    };
    const half = new MirrorTarget({ targets: [a, picky], logger: silentLogger(), retry: RETRY });
    await half.putSegment({ bucket: BUCKET, key: segmentKey(file), file });
    assert.deepEqual(half.stats().map((s) => [s.stored, s.failed]), [[1, 0], [0, 1]]);
    assert.throws(() => new MirrorTarget({ targets: [a, a], logger: silentLogger() }), /given twice/);
    await rm(dir, { recursive: true });
  });

  it('plugs into the uploader unchanged: a stream of index messages reaches both mirrors', async () => {
    const { dir, files, slow, mirror } = await streamThroughSlowMirror('mirror-uploader', false);
    const fastPlaylist = await readFile(path.join(dir, 'fast', BUCKET, 'ev/live.m3u8'), 'utf8');
    assert.match(fastPlaylist, /#EXT-X-ENDLIST/);
    assert.equal(slow.done.length, 0, 'the uploader finished while the slow mirror had stored nothing');
    slow.open();
    await mirror.close();
    assert.equal(await readFile(path.join(dir, 'slow', BUCKET, 'ev/live.m3u8'), 'utf8'), fastPlaylist);
    for (let n = 1; n <= files.length; n++) {
      const key = `ev/${segmentFileName('live', n)}`;
      assert.deepEqual(await readFile(path.join(dir, 'slow', BUCKET, key)), await readFile(path.join(dir, 'fast', BUCKET, key)));
    }
    await rm(dir, { recursive: true });
  });

  it('local segment files stay until the lagging mirror has them too, then go', async () => {
    const { dir, files, segDir, slow, mirror } = await streamThroughSlowMirror('mirror-remove-local', true);
    const local = () => readdir(segDir);
    assert.equal((await local()).length, files.length, 'the fast mirror has everything, the slow one nothing: every local file stays');
    slow.open();
    await mirror.close();
    for (let n = 1; n <= files.length; n++) {
      const key = `ev/${segmentFileName('live', n)}`;
      assert.deepEqual(await readFile(path.join(dir, 'slow', BUCKET, key)), await readFile(files[n - 1]), `${key} reached the slow mirror`);
    }
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(await local(), [], 'once both mirrors have them, the local files are removed');
    await rm(dir, { recursive: true });
  });
});
