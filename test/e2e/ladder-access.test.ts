/**
 * `segmenter ladder` against a guarded uploader (SECURITY.md): the real command with
 * `--token-file`, with `$HLSRELAY_TOKEN` over TLS (`--tls-ca`, a throwaway CA), and with a wrong
 * token — whose messages stay in the spool while the log says the uploader refused the token.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readSpool } from '@hlsrelay/segmenter';
import { getObject, listedUris } from '../support/uploader-rig';
import { tempDir } from '../support/temp-dir';
import { ffmpeg, FFMPEG } from '../support/ffmpeg';
import { SEGMENTER_BIN } from '../support/paths';
import { BUCKET, startSecureStack, type SecureStack } from '../support/secure-stack';
import { makeThrowawayPki } from '../support/throwaway-ca';

const TOKEN = '5b8e1f0c3a7d4e9b2f6a0d8c1e5b7a3f';
const LADDER = {
  fps: 25,
  preset: 'ultrafast',
  profiles: [
    { name: '180p', resolution: '320x180', videoBitrate: '250k', audioBitrate: '64k' },
    { name: '90p', resolution: '160x90', videoBitrate: '100k', audioBitrate: '48k' },
  ],
};

interface Run {
  code: number | null;
  stderr: string;
}

function runLadder(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const childEnv = { ...process.env, ...env };
  if (!('HLSRELAY_TOKEN' in env)) delete childEnv.HLSRELAY_TOKEN;
  const child = spawn(process.execPath, [SEGMENTER_BIN, 'ladder', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: childEnv });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

describe('segmenter ladder with --token-file / $HLSRELAY_TOKEN and --tls-ca', { timeout: 180_000 }, () => {
  let dir: string;
  let source: string;
  let tokenOnly: SecureStack;
  let withTls: SecureStack;
  let caCert: string;

  before(async () => {
    dir = tempDir('ladder-access');
    source = path.join(dir, 'source.ts');
    await ffmpeg([
      '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', '5', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-c:a', 'aac', '-f', 'mpegts', source,
    ]);
    fs.writeFileSync(path.join(dir, 'ladder.json'), JSON.stringify(LADDER));
    fs.writeFileSync(path.join(dir, 'token'), TOKEN + '\n');
    fs.writeFileSync(path.join(dir, 'wrong-token'), TOKEN.replace(/^./, 'x') + '\n');
    const pki = makeThrowawayPki(dir);
    caCert = pki.caCert;
    tokenOnly = await startSecureStack({ token: TOKEN });
    withTls = await startSecureStack({
      token: TOKEN,
      service: { tls: { cert: await readFile(pki.serverCert), key: await readFile(pki.serverKey) } },
      legitTls: { ca: await readFile(pki.caCert) },
    });
  });

  after(async () => {
    await tokenOnly?.close();
    await withTls?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The ladder's arguments for a stream `name` into this stack's segments directory, under live/<name>. */
  const ladderArgs = (stack: SecureStack, name: string): string[] => [
    source, '2', stack.segments, name, 'https://cdn.example/', BUCKET, `live/${name}`,
    '--config', path.join(dir, 'ladder.json'), '--uploader', `127.0.0.1:${stack.port}`, '--ffmpeg', FFMPEG, '--log-json',
  ];

  async function assertEveryRenditionStored(stack: SecureStack, name: string): Promise<void> {
    await stack.service.uploader.onIdle();
    for (const p of LADDER.profiles) {
      const key = `live/${name}/${name}-${p.name}.m3u8`;
      const playlist = await getObject(stack.store, BUCKET, key);
      assert.equal(playlist.status, 200, key);
      const text = playlist.body.toString();
      assert.match(text, /#EXT-X-ENDLIST/, key);
      const uris = listedUris(text);
      assert.ok(uris.length >= 2, `${key} lists ${uris.length} segments`);
      for (const uri of uris) {
        const segmentKey = `live/${name}/${path.basename(new URL(uri).pathname)}`;
        const stored = await getObject(stack.store, BUCKET, segmentKey);
        assert.equal(stored.status, 200, segmentKey);
        assert.deepEqual(stored.body, fs.readFileSync(path.join(stack.segments, path.basename(segmentKey))), `${segmentKey} byte-identical`);
      }
    }
    assert.equal((await getObject(stack.store, BUCKET, `live/${name}/${name}.m3u8`)).status, 200, 'master stored');
  }

  test('--token-file: every rendition is delivered and stored', async () => {
    const run = await runLadder([...ladderArgs(tokenOnly, 'tok'), '--token-file', path.join(dir, 'token')]);
    assert.equal(run.code, 0, run.stderr);
    await assertEveryRenditionStored(tokenOnly, 'tok');
  });

  test('$HLSRELAY_TOKEN with --tls-ca: every rendition is delivered over TLS and stored', async () => {
    const run = await runLadder([...ladderArgs(withTls, 'tls'), '--tls-ca', caCert], { HLSRELAY_TOKEN: TOKEN });
    assert.equal(run.code, 0, run.stderr);
    await assertEveryRenditionStored(withTls, 'tls');
  });

  test('a wrong token: the messages stay spooled, the log says the uploader refused the token, nothing is stored, exit 1', async () => {
    const spoolDir = path.join(dir, 'spool');
    const run = await runLadder([...ladderArgs(tokenOnly, 'bad'), '--token-file', path.join(dir, 'wrong-token'), '--spool-dir', spoolDir, '--drain-timeout', '2']);
    assert.match(run.stderr, /the uploader refused the token/);
    assert.doesNotMatch(run.stderr, new RegExp(TOKEN.slice(1)), 'the token is never logged');
    assert.match(run.stderr, /stay in the spool/);
    // Per rendition, then summed: the run did not deliver, so it exits non-zero.
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /renditions did not get every index message to the uploader.*"renditions":"180p,90p"/);
    for (const p of LADDER.profiles) {
      const pending = readSpool(path.join(spoolDir, p.name)).pending;
      assert.ok(pending.length >= 2, `${p.name}: ${pending.length} messages spooled`);
      assert.match(pending.at(-1)!.line, new RegExp(`bad-${p.name}\\.m3u8`));
      assert.equal((await getObject(tokenOnly.store, BUCKET, `live/bad/bad-${p.name}.m3u8`)).status, 404);
    }
  });

  test('bad values are refused naming the option', async () => {
    const empty = await runLadder([...ladderArgs(tokenOnly, 'x'), '--token-file', '']);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /--token-file must be a file path, got ""/);
    const missing = await runLadder([...ladderArgs(tokenOnly, 'x'), '--tls-ca', path.join(dir, 'no-such-ca.pem')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--tls-ca .*no-such-ca\.pem: cannot read it \(ENOENT\)/);
  });
});
