/**
 * The real `uploader` command on SFTP and FTP targets: files are stored 0644 (or --file-mode),
 * whatever mode the client library would have set; `?host-key=` takes the fingerprint exactly as
 * `ssh-keygen -lf` prints it, `+` and `/` included; the start-up check says how playlists are
 * replaced on each server.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { hostKeyMatches, sshFingerprint, sshMd5Fingerprint } from '@hlsrelay/uploader';
import { startUploader } from '../../support/uploader-process';
import { FakeStream, sendOriginal } from '../../support/uploader-rig';
import { tempDir } from '../../support/temp-dir';
import { until } from '../../support/until';
import { startFtpServer } from './ftp-server';
import { generateSshKey, startSftpServer } from './sftp-server';
import { opensshMissing, startOpensshServer } from './openssh-server';
import { startVsftpd, vsftpdMissing } from './vsftpd-server';

const USER = 'streamer';
const PASSWORD = 'remote-m0des-Pa55word';

/** A host key whose SHA256 fingerprint holds a `+` (about half of all keys do). */
function hostKeyWithPlus(): ReturnType<typeof generateSshKey> {
  for (let i = 0; i < 64; i++) {
    const key = generateSshKey();
    if (sshFingerprint(key.publicBlob).includes('+')) return key;
  }
  throw new Error('no key with a + in its fingerprint in 64 tries');
}

/** Sends segment 1 of a stream to the uploader and waits until the segment and its playlist are under `root`. */
async function storeOneSegment(dir: string, port: number, root: string): Promise<{ segment: string; playlist: string }> {
  const segs = path.join(dir, 'segs');
  mkdirSync(segs, { recursive: true });
  const stream = new FakeStream(segs, { index: 'cam.m3u8', segmentDuration: 1, outputPrefix: 'cam', httpPrefix: 'http://cdn/', firstSegment: 1, bucketName: 'videos', keyPrefix: 'live' });
  await stream.cut(1);
  await sendOriginal(port, stream.message(1));
  const segment = path.join(root, 'videos/live/cam-00001.ts');
  const playlist = path.join(root, 'videos/live/cam.m3u8');
  await until(() => {
    try {
      return statSync(segment).isFile() && statSync(playlist).isFile();
    } catch {
      return false;
    }
  }, 15_000, 'the segment and playlist stored');
  return { segment, playlist };
}

const modeOf = (file: string) => statSync(file).mode & 0o777;

describe('remote targets: file modes, fingerprints, rename paths', () => {
  it('sftp: files are 0644 (not ssh2\'s 0666), the raw `+` fingerprint is accepted, delete-then-rename is said at start', async () => {
    const dir = tempDir('sftp-modes');
    const root = path.join(dir, 'root');
    mkdirSync(root);
    const hostKey = hostKeyWithPlus();
    const server = await startSftpServer({ root, user: USER, password: PASSWORD, hostKey });
    const pw = path.join(dir, 'pw');
    writeFileSync(pw, PASSWORD + '\n', { mode: 0o600 });
    const fingerprint = sshFingerprint(hostKey.publicBlob);
    const up = await startUploader(['--target', `sftp://${USER}@127.0.0.1:${server.port}/srv?host-key=${fingerprint}&password-file=${pw}`, '--allow-dir', dir]);
    try {
      const checked = up.lines.find((l) => l.message === 'target checked: writable');
      assert.equal(checked?.playlists, 'delete then rename (players may briefly miss the playlist)');
      assert.equal(checked?.fileMode, '0644');
      assert.equal(checked?.hostKey, fingerprint);
      const { segment, playlist } = await storeOneSegment(dir, up.port, path.join(root, 'srv'));
      assert.equal(modeOf(segment).toString(8), '644');
      await until(() => modeOf(playlist) === 0o644, 5_000, 'the playlist 0644');
    } finally {
      assert.equal(await up.stop(), 0);
      await server.stop();
    }
  });

  it('sftp with --file-mode 0640 and a rename that replaces: 0640 files, "rename over" said at start; the URL-encoded fingerprint works too', async () => {
    const dir = tempDir('sftp-mode-640');
    const root = path.join(dir, 'root');
    mkdirSync(root);
    const hostKey = hostKeyWithPlus();
    const server = await startSftpServer({ root, user: USER, password: PASSWORD, hostKey, renameReplaces: true });
    const pw = path.join(dir, 'pw');
    writeFileSync(pw, PASSWORD, { mode: 0o600 });
    const encoded = encodeURIComponent(sshFingerprint(hostKey.publicBlob));
    assert.match(encoded, /%2B/);
    const up = await startUploader(['--target', `sftp://${USER}@127.0.0.1:${server.port}/?host-key=${encoded}&password-file=${pw}`, '--allow-dir', dir, '--file-mode', '0640']);
    try {
      const checked = up.lines.find((l) => l.message === 'target checked: writable');
      assert.match(String(checked?.playlists), /^rename over the old file/);
      const { segment, playlist } = await storeOneSegment(dir, up.port, root);
      assert.equal(modeOf(segment).toString(8), '640');
      await until(() => modeOf(playlist) === 0o640, 5_000, 'the playlist 0640');
    } finally {
      assert.equal(await up.stop(), 0);
      await server.stop();
    }
  });

  it('sftp: a fingerprint that does not match stops the start with host-key-mismatch', async () => {
    const dir = tempDir('sftp-mismatch');
    const server = await startSftpServer({ root: dir, user: USER, password: PASSWORD });
    const pw = path.join(dir, 'pw');
    writeFileSync(pw, PASSWORD);
    const other = sshFingerprint(hostKeyWithPlus().publicBlob);
    try {
      await assert.rejects(
        startUploader(['--target', `sftp://${USER}@127.0.0.1:${server.port}/?host-key=${other}&password-file=${pw}`]),
        (err: Error) => /start-up check failed: sftp:\/\/streamer@127\.0\.0\.1:\d+\/: login failed with host-key-mismatch/.test(err.message) && err.message.includes(other),
      );
      assert.equal(server.logins, 0, 'no password was sent');
    } finally {
      await server.stop();
    }
  });

  it('Debian OpenSSH: 0644 files under a umask-free FSETSTAT, posix-rename said at start, the ssh-keygen -lf fingerprint pasted as printed', async (t) => {
    const missing = opensshMissing();
    if (missing) {
      if (process.env.CI) assert.fail(missing);
      process.stderr.write(`\n*** SKIPPED: ${missing} ***\n\n`);
      t.skip(missing);
      return;
    }
    const dir = tempDir('openssh');
    const root = path.join(dir, 'root');
    mkdirSync(root);
    const clientKey = generateSshKey();
    const keyFile = path.join(dir, 'id');
    writeFileSync(keyFile, clientKey.privatePem, { mode: 0o600 });
    const server = await startOpensshServer(dir, clientKey.publicLine, (fp) => fp.includes('+'));
    const up = await startUploader(['--target', `sftp://${server.user}@127.0.0.1:${server.port}${root}?host-key=${server.fingerprint}&key-file=${keyFile}`, '--allow-dir', dir]);
    try {
      const checked = up.lines.find((l) => l.message === 'target checked: writable');
      assert.equal(checked?.playlists, 'posix-rename (atomic replace)');
      assert.equal(checked?.hostKey, server.fingerprint);
      const { segment, playlist } = await storeOneSegment(dir, up.port, root);
      assert.equal(modeOf(segment).toString(8), '644');
      await until(() => modeOf(playlist) === 0o644, 5_000, 'the playlist 0644');
    } finally {
      assert.equal(await up.stop(), 0);
      await server.stop();
    }
  });

  it('Debian vsftpd refusing SITE CHMOD: said once at start, files keep its umask (0644), playlists renamed over', async (t) => {
    const missing = vsftpdMissing();
    if (missing) {
      if (process.env.CI) assert.fail(missing);
      process.stderr.write(`\n*** SKIPPED: ${missing} ***\n\n`);
      t.skip(missing);
      return;
    }
    const dir = tempDir('vsftpd');
    const server = await startVsftpd(dir);
    const up = await startUploader(['--target', `ftp://anonymous@127.0.0.1:${server.port}/up`, '--allow-dir', dir]);
    try {
      const checked = up.lines.find((l) => l.message === 'target checked: writable');
      assert.equal(checked?.fileMode, "the server's default (no SITE CHMOD)");
      assert.match(String(checked?.playlists), /^rename over the old file/);
      const refusals = up.lines.filter((l) => String(l.message).startsWith('ftp server refuses SITE CHMOD'));
      assert.equal(refusals.length, 1);
      assert.match(String(refusals[0].error), /550/);
      const { segment, playlist } = await storeOneSegment(dir, up.port, server.uploadDir);
      assert.equal(modeOf(segment).toString(8), '644');
      assert.equal(modeOf(playlist).toString(8), '644');
      assert.equal(up.lines.filter((l) => String(l.message).startsWith('ftp server refuses SITE CHMOD')).length, 1, 'said once, not per file');
    } finally {
      assert.equal(await up.stop(), 0);
      await server.stop();
    }
  });

  it('ftp: SITE CHMOD sets ?file-mode= on every stored file', async () => {
    const dir = tempDir('ftp-modes');
    const root = path.join(dir, 'root');
    mkdirSync(root);
    const server = await startFtpServer({ root, user: USER, password: PASSWORD });
    const pw = path.join(dir, 'pw');
    writeFileSync(pw, PASSWORD);
    const up = await startUploader(['--target', `ftp://${USER}@127.0.0.1:${server.port}/?password-file=${pw}&file-mode=0600`, '--allow-dir', dir]);
    try {
      const checked = up.lines.find((l) => l.message === 'target checked: writable');
      assert.equal(checked?.fileMode, '0600 (SITE CHMOD)');
      assert.match(String(checked?.playlists), /^rename over the old file/);
      const { segment, playlist } = await storeOneSegment(dir, up.port, root);
      assert.equal(modeOf(segment).toString(8), '600');
      await until(() => modeOf(playlist) === 0o600, 5_000, 'the playlist 0600');
      assert.ok(!up.lines.some((l) => String(l.message).includes('SITE CHMOD')), 'no refusal logged');
    } finally {
      assert.equal(await up.stop(), 0);
      await server.stop();
    }
  });
});

describe('host key fingerprints', () => {
  it('are computed as ssh-keygen -lf (SHA256) and ssh-keygen -E md5 -lf (MD5) print them, and match as pasted', (t) => {
    if (!existsSync('/usr/bin/ssh-keygen')) {
      t.skip('ssh-keygen (openssh-client) not installed');
      return;
    }
    const dir = tempDir('fingerprints');
    const file = path.join(dir, 'k');
    execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
    const blob = Buffer.from(readFileSync(`${file}.pub`, 'utf8').split(' ')[1], 'base64');
    const printed = (extra: string[]) => execFileSync('/usr/bin/ssh-keygen', [...extra, '-lf', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1];
    assert.equal(sshFingerprint(blob), printed([]));
    assert.equal(sshMd5Fingerprint(blob), printed(['-E', 'md5']));
    assert.ok(hostKeyMatches(printed([]), blob));
    assert.ok(hostKeyMatches(printed(['-E', 'md5']).toUpperCase().replace(/^MD5/, 'MD5'), blob), 'MD5 hex in either case');
    assert.ok(!hostKeyMatches(sshFingerprint(Buffer.from('another key')), blob));
  });
});
