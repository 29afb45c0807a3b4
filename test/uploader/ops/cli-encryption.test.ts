/** The encryption flags: what --encrypt needs, what the key flags mean only with it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { settingsFrom, uploaderParser } from '@hlsrelay/uploader';
import { tempDir } from '../../support/temp-dir';
import { runUploaderToExit } from '../../support/uploader-process';

const env = { HOME: '/home/live' };
async function parse(args: string[]) {
  const parser = uploaderParser(args, env).fail((message, err) => {
    throw err ?? new Error(message);
  });
  return settingsFrom(await parser.parse(), env);
}

test('--encrypt aes-128 with its key flags becomes the encryption settings; without it segments stay clear', async () => {
  assert.equal((await parse([])).encryption, undefined);
  const s = await parse(['--encrypt', 'aes-128', '--key-rotation', '3', '--key-uri-prefix', 'https://keys.example/live/', '--key-target', 'file:///srv/keys']);
  assert.deepEqual(s.encryption, { method: 'aes-128', rotation: 3, keyUriPrefix: 'https://keys.example/live/', keyTarget: { scheme: 'file', display: 'file:///srv/keys', root: '/srv/keys' }, streams: 'all' });
  assert.equal((await parse(['--encrypt', 'aes-128', '--key-uri-prefix', '/keys/', '--encrypt-streams', 'requested'])).encryption?.streams, 'requested');
  assert.equal((await parse(['--encrypt', 'aes-128', '--key-uri-prefix', '/keys/'])).encryption?.rotation, undefined, 'one key per run by default');
});

test('refused: --encrypt without --key-uri-prefix, key flags without --encrypt, no state directory, a bad rotation, an FTP key target', async () => {
  await assert.rejects(parse(['--encrypt', 'aes-128']), /--encrypt needs --key-uri-prefix/);
  await assert.rejects(parse(['--key-rotation', '3']), /--key-rotation only has a meaning with --encrypt/);
  await assert.rejects(parse(['--key-uri-prefix', 'https://k/']), /--key-uri-prefix only has a meaning with --encrypt/);
  await assert.rejects(parse(['--encrypt-streams', 'requested']), /--encrypt-streams only has a meaning with --encrypt/);
  await assert.rejects(parse(['--encrypt', 'aes-128', '--key-uri-prefix', 'https://k/', '--state-dir', 'none']), /needs a state directory/);
  await assert.rejects(parse(['--encrypt', 'aes-128', '--key-uri-prefix', 'https://k/', '--key-rotation', '0']), /--key-rotation must be a whole number/);
  await assert.rejects(parse(['--encrypt', 'aes-128', '--key-uri-prefix', 'https://k/"']), /cannot carry quotes/);
  await assert.rejects(parse(['--encrypt', 'aes-128', '--key-uri-prefix', 'https://k/', '--key-target', 'ftp://u@h/keys']), /--key-target must be s3: or file/);
  await assert.rejects(parse(['--encrypt', 'aes-256', '--key-uri-prefix', 'https://k/']), /aes-256/);
});

test('the uploader exits 1 at start when --encrypt would have to store keys on a target that cannot keep them private (FTP)', async () => {
  const dir = tempDir('encrypt-ftp');
  try {
    const r = await runUploaderToExit([
      '--encrypt', 'aes-128', '--key-uri-prefix', 'https://keys.example/', '--target', 'ftp://live@127.0.0.1:1/hls',
      '--no-startup-check', '--state-dir', dir,
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(r.lines.some((l) => /cannot store content keys privately; give --key-target/.test(String(l.message))), r.stderr);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
