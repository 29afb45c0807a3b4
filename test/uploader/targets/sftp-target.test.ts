import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { silentLogger } from '@hlsrelay/log';
import { SftpTarget, sshFingerprint, UploadQueue } from '@hlsrelay/uploader';
import { generateSshKey, startSftpServer, type SftpServerOptions } from './sftp-server';
import { captureLog } from '../../support/log-capture';
import { BUCKET, onServer, PLAYLIST_KEY, realSegments, runLiveStream, runThroughOutage, refusedLoginThenRestart, storesBytes } from './stream-scenario';

const USER = 'streamer';
const PASSWORD = 'sftp-Pa55-word-0f-the-test';

/** An SSH server of the test's own over `root` for USER (with PASSWORD unless `more` says otherwise). */
const sftpServer = (more: Partial<SftpServerOptions> = {}) => (root: string) => startSftpServer({ root, user: USER, password: PASSWORD, ...more });

describe('sftp target', () => {
  it('stores a live stream with a key login reused throughout; playlists replaced by rename; bytes in memory stored as they are', () => {
    const clientKey = generateSshKey();
    return onServer('sftp-root', sftpServer({ password: undefined, authorizedKey: clientKey.publicLine, renameReplaces: true }), async (root, server, use) => {
      const target = use(new SftpTarget({
        host: '127.0.0.1', port: server.port, user: USER, privateKey: Buffer.from(clientKey.privatePem),
        hostKey: sshFingerprint(server.hostPublicKey), root: '/srv/hls', logger: silentLogger(),
      }));
      const { report } = await runLiveStream(target, (key) => path.join(root, 'srv/hls', BUCKET, key));
      assert.equal(report.missing, 0, 'the playlist never disappeared');
      await storesBytes(target, (key) => path.join(root, 'srv/hls', BUCKET, key));
      assert.equal(server.logins, 1, 'one login for the whole stream');
    });
  });

  it('servers whose plain rename refuses an existing file (SFTP v3) get delete-then-rename, with one warning', () =>
    onServer('sftp-v3', sftpServer(), async (root, server, use) => {
      const log = captureLog('uploader');
      const target = use(new SftpTarget({ host: '127.0.0.1', port: server.port, user: USER, password: PASSWORD, root: 'hls', logger: log.logger }));
      // A relative root is under the login directory (here the server's `/`).
      await runLiveStream(target, (key) => path.join(root, 'hls', BUCKET, key), { allowMissing: true });
      assert.equal(log.text().split('\n').filter((l) => l.includes('deleted then renamed')).length, 1);
    }));

  it('reconnects after the server restarts mid-stream; everything arrives, in order', () =>
    onServer('sftp-restart', sftpServer({ renameReplaces: true }), async (root, server, use) => {
      const target = use(new SftpTarget({ host: '127.0.0.1', port: server.port, user: USER, password: PASSWORD, root: '/', connections: 2, timeoutMs: 5_000, logger: silentLogger() }));
      await runThroughOutage(target, (key) => path.join(root, BUCKET, key), {
        interrupt: () => server.stop(),
        resume: () => server.start(),
      });
      assert.ok(server.logins >= 2, 'logged in again after the restart');
    }));

  it('refuses a server whose host key does not match the pinned fingerprint', () =>
    onServer('sftp-mitm', sftpServer(), async (_root, server, use) => {
      const other = generateSshKey();
      const target = use(new SftpTarget({
        host: '127.0.0.1', port: server.port, user: USER, password: PASSWORD, root: '/',
        hostKey: sshFingerprint(other.publicBlob), logger: silentLogger(),
      }));
      await assert.rejects(target.putPlaylist({ bucket: BUCKET, key: PLAYLIST_KEY, text: '#EXTM3U\n', maxAgeSeconds: 0 }), /host key/);
      assert.equal(server.logins, 0, 'no credentials were sent to it');
    }));

  it('never writes the password or key to the log, through refused logins, outages and retries', () => {
    const clientKey = generateSshKey();
    return onServer('sftp-secret', sftpServer({ renameReplaces: true }), async (root, server, use) => {
      const log = captureLog('uploader');
      const withKey = use(new SftpTarget({ host: '127.0.0.1', port: server.port, user: USER, privateKey: Buffer.from(clientKey.privatePem), root: '/', logger: log.logger }));
      const withPassword = use(new SftpTarget({ host: '127.0.0.1', port: server.port, user: USER, password: PASSWORD, root: '/', logger: log.logger }));
      const queue = new UploadQueue({ concurrency: 2, retry: { initialDelayMs: 5, maxDelayMs: 10 }, logger: log.logger });
      const [file] = await realSegments();
      await refusedLoginThenRestart(queue, withKey, withPassword, server, file);
      assert.equal(await readFile(path.join(root, BUCKET, PLAYLIST_KEY), 'utf8'), '#EXTM3U\n');
      const text = log.text();
      assert.match(text, /login refused/);
      assert.match(text, new RegExp(`sftp://${USER}@127\\.0\\.0\\.1:${server.port}/`));
      assert.ok(!text.includes(PASSWORD), 'no password in the log');
      const keyBody = clientKey.privatePem.split('\n')[5];
      assert.ok(keyBody.length > 40 && !text.includes(keyBody), 'no private key material in the log');
    });
  });
});
