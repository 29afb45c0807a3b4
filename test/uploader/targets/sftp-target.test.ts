import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { silentLogger } from '@hlsrelay/log';
import { PermanentTransferError, SftpTarget, sshFingerprint, UploadQueue } from '@hlsrelay/uploader';
import { generateSshKey, startSftpServer } from './sftp-server';
import { tempDir } from '../../support/temp-dir';
import { captureLog } from '../../support/log-capture';
import { BUCKET, PLAYLIST_KEY, realSegments, runLiveStream, runThroughOutage, segmentKey, refusedLoginThenRestart, storesBytes } from './stream-scenario';

const USER = 'streamer';
const PASSWORD = 'sftp-Pa55-word-0f-the-test';

describe('sftp target', () => {
  it('stores a live stream with a key login reused throughout; playlists replaced by rename; bytes in memory stored as they are', async () => {
    const root = await tempDir('sftp-root');
    const clientKey = generateSshKey();
    const server = await startSftpServer({ root, user: USER, authorizedKey: clientKey.publicLine, renameReplaces: true });
    const target = new SftpTarget({
      host: '127.0.0.1', port: server.port, user: USER, privateKey: Buffer.from(clientKey.privatePem),
      hostKey: sshFingerprint(server.hostPublicKey), root: '/srv/hls', logger: silentLogger(),
    });
    try {
      const { report } = await runLiveStream(target, (key) => path.join(root, 'srv/hls', BUCKET, key));
      assert.equal(report.missing, 0, 'the playlist never disappeared');
      await storesBytes(target, (key) => path.join(root, 'srv/hls', BUCKET, key));
      assert.equal(server.logins, 1, 'one login for the whole stream');
    } finally {
      await target.close();
      await server.stop();
      await rm(root, { recursive: true });
    }
  });

  it('servers whose plain rename refuses an existing file (SFTP v3) get delete-then-rename, with one warning', async () => {
    const root = await tempDir('sftp-v3');
    const server = await startSftpServer({ root, user: USER, password: PASSWORD });
    const log = captureLog('uploader');
    const target = new SftpTarget({ host: '127.0.0.1', port: server.port, user: USER, password: PASSWORD, root: 'hls', logger: log.logger });
    try {
      // A relative root is under the login directory (here the server's `/`).
      await runLiveStream(target, (key) => path.join(root, 'hls', BUCKET, key), { allowMissing: true });
      assert.equal(log.text().split('\n').filter((l) => l.includes('deleted then renamed')).length, 1);
    } finally {
      await target.close();
      await server.stop();
      await rm(root, { recursive: true });
    }
  });

  it('reconnects after the server restarts mid-stream; everything arrives, in order', async () => {
    const root = await tempDir('sftp-restart');
    const server = await startSftpServer({ root, user: USER, password: PASSWORD, renameReplaces: true });
    const target = new SftpTarget({ host: '127.0.0.1', port: server.port, user: USER, password: PASSWORD, root: '/', connections: 2, timeoutMs: 5_000, logger: silentLogger() });
    try {
      await runThroughOutage(target, (key) => path.join(root, BUCKET, key), {
        interrupt: () => server.stop(),
        resume: () => server.start(),
      });
      assert.ok(server.logins >= 2, 'logged in again after the restart');
    } finally {
      await target.close();
      await server.stop();
      await rm(root, { recursive: true });
    }
  });

  it('refuses a server whose host key does not match the pinned fingerprint', async () => {
    const root = await tempDir('sftp-mitm');
    const server = await startSftpServer({ root, user: USER, password: PASSWORD });
    const other = generateSshKey();
    const target = new SftpTarget({
      host: '127.0.0.1', port: server.port, user: USER, password: PASSWORD, root: '/',
      hostKey: sshFingerprint(other.publicBlob), logger: silentLogger(),
    });
    try {
      await assert.rejects(target.putPlaylist({ bucket: BUCKET, key: PLAYLIST_KEY, text: '#EXTM3U\n', maxAgeSeconds: 0 }), /host key/);
      assert.equal(server.logins, 0, 'no credentials were sent to it');
    } finally {
      await target.close();
      await server.stop();
      await rm(root, { recursive: true });
    }
  });

  it('never writes the password or key to the log, through refused logins, outages and retries', async () => {
    const root = await tempDir('sftp-secret');
    const clientKey = generateSshKey();
    const server = await startSftpServer({ root, user: USER, password: PASSWORD, renameReplaces: true });
    const log = captureLog('uploader');
    const withKey = new SftpTarget({ host: '127.0.0.1', port: server.port, user: USER, privateKey: Buffer.from(clientKey.privatePem), root: '/', logger: log.logger });
    const withPassword = new SftpTarget({ host: '127.0.0.1', port: server.port, user: USER, password: PASSWORD, root: '/', logger: log.logger });
    const queue = new UploadQueue({ concurrency: 2, retry: { initialDelayMs: 5, maxDelayMs: 10 }, logger: log.logger });
    const [file] = await realSegments();
    try {
      await refusedLoginThenRestart(queue, withKey, withPassword, server, file);
      assert.equal(await readFile(path.join(root, BUCKET, PLAYLIST_KEY), 'utf8'), '#EXTM3U\n');
      const text = log.text();
      assert.match(text, /login refused/);
      assert.match(text, new RegExp(`sftp://${USER}@127\\.0\\.0\\.1:${server.port}/`));
      assert.ok(!text.includes(PASSWORD), 'no password in the log');
      const keyBody = clientKey.privatePem.split('\n')[5];
      assert.ok(keyBody.length > 40 && !text.includes(keyBody), 'no private key material in the log');
    } finally {
      await withKey.close();
      await withPassword.close();
      await server.stop();
      await rm(root, { recursive: true });
    }
  });
});
