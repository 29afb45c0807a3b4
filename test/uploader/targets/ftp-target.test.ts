import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { silentLogger } from '@hlsrelay/log';
import { FtpTarget, UploadQueue } from '@hlsrelay/uploader';
import { startFtpServer, type FtpServerOptions } from './ftp-server';
import { tempDir } from '../../support/temp-dir';
import { captureLog } from '../../support/log-capture';
import { BUCKET, onServer, PLAYLIST_KEY, realSegments, runLiveStream, runThroughOutage, segmentKey, refusedLoginThenRestart, storesBytes } from './stream-scenario';

const USER = 'streamer';
const PASSWORD = 'ftp-Pa55-word-0f-the-test';

/** An FTP server of the test's own over `root`, logging in USER with PASSWORD. */
const ftpServer = (more: Partial<FtpServerOptions> = {}) => (root: string) => startFtpServer({ root, user: USER, password: PASSWORD, ...more });

describe('ftp target', () => {
  it('stores a live stream over one set of reused logins; playlists replaced atomically by rename; bytes in memory stored as they are', () =>
    onServer('ftp-root', ftpServer(), async (root, server, use) => {
      const target = use(new FtpTarget({ host: '127.0.0.1', port: server.port, user: USER, password: PASSWORD, secure: false, root: 'hls', connections: 2, logger: silentLogger() }));
      const { report } = await runLiveStream(target, (key) => path.join(root, 'hls', BUCKET, key));
      assert.equal(report.missing, 0, 'the playlist never disappeared');
      await storesBytes(target, (key) => path.join(root, 'hls', BUCKET, key));
      assert.equal(server.logins, 1, 'one login for the whole stream (sequential use needs one connection)');
      assert.equal(target.logins, 1);
    }));

  it('parallel streams share at most `connections` logins', () =>
    onServer('ftp-pool', ftpServer(), async (root, server, use) => {
      const target = use(new FtpTarget({ host: '127.0.0.1', port: server.port, user: USER, password: PASSWORD, secure: false, root: '/', connections: 3, logger: silentLogger() }));
      const files = await realSegments();
      await Promise.all(
        [0, 1, 2, 3, 4, 5].map(async (s) => {
          for (const file of files.slice(0, 4)) await target.putSegment({ bucket: BUCKET, key: `s${s}/${path.basename(file)}`, file });
        }),
      );
      for (const s of [0, 5]) {
        assert.deepEqual(await readFile(path.join(root, BUCKET, `s${s}`, path.basename(files[3]))), await readFile(files[3]));
      }
      assert.ok(server.logins >= 1 && server.logins <= 3, `logins: ${server.logins}`);
    }));

  it('reconnects after the server restarts mid-stream; everything arrives, in order', () =>
    onServer('ftp-restart', ftpServer(), async (root, server, use) => {
      const target = use(new FtpTarget({ host: '127.0.0.1', port: server.port, user: USER, password: PASSWORD, secure: false, root: '/', connections: 2, timeoutMs: 5_000, logger: silentLogger() }));
      await runThroughOutage(target, (key) => path.join(root, BUCKET, key), {
        interrupt: () => server.stop(),
        resume: () => server.start(),
      });
      assert.ok(server.logins >= 2, 'logged in again after the restart');
    }));

  it('servers that refuse renaming onto a file get delete-then-rename, with one warning', () =>
    onServer('ftp-strict', ftpServer({ renameRefusesExisting: true }), async (root, server, use) => {
      const log = captureLog('uploader');
      const target = use(new FtpTarget({ host: '127.0.0.1', port: server.port, user: USER, password: PASSWORD, secure: false, root: '/', logger: log.logger }));
      await runLiveStream(target, (key) => path.join(root, BUCKET, key), { allowMissing: true });
      const warnings = log.text().split('\n').filter((l) => l.includes('refuses to rename onto an existing file'));
      assert.equal(warnings.length, 1);
    }));

  it('never writes the password to the log, through refused logins, outages and retries', () =>
    onServer('ftp-secret', ftpServer(), async (_root, server, use) => {
      const log = captureLog('uploader');
      const wrong = use(new FtpTarget({ host: '127.0.0.1', port: server.port, user: USER, password: `${PASSWORD}-wrong`, secure: false, root: '/', logger: log.logger }));
      const right = use(new FtpTarget({ host: '127.0.0.1', port: server.port, user: USER, password: PASSWORD, secure: false, root: '/', logger: log.logger }));
      const queue = new UploadQueue({ concurrency: 2, retry: { initialDelayMs: 5, maxDelayMs: 10 }, logger: log.logger });
      const [file] = await realSegments();
      await refusedLoginThenRestart(queue, wrong, right, server, file);
      const text = log.text();
      assert.match(text, /login refused \(530\)/, 'the refused login was logged');
      assert.match(text, new RegExp(`ftp://${USER}@127\\.0\\.0\\.1:${server.port}/`), 'targets are named user@host:port');
      assert.ok(!text.includes(PASSWORD), 'no password in the log');
      assert.ok(!wrong.name.includes(PASSWORD) && !right.name.includes(PASSWORD));
    }));

  it('explicit FTPS: stores over TLS with a pinned certificate authority, refuses an unknown certificate', async (t) => {
    const dir = await tempDir('ftps');
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    } catch {
      await rm(dir, { recursive: true });
      t.skip('openssl is not installed: cannot make a test certificate');
      return;
    }
    const tls = { key: await readFile(path.join(dir, 'key.pem'), 'utf8'), cert: await readFile(path.join(dir, 'cert.pem'), 'utf8') };
    await rm(dir, { recursive: true });
    await onServer('ftps-root', ftpServer({ tls }), async (root, server, use) => {
      const common = { host: '127.0.0.1', port: server.port, user: USER, password: PASSWORD, secure: true, root: '/', logger: silentLogger() };
      const pinned = use(new FtpTarget({ ...common, tls: { ca: tls.cert } }));
      const unpinned = use(new FtpTarget({ ...common, timeoutMs: 5_000 }));
      assert.match(pinned.name, /^ftps:\/\//);
      const [file] = await realSegments();
      await pinned.putSegment({ bucket: BUCKET, key: segmentKey(file), file });
      await pinned.putPlaylist({ bucket: BUCKET, key: PLAYLIST_KEY, text: '#EXTM3U\n', maxAgeSeconds: 0 });
      assert.deepEqual(await readFile(path.join(root, BUCKET, segmentKey(file))), await readFile(file));
      assert.equal(await readFile(path.join(root, BUCKET, PLAYLIST_KEY), 'utf8'), '#EXTM3U\n');
      await assert.rejects(unpinned.putPlaylist({ bucket: BUCKET, key: PLAYLIST_KEY, text: 'x', maxAgeSeconds: 0 }), /self[- ]signed|certificate/i);
    });
  });
});
