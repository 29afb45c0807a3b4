/**
 * The conventions every command keeps (`segmenter`, `segmenter ladder`, `uploader`, `uploader
 * cost`), run as a user runs them: -h/--help, -V/--version, and a mistake told in one line that
 * names what was wrong, what is expected and where it came from, then the --help hint, exit 2.
 * `segmenter ladder` reads HLSRELAY_SEGMENTER_* and a YAML ladder file with options in it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, SEGMENTER_BIN, UPLOADER_BIN } from '../support/paths';
import { tempDir } from '../support/temp-dir';

const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const LADDER_ARGS = ['in.ts', '2', '/tmp/hls', 'cam', 'http://cdn/', 'bucket', 'live'];

const COMMANDS: Array<{ name: string; bin: string; words: string[]; runnable: string[] }> = [
  { name: 'segmenter', bin: SEGMENTER_BIN, words: [], runnable: ['-', '2', '/tmp/hls', 'cam', 'cam.m3u8', 'http://cdn/', 'bucket', 'live'] },
  { name: 'segmenter ladder', bin: SEGMENTER_BIN, words: ['ladder'], runnable: LADDER_ARGS },
  { name: 'uploader', bin: UPLOADER_BIN, words: [], runnable: [] },
  { name: 'uploader cost', bin: UPLOADER_BIN, words: ['cost'], runnable: [] },
];

function run(bin: string, args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HLSRELAY_')));
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...clean, ...env }, timeout: 30_000 });
}

/** The one refusal line, after checking the shape around it. */
function refusal(command: string, r: ReturnType<typeof run>): string {
  assert.equal(r.status, 2, `${command}: exit 2 (${r.stderr})`);
  const lines = r.stderr.split('\n');
  assert.equal(lines.length, 3, `${command}: one line and the hint, got ${JSON.stringify(r.stderr)}`);
  assert.equal(lines[1], `Run "${command} --help" for usage.`);
  assert.ok(lines[0].startsWith(`${command}: `), lines[0]);
  return lines[0].slice(command.length + 2);
}

for (const c of COMMANDS) {
  test(`${c.name}: -h and --help, -V and --version`, () => {
    for (const flag of ['-h', '--help']) {
      const r = run(c.bin, [...c.words, flag]);
      assert.equal(r.status, 0, `${c.name} ${flag}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^${c.name} `), `${c.name} ${flag} prints the usage`);
      assert.match(r.stdout, /-h, --help/);
      assert.match(r.stdout, /-V, --version/);
    }
    for (const flag of ['-V', '--version']) {
      const r = run(c.bin, [...c.words, flag]);
      assert.equal(r.stdout, `${VERSION}\n`, `${c.name} ${flag}`);
    }
  });

  test(`${c.name}: a misspelt option is one line with the likely meant one, never the help`, () => {
    const flag = c.words[0] === 'cost' ? '--clents' : '--log-levl';
    const line = refusal(c.name, run(c.bin, [...c.words, ...c.runnable, flag, '3']));
    assert.equal(line, `unknown option ${flag} (did you mean --${c.words[0] === 'cost' ? 'clients' : 'log-level'}?)`);
  });
}

test('a bad value says what is expected and where it came from: flag, variable or config file', () => {
  assert.equal(refusal('uploader', run(UPLOADER_BIN, ['--window', 'six'])), '--window must be a number, got "six"');
  assert.equal(refusal('uploader', run(UPLOADER_BIN, ['--window'])), '--window needs a number');
  assert.equal(refusal('uploader', run(UPLOADER_BIN, ['--acl', 'private'])), '--acl must be one of "public-read", "none", got "private"');
  assert.equal(refusal('uploader', run(UPLOADER_BIN, [], { HLSRELAY_UPLOADER_WINDOW: '0' })), '--window must be an integer ≥ 1, got 0 (from $HLSRELAY_UPLOADER_WINDOW)');
  const dir = tempDir('cli-conventions');
  const file = path.join(dir, 'up.yaml');
  writeFileSync(file, 'window: 0\n');
  assert.equal(refusal('uploader', run(UPLOADER_BIN, ['--config', file])), `--window must be an integer ≥ 1, got 0 (from --config ${file})`);
  // A flag wins over the file, and then the flag is what the message is about.
  assert.equal(refusal('uploader', run(UPLOADER_BIN, ['--config', file, '--window', '-1'])), '--window must be an integer ≥ 1, got -1');
  assert.equal(refusal('segmenter', run(SEGMENTER_BIN, ['-', '2', dir, 'a', 'a.m3u8', 'http://x/', 'b', 'k'], { HLSRELAY_SEGMENTER_START_NUMBER: 'x' })), '$HLSRELAY_SEGMENTER_START_NUMBER (--start-number) must be a number, got "x"');
  assert.equal(refusal('uploader', run(UPLOADER_BIN, ['extra'])), 'unexpected argument "extra"');
});

test('segmenter ladder: HLSRELAY_SEGMENTER_* and a YAML ladder file holding options, printed by --print-config', () => {
  const dir = tempDir('cli-ladder');
  const file = path.join(dir, 'ladder.yaml');
  writeFileSync(file, readFileSync(path.join(ROOT, 'examples/ladder.yaml'), 'utf8') + '\nmaster: all.m3u8\nstart-number: 7\n');
  const r = run(SEGMENTER_BIN, ['ladder', ...LADDER_ARGS, '--config', file, '--print-config'], { HLSRELAY_SEGMENTER_UPLOADER: '10300', HLSRELAY_SEGMENTER_START_NUMBER: '9' });
  assert.equal(r.status, 0, r.stderr);
  const printed = JSON.parse(r.stdout) as { uploader: string; master: string; 'start-number': number; profiles: Array<{ name: string }>; fps: number };
  assert.equal(printed.uploader, '10300');
  assert.equal(printed.master, 'all.m3u8');
  assert.equal(printed['start-number'], 9, 'the environment wins over the file');
  assert.deepEqual(printed.profiles.map((p) => p.name), ['1080p', '720p', '480p', '240p']);
  // What it printed is a ladder file the command takes back.
  const again = path.join(dir, 'again.json');
  writeFileSync(again, r.stdout);
  assert.equal(run(SEGMENTER_BIN, ['ladder', ...LADDER_ARGS, '--config', again, '--print-config']).stdout, r.stdout);

  writeFileSync(file, 'fps: 30\nspool-max-messages: 3\n');
  assert.match(refusal('segmenter ladder', run(SEGMENTER_BIN, ['ladder', ...LADDER_ARGS, '--config', file])), /"spool-max-messages" is not a setting; known settings: .*start-number/);
  writeFileSync(file, 'profiles:\n  - name: x\n    resolution: 641x360\n    videoBitrate: 800k\n');
  assert.match(refusal('segmenter ladder', run(SEGMENTER_BIN, ['ladder', ...LADDER_ARGS, '--config', file])), /ladder\.yaml: profiles\[0\] \("x"\): "resolution" needs even width and height/);
  assert.match(refusal('segmenter ladder', run(SEGMENTER_BIN, ['ladder', ...LADDER_ARGS], { HLSRELAY_SEGMENTER_SPOOL_MAX_MESSAGES: '3' })), /^\$HLSRELAY_SEGMENTER_SPOOL_MAX_MESSAGES: no setting --spool-max-messages/);
  assert.match(refusal('segmenter ladder', run(SEGMENTER_BIN, ['ladder', ...LADDER_ARGS], { HLSRELAY_SEGMENTR_UPLOADER: 'x' })), /^\$HLSRELAY_SEGMENTR_UPLOADER: not a variable hlsrelay reads/);
});
