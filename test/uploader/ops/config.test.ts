/**
 * Settings from a config file and the environment, named like the flags: precedence, checks that
 * name the file or variable, --print-config with secrets masked — on both real commands.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import yargs from 'yargs';
import { checkEnvironment, effectiveSettings, readConfigFile, type OptionTable } from '@hlsrelay/protocol';
import { until } from '../../support/until';
import { FakeStream, listedUris, PersistentClient } from '../../support/uploader-rig';
import { UPLOADER_BIN } from '../../support/paths';
import { startUploader } from '../../support/uploader-process';
import { SEGMENTER_BIN } from '../../support/paths';
import { tempDir } from '../../support/temp-dir';


function run(bin: string, args: string[], env: Record<string, string> = {}) {
  // Only the variables a test sets: an operator's own HLSRELAY_* must not leak in.
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HLSRELAY_')));
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...clean, ...env } });
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = tempDir('config');
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('uploader: flag > environment > file > default, shown by --print-config', () =>
  withDir(async (dir) => {
    const file = path.join(dir, 'uploader.json');
    await writeFile(file, JSON.stringify({ window: 3, concurrency: 5, acl: 'none', target: ['s3:', `file://${dir}/www`] }));
    const r = run(UPLOADER_BIN, ['--config', file, '--print-config', '--concurrency', '9'], { HLSRELAY_UPLOADER_WINDOW: '4', HLSRELAY_UPLOADER_S3_PATH_STYLE: 'true' });
    assert.equal(r.status, 0, r.stderr);
    const settings = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(settings.concurrency, 9, 'flag beats file');
    assert.equal(settings.window, 4, 'environment beats file');
    assert.equal(settings.acl, 'none', 'file beats default');
    assert.equal(settings['s3-path-style'], true);
    assert.deepEqual(settings.target, ['s3:', `file://${dir}/www`]);
    assert.equal(settings.listen, '127.0.0.1:10234', 'defaults are shown too');
    assert.equal('config' in settings || 'print-config' in settings || '$0' in settings || 'printConfig' in settings, false);
    // The printed settings are themselves a config file.
    const again = path.join(dir, 'again.json');
    await writeFile(again, r.stdout);
    const r2 = run(UPLOADER_BIN, ['--config', again, '--print-config']);
    assert.deepEqual(JSON.parse(r2.stdout), settings);
    // The file can be named in the environment as well.
    const r3 = run(UPLOADER_BIN, ['--print-config'], { HLSRELAY_UPLOADER_CONFIG: file });
    assert.equal(JSON.parse(r3.stdout).window, 3);
  }));

test('uploader: bad settings name the file or variable, the setting, what was expected and what came', () =>
  withDir(async (dir) => {
    const file = path.join(dir, 'bad.json');
    const refuse = async (content: string, pattern: RegExp) => {
      await writeFile(file, content);
      const r = run(UPLOADER_BIN, ['--config', file]);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, pattern);
    };
    await refuse('{"window": "six"}', /--config .*bad\.json: "window" must be a number, got "six" \(string\)/);
    await refuse('{"windw": 6}', /"windw" is not a setting; known settings: acl, .*concurrency, .*window/);
    await refuse('{"acl": "private"}', /"acl" must be one of "public-read", "none", got "private" \(string\)/);
    await refuse('{"target": ["s3:", 7]}', /"target" must be a string or a list of them, got a list \["s3:",7\]/);
    await refuse('[1, 2]', /expected a JSON object of settings .*, got a list \[1,2\]/);
    await refuse('{"window": 6,}', /bad\.json: not valid JSON/);
    // A value of the right type is still checked like the flag.
    await refuse('{"window": 0}', /--window must be an integer ≥ 1, got 0/);
    assert.match(run(UPLOADER_BIN, ['--config', path.join(dir, 'missing.json')]).stderr, /--config .*missing\.json: cannot read it \(ENOENT\)/);
    assert.match(run(UPLOADER_BIN, [], { HLSRELAY_UPLOADER_WINDOW: 'six' }).stderr, /\$HLSRELAY_UPLOADER_WINDOW \(--window\) must be a number, got "six"/);
    assert.match(run(UPLOADER_BIN, [], { HLSRELAY_UPLOADER_WINDWO: '6' }).stderr, /\$HLSRELAY_UPLOADER_WINDWO: no setting --windwo; known settings:/);
    assert.match(run(UPLOADER_BIN, [], { HLSRELAY_UPLOADER_S3_PATH_STYLE: 'yes' }).stderr, /\$HLSRELAY_UPLOADER_S3_PATH_STYLE \(--s3-path-style\) must be true or false, got "yes"/);
  }));

test('uploader: settings from the file take effect in the running daemon', () =>
  withDir(async (dir) => {
    const file = path.join(dir, 'uploader.json');
    const www = path.join(dir, 'www');
    await writeFile(file, JSON.stringify({ window: 2, target: [`file://${www}`] }));
    const up = await startUploader(['--config', file]);
    try {
      const s = new FakeStream(dir, { index: 'c.m3u8', segmentDuration: 2, outputPrefix: 'c', httpPrefix: '', firstSegment: 1, bucketName: 'mybucket', keyPrefix: 'k' });
      const client = await PersistentClient.connect(up.port);
      for (let n = 1; n <= 4; n++) {
        await s.cut(n);
        client.send(s.message(n, n === 4));
      }
      const playlist = path.join(www, 'mybucket/k/c.m3u8');
      await until(async () => (await readFile(playlist, 'utf8').catch(() => '')).endsWith('#EXT-X-ENDLIST\n'));
      assert.deepEqual(listedUris(await readFile(playlist, 'utf8')), ['c-00003.ts', 'c-00004.ts']);
      await client.close();
    } finally {
      assert.equal(await up.stop(), 0, up.stderr());
    }
  }));

test('segmenter: the same rules under HLSRELAY_SEGMENTER_*', () =>
  withDir(async (dir) => {
    const file = path.join(dir, 'segmenter.json');
    await writeFile(file, JSON.stringify({ uploader: '10.0.0.5:10234', 'drain-timeout': 30 }));
    const r = run(SEGMENTER_BIN, ['--config', file, '--print-config'], { HLSRELAY_SEGMENTER_DRAIN_TIMEOUT: '45' });
    assert.equal(r.status, 0, r.stderr);
    const settings = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(settings.uploader, '10.0.0.5:10234');
    assert.equal(settings['drain-timeout'], 45);
    assert.equal(settings.status, 'auto');
    await writeFile(file, '{"status": "sometimes"}');
    assert.match(run(SEGMENTER_BIN, ['--config', file]).stderr, /"status" must be one of "auto", "always", "never", got "sometimes"/);
    assert.match(run(SEGMENTER_BIN, [], { HLSRELAY_SEGMENTER_READ_SIZE: 'big' }).stderr, /\$HLSRELAY_SEGMENTER_READ_SIZE \(--read-size\) must be a number, got "big"/);
  }));

test('--print-config masks secrets and passwords in URLs; checks work on any option table', () =>
  withDir(async (dir) => {
    const parser = yargs([])
      .option('token', { type: 'string' })
      .option('token-file', { type: 'string' })
      .option('target', { type: 'string', array: true })
      .option('port', { type: 'number' });
    const table = (parser as unknown as { getOptions(): OptionTable }).getOptions();
    const shown = effectiveSettings({ token: 's3cret', 'token-file': '/etc/hlsrelay/token', target: ['ftp://u:pw@host/x', 's3:'], port: 1, _: [], $0: 'x' }, table);
    assert.deepEqual(shown, { port: 1, target: ['ftp://u:***@host/x', 's3:'], token: '***', 'token-file': '/etc/hlsrelay/token' });
    assert.doesNotThrow(() => checkEnvironment({ APP_PORT: '8', OTHER: 'x' }, 'APP', table));
    assert.throws(() => checkEnvironment({ APP_PORT: '' }, 'APP', table), /\$APP_PORT \(--port\) must be a number, got ""/);
    const file = path.join(dir, 'c.json');
    await writeFile(file, '{"port": 8, "target": "s3:"}');
    assert.deepEqual(readConfigFile(file, table), { port: 8, target: 's3:' });
  }));
