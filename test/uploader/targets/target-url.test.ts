import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { silentLogger } from '@hlsrelay/log';
import { createTransferTarget, FileTarget, FtpTarget, parseTargetUrl, SftpTarget, TargetUrlError, type TransferTarget } from '@hlsrelay/uploader';
import { tempDir } from '../../support/temp-dir';
import { captureLog } from '../../support/log-capture';
import { writeSecret } from './stream-scenario';

describe('--target URL parsing', () => {
  const valid: Array<[string, Record<string, string>, Record<string, unknown>]> = [
    ['s3:', {}, { scheme: 's3' }],
    ['s3', {}, { scheme: 's3' }],
    ['file:///srv/hls', {}, { scheme: 'file', root: '/srv/hls', display: 'file:///srv/hls' }],
    ['file:///srv/my%20hls', {}, { scheme: 'file', root: '/srv/my hls' }],
    ['ftp://up@web.example:2121/hls', {}, { scheme: 'ftp', host: 'web.example', port: 2121, user: 'up', root: 'hls', password: undefined }],
    ['ftp://up@web.example//srv/hls', {}, { scheme: 'ftp', port: 21, root: '/srv/hls' }],
    ['ftp://up@web.example/%2Fsrv/hls', {}, { root: '/srv/hls' }],
    ['ftp://web.example/', {}, { user: 'anonymous', root: '' }],
    ['ftp://up@h/x', { HLSRELAY_FTP_PASSWORD: 's' }, { password: { from: 'env', variable: 'HLSRELAY_FTP_PASSWORD' } }],
    ['ftp://up@h/x?password-file=/run/pw', { HLSRELAY_FTP_PASSWORD: 's' }, { password: { from: 'file', path: '/run/pw' } }],
    ['ftps://up@h/x?ca-file=/etc/ca.pem&connections=4', {}, { scheme: 'ftps', caFile: '/etc/ca.pem', connections: 4 }],
    ['sftp://up@h/srv/hls?key-file=/k', {}, { scheme: 'sftp', port: 22, root: '/srv/hls', keyFile: '/k', password: undefined }],
    ['sftp://up@h:2222/~/hls', { HLSRELAY_SFTP_PASSWORD: 'p' }, { port: 2222, root: 'hls', password: { from: 'env', variable: 'HLSRELAY_SFTP_PASSWORD' } }],
    ['sftp://up@h/x', { HLSRELAY_SFTP_KEY_FILE: '/keys/id', HLSRELAY_SFTP_KEY_PASSPHRASE: 'pp' }, { keyFile: '/keys/id', passphrase: { from: 'env', variable: 'HLSRELAY_SFTP_KEY_PASSPHRASE' } }],
    [`sftp://up@h/x?key-file=/k&host-key=SHA256:${'A'.repeat(43)}`, {}, { hostKey: `SHA256:${'A'.repeat(43)}` }],
    // As ssh-keygen -lf prints it: `+` is a plus, not a space (no HTML form encoding here).
    ['sftp://up@h/x?key-file=/k&host-key=SHA256:ab+cd/EFxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', {}, { hostKey: 'SHA256:ab+cd/EFxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' }],
    ['sftp://up@h/x?key-file=/k&host-key=SHA256%3Aab%2Bcd%2FEFxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', {}, { hostKey: 'SHA256:ab+cd/EFxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' }],
    ['sftp://up@h/x?key-file=/k&host-key=MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48', {}, { hostKey: 'MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48' }],
    ['sftp://up@h/x?key-file=/k&file-mode=0640', {}, { fileMode: 0o640 }],
    ['ftp://up@h/x?file-mode=600', {}, { fileMode: 0o600 }],
    ['ftp://up@h/x?password-file=/run/a+b', {}, { password: { from: 'file', path: '/run/a+b' } }],
  ];
  for (const [value, env, expected] of valid) {
    it(`parses ${value}`, () => {
      const spec = parseTargetUrl(value, env) as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(expected)) assert.deepEqual(spec[k], v, k);
    });
  }

  const invalid: Array<[string, Record<string, string>, RegExp]> = [
    ['ftp://up:hunter2secret@h/x', {}, /password in the URL.*HLSRELAY_FTP_PASSWORD/],
    ['sftp://up:hunter2secret@h/x', {}, /password in the URL.*HLSRELAY_SFTP_PASSWORD/],
    ['s3://bucket/prefix', {}, /bucket and key prefix come from each index message/],
    ['http://h/x', {}, /unknown scheme "http:"/],
    ['not a url', {}, /not a URL; expected s3:/],
    ['file://server/share', {}, /local directory/],
    ['file:///', {}, /absolute directory other than \//],
    ['ftp://up@h/x?password=x', {}, /unknown option "\?password".*\?password-file=/],
    ['ftp://up@h/x?ca-file=/c', {}, /unknown option "\?ca-file"/],
    ['ftp://up@h/x?password-file=rel/pw', {}, /must be an absolute path/],
    ['ftps://up@h/x?connections=0', {}, /connections= must be an integer 1–16, got "0"/],
    ['sftp://h/x?key-file=/k', {}, /sftp needs a user/],
    ['sftp://up@h/x', {}, /no credentials.*HLSRELAY_SFTP_KEY_FILE/],
    ['sftp://up@h/x?key-file=/k&host-key=abc', {}, /host-key= must be a fingerprint as "ssh-keygen -lf" prints it/],
    ['sftp://up@h/x?key-file=/k&host-key=SHA256:ab cd', {}, /host-key= must be a fingerprint/],
    ['sftp://up@h/x?key-file=/k&file-mode=0755x', {}, /\?file-mode= must be an octal file mode such as 0644, got "0755x"/],
    ['sftp://up@h/x?key-file=/k&file-mode=0044', {}, /\?file-mode= must let the owner read and write/],
    ['ftp://up@h/x?connections=1&connections=2', {}, /\?connections= is given twice/],
    ['ftp://up@h/x?password-file=%E0%A4%A', {}, /bad %-escape/],
  ];
  for (const [value, env, pattern] of invalid) {
    it(`refuses ${value}`, () => {
      assert.throws(() => parseTargetUrl(value, env), (err: Error) => {
        assert.ok(err instanceof TargetUrlError);
        assert.match(err.message, pattern);
        assert.ok(!err.message.includes('hunter2secret'), 'the refused password is not echoed');
        return true;
      });
    });
  }
});

describe('creating targets from --target', () => {
  const s3Stub = (): TransferTarget => {
    throw new Error('not asked for');
  };

  it('builds file, ftp(s) and sftp targets, reading secrets once, never naming them', async () => {
    const dir = await tempDir('create-target');
    const pw = await writeSecret(dir, 'ftp-password', 'file-secret-123\n');
    const log = captureLog('uploader');
    const deps = { logger: log.logger, env: { HLSRELAY_SFTP_PASSWORD: 'env-secret-456' }, s3: s3Stub };
    const file = await createTransferTarget(parseTargetUrl(`file://${dir}/www`), deps);
    assert.ok(file instanceof FileTarget);
    const ftp = await createTransferTarget(parseTargetUrl(`ftp://up@127.0.0.1:2121/hls?password-file=${pw}`), deps);
    assert.ok(ftp instanceof FtpTarget);
    assert.equal(ftp.name, 'ftp://up@127.0.0.1:2121/hls');
    const sftp = await createTransferTarget(parseTargetUrl('sftp://up@127.0.0.1/srv', deps.env), deps);
    assert.ok(sftp instanceof SftpTarget);
    const text = log.text();
    assert.match(text, /plain ftp sends the password unencrypted/);
    assert.match(text, /sftp host key not pinned/);
    assert.ok(!text.includes('file-secret-123') && !text.includes('env-secret-456'));
    for (const t of [file, ftp, sftp]) await t.close();
    await rm(dir, { recursive: true });
  });

  it('stops at start-up with a clear message when a secret cannot be read', async () => {
    const deps = { logger: silentLogger(), env: {}, s3: s3Stub };
    await assert.rejects(
      createTransferTarget(parseTargetUrl('ftps://up@h/x?password-file=/nonexistent/pw'), deps),
      /ftps:\/\/up@h:21\/x password: cannot read \/nonexistent\/pw: ENOENT/,
    );
    await assert.rejects(
      createTransferTarget(parseTargetUrl('sftp://up@h/x?key-file=/nonexistent/id'), deps),
      /cannot read the private key file \/nonexistent\/id: ENOENT/,
    );
    const dir = await tempDir('empty-secret');
    const empty = await writeSecret(dir, 'pw', '\n');
    await assert.rejects(createTransferTarget(parseTargetUrl(`ftp://up@h/x?password-file=${empty}`), deps), /is empty/);
    await rm(dir, { recursive: true });
  });

  it('s3: is built by the caller (its flags live in main.ts)', async () => {
    const made: TransferTarget = new FileTarget({ root: path.resolve('/tmp') });
    assert.equal(await createTransferTarget(parseTargetUrl('s3:'), { logger: silentLogger(), env: {}, s3: () => made }), made);
  });
});
