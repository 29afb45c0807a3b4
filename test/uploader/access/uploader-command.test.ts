/**
 * The real `uploader` command's security settings: it will not listen where other machines can
 * reach it without a token (unless --insecure), names bad security flags, and with a token file,
 * TLS and narrow grants serves a real segmenter process end to end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startEmbeddedStore } from '@hlsrelay/embedded-store';
import { until } from '../../support/until';
import { getObject, listedUris } from '../../support/uploader-rig';
import { STORE_ENV, startUploader } from '../../support/uploader-process';
import { FFMPEG } from '../../support/ffmpeg';
import { SEGMENTER_BIN, UPLOADER_BIN } from '../../support/paths';
import { makeThrowawayPki } from '../../support/throwaway-ca';
import { tempDir } from '../../support/temp-dir';

const TOKEN = '0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c';

function run(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HLSRELAY_')));
  return spawnSync(process.execPath, [UPLOADER_BIN, ...args], { encoding: 'utf8', env: { ...clean, ...STORE_ENV, ...env }, timeout: 30_000 });
}

test('uploader: no token off loopback is refused before listening; bad security flags are named', async () => {
  const dir = tempDir('sec-cmd');
  try {
    const r = run(['--listen', '0.0.0.0:0']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--listen 0\.0\.0\.0 is reachable from other machines: give segmenters a shared token \(--token-file FILE or \$HLSRELAY_TOKEN\), or accept any sender with --insecure/);
    assert.match(run(['--allow-dir', path.join(dir, 'missing')]).stderr, /--allow-dir must name an existing directory, got ".*missing" \(ENOENT\)/);
    assert.match(run(['--allow-bucket', 'Bad Bucket']).stderr, /--allow-bucket expects NAME\[\/PREFIX\].*"Bad Bucket"/);
    assert.match(run(['--tls-cert', 'x.pem']).stderr, /--tls-cert and --tls-key go together, got only --tls-cert/);
    assert.match(run(['--line-timeout', '0']).stderr, /--line-timeout must be seconds > 0, got 0/);
    assert.match(run(['--max-connections-per-peer', '1.5']).stderr, /--max-connections-per-peer must be a whole number ≥ 1, got 1\.5/);
    await writeFile(path.join(dir, 'short'), 'abc');
    const short = run(['--token-file', path.join(dir, 'short')]);
    assert.match(short.stderr, /--token-file .*short: the token must be 16 to 1024 characters, got 3/);
    assert.match(run([], { HLSRELAY_TOKEN: 'x' }).stderr, /\$HLSRELAY_TOKEN: the token must be 16 to 1024 characters, got 1/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('uploader and segmenter commands with a token file, TLS and narrow grants: a live stream goes through', async () => {
  const dir = tempDir('sec-e2e');
  const store = await startEmbeddedStore({ directory: path.join(dir, 'store'), buckets: ['videos'] });
  const segments = path.join(dir, 'hls');
  await mkdir(segments);
  const pki = makeThrowawayPki(dir);
  const tokenFile = path.join(dir, 'token');
  await writeFile(tokenFile, TOKEN + '\n', { mode: 0o600 });
  const up = await startUploader([
    '--s3-endpoint', store.endpoint, '--s3-path-style', '--acl', 'none',
    '--token-file', tokenFile, '--tls-cert', pki.serverCert, '--tls-key', pki.serverKey,
    '--allow-dir', segments, '--allow-bucket', 'videos/live',
  ]);
  try {
    const listening = up.lines.find((l) => l.message === 'listening for segmenters');
    assert.equal(listening?.token, 'required');
    assert.equal(listening?.tls, 'on');
    assert.ok(!up.stderr().includes(TOKEN), 'the token is never logged');
    // ffmpeg → the real segmenter (token from the environment, TLS trusting the test CA) → uploader.
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HLSRELAY_')));
    const ff = spawn(FFMPEG, ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-t', '5', '-c:v', 'libx264', '-g', '25',
      '-preset', 'ultrafast', '-f', 'mpegts', '-'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const seg = spawn(process.execPath, [SEGMENTER_BIN, '-', '1', segments, 'cam', 'cam.m3u8', 'https://cdn.example/live/', 'videos', 'live',
      '--uploader', `127.0.0.1:${up.port}`, '--tls-ca', pki.caCert, '--log-json'], {
      stdio: ['pipe', 'ignore', 'pipe'], env: { ...clean, HLSRELAY_TOKEN: TOKEN },
    });
    ff.stdout.pipe(seg.stdin);
    let segErr = '';
    seg.stderr.on('data', (d: Buffer) => (segErr += d.toString()));
    const code = await new Promise<number | null>((resolve) => seg.once('exit', resolve));
    assert.equal(code, 0, segErr);
    await until(async () => (await getObject(store, 'videos', 'live/cam.m3u8')).body.toString().endsWith('#EXT-X-ENDLIST\n'));
    const playlist = (await getObject(store, 'videos', 'live/cam.m3u8')).body.toString();
    const first = listedUris(playlist)[0].split('/').pop()!;
    const stored = (await getObject(store, 'videos', `live/${first}`)).body;
    const local = await readFile(path.join(segments, first)).catch(() => undefined);
    if (local) assert.deepEqual(stored, local, 'byte-identical');
    assert.ok(stored.length > 0 && stored[0] === 0x47);
    assert.doesNotMatch(segErr, /wants a token|refused the token/);
  } finally {
    await up.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
