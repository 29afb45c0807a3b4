/**
 * YAML config files and the commented examples in examples/: read by the real settings code and
 * by the real commands (`--print-config`); a YAML file's mistakes named like a JSON file's; unknown
 * HLSRELAY_ variables refused; repeatable settings from one variable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yargs from 'yargs';
import { environmentSettings, listFromVariable, parseConfigText, readConfigFile, type OptionTable } from '@hlsrelay/protocol';
import { parseLadderConfig } from '@hlsrelay/segmenter';
import { ROOT, SEGMENTER_BIN, UPLOADER_BIN } from '../support/paths';

const EXAMPLES = path.join(ROOT, 'examples');

function run(bin: string, args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HLSRELAY_')));
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...clean, ...env } });
}

const table = (() => {
  const parser = yargs([])
    .option('window', { type: 'number' })
    .option('keep-local', { type: 'boolean' })
    .option('acl', { choices: ['public-read', 'none'] })
    .option('target', { type: 'string', array: true })
    .option('allow-dir', { type: 'string', array: true });
  return (parser as unknown as { getOptions(): OptionTable }).getOptions();
})();

test('examples/uploader.yaml and examples/segmenter.yaml: every key is a real setting, as the commands print them', () => {
  for (const [bin, file] of [
    [UPLOADER_BIN, 'uploader.yaml'],
    [SEGMENTER_BIN, 'segmenter.yaml'],
  ] as const) {
    const yamlPath = path.join(EXAMPLES, file);
    const r = run(bin, ['--config', yamlPath, '--print-config']);
    assert.equal(r.status, 0, `${file}: ${r.stderr}`);
    const printed = JSON.parse(r.stdout) as Record<string, unknown>;
    const written = parseConfigText(readFileSync(yamlPath, 'utf8'), yamlPath) as Record<string, unknown>;
    assert.ok(Object.keys(written).length >= 5, `${file} sets something`);
    for (const [k, v] of Object.entries(written)) assert.deepEqual(printed[k], v, `${file}: ${k}`);
  }
  // The same file through the environment variable.
  const r = run(UPLOADER_BIN, ['--print-config'], { HLSRELAY_UPLOADER_CONFIG: path.join(EXAMPLES, 'uploader.yaml') });
  assert.equal((JSON.parse(r.stdout) as { window: number }).window, 6);
});

test('examples/ladder.yaml is a valid ladder for the real profile parser', () => {
  const file = path.join(EXAMPLES, 'ladder.yaml');
  const ladder = parseLadderConfig(JSON.stringify(parseConfigText(readFileSync(file, 'utf8'), file)), file);
  assert.deepEqual(ladder.profiles.map((p) => p.name), ['1080p', '720p', '480p', '240p']);
  assert.deepEqual(ladder.profiles[0].extraArgs, ['-profile:v', 'high']);
  assert.equal(ladder.fps, 30);
});

test('a YAML config file is checked like a JSON one, with its line and column', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hlsrelay-yaml-'));
  try {
    const file = path.join(dir, 'up.yml');
    const refuse = async (content: string, pattern: RegExp) => {
      await writeFile(file, content);
      assert.throws(() => readConfigFile(file, table), pattern);
    };
    await writeFile(file, 'window: 3\nkeep-local: true\ntarget:\n  - "s3:"\n  - file:///srv/my hls\n');
    assert.deepEqual(readConfigFile(file, table), { window: 3, 'keep-local': true, target: ['s3:', 'file:///srv/my hls'] });
    await refuse('windw: 3\n', /--config .*up\.yml: "windw" is not a setting; known settings: acl, allow-dir, keep-local, target, window/);
    await refuse('window: six\n', /"window" must be a number, got "six" \(string\)/);
    // YAML 1.2: `yes` is a string, not true.
    await refuse('keep-local: yes\n', /"keep-local" must be a boolean, got "yes" \(string\)/);
    await refuse('window: 3\nwindow: 4\n', /up\.yml: not valid YAML \(Map keys must be unique at line 2, column 1\)/);
    await refuse('target: [s3:,\n', /up\.yml: not valid YAML \(.* at line \d+, column \d+\)/);
    await refuse('- window\n', /expected a YAML mapping of settings such as "log-level: debug", got a list \["window"\]/);
    await refuse('', /expected a YAML mapping .*, got null/);
    // The real command says the same.
    await writeFile(file, 'windw: 3\n');
    const r = run(UPLOADER_BIN, ['--config', file]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /"windw" is not a setting/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an HLSRELAY_ variable that no program reads is an error naming it', () => {
  assert.throws(() => environmentSettings({ HLSRELAY_UPLODER_WINDOW: '3' }, 'HLSRELAY_UPLOADER', table), /\$HLSRELAY_UPLODER_WINDOW: not a variable hlsrelay reads; expected HLSRELAY_UPLOADER_<SETTING>, HLSRELAY_SEGMENTER_<SETTING> or one of HLSRELAY_TOKEN/);
  // The other daemon's variables, shared ones and other programs' are not this daemon's business.
  const quiet = { HLSRELAY_SEGMENTER_WHATEVER: 'x', HLSRELAY_TOKEN: 't', HLSRELAY_SFTP_PASSWORD: 'p', PATH: '/bin', APP_X: '1' };
  assert.deepEqual(environmentSettings(quiet, 'HLSRELAY_UPLOADER', table), {});
  for (const bin of [UPLOADER_BIN, SEGMENTER_BIN]) {
    const r = run(bin, ['--print-config'], { HLSRELAY_SEGMNTER_UPLOADER: '10.0.0.5:10234' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /\$HLSRELAY_SEGMNTER_UPLOADER: not a variable hlsrelay reads/);
  }
});

test('repeatable settings from one variable: comma-separated, or a JSON list; spaces belong to the items', () => {
  assert.deepEqual(
    environmentSettings({ HLSRELAY_UPLOADER_TARGET: 's3:,file:///srv/my hls', HLSRELAY_UPLOADER_WINDOW: '4', HLSRELAY_UPLOADER_KEEP_LOCAL: 'true' }, 'HLSRELAY_UPLOADER', table),
    { target: ['s3:', 'file:///srv/my hls'], window: 4, 'keep-local': true },
  );
  assert.deepEqual(listFromVariable('$X', '/var/hls, /mnt/live hls'), ['/var/hls', '/mnt/live hls']);
  assert.deepEqual(listFromVariable('$X', '["/srv/a,b", " /var/hls"]'), ['/srv/a,b', ' /var/hls']);
  assert.deepEqual(listFromVariable('$X', '/var/hls'), ['/var/hls']);
  assert.throws(() => listFromVariable('$HLSRELAY_UPLOADER_ALLOW_DIR (--allow-dir)', '/var/hls,,/tmp'), /\$HLSRELAY_UPLOADER_ALLOW_DIR \(--allow-dir\): expected items separated by ","/);
  assert.throws(() => listFromVariable('$X', '["/var/hls", 3]'), /\$X: expected a JSON list of strings/);
  assert.throws(() => listFromVariable('$X', '[/var/hls'), /\$X: a list starting with "\[" must be a JSON list of strings/);
  assert.throws(() => environmentSettings({ HLSRELAY_UPLOADER_ACL: 'private' }, 'HLSRELAY_UPLOADER', table), /\$HLSRELAY_UPLOADER_ACL \(--acl\) must be one of "public-read", "none", got "private"/);
});
