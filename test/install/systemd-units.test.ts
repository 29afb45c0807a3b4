/**
 * The systemd units as shipped: README shows the uploader's unit byte for byte; systemd itself
 * (systemd-analyze verify, where installed) accepts both; and what the units name fits what the
 * programs do with it — the real uploader, given the unit's command line and the example config,
 * keeps its state in the unit's StateDirectory and writes only where the unit lets it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { until } from '../support/until';
import { startUploader } from '../support/uploader-process';
import { ROOT, SEGMENTER_BIN, UPLOADER_BIN } from '../support/paths';
import { FFMPEG } from '../support/ffmpeg';

const UNITS = path.join(ROOT, 'deploy/systemd');
const UPLOADER_UNIT = 'hlsrelay-uploader.service';
const SEGMENTER_UNIT = 'hlsrelay-segmenter@.service';
const hasAnalyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' }).status === 0;

/** `Key=value` lines of a unit's section, in order (keys may repeat). */
function section(text: string, name: string): Array<[string, string]> {
  const body = text.split(/^\[/m).find((s) => s.startsWith(`${name}]`)) ?? '';
  return [...body.matchAll(/^([A-Za-z]+)=(.*)$/gm)].map((m) => [m[1], m[2]]);
}
const value = (entries: Array<[string, string]>, key: string) => entries.filter(([k]) => k === key).map(([, v]) => v);
/** ReadWritePaths= entries, "-" (skip if missing) removed. */
const writable = (service: Array<[string, string]>) => value(service, 'ReadWritePaths').flatMap((v) => v.split(/\s+/)).map((p) => p.replace(/^-/, ''));
const inside = (dir: string, roots: string[]) => roots.some((r) => dir === r || dir.startsWith(`${r.replace(/\/$/, '')}/`));

const uploaderUnit = readFileSync(path.join(UNITS, UPLOADER_UNIT), 'utf8');
const segmenterUnit = readFileSync(path.join(UNITS, SEGMENTER_UNIT), 'utf8');
/** The template's shell script, `$$` already turned into `$` as systemd does. */
const segmenterScript = () => /^\/bin\/sh -c '(.*)'$/.exec(value(section(segmenterUnit, 'Service'), 'ExecStart')[0])![1].replace(/\$\$/g, '$');
/** The example environment file: NAME=value lines. */
const exampleEnv = (): Record<string, string> =>
  Object.fromEntries(
    readFileSync(path.join(UNITS, 'cam-720p.env'), 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
const withoutHlsrelay = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HLSRELAY_')));

test("README shows the shipped uploader unit, byte for byte", () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```ini\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.includes(uploaderUnit), `README has an \`\`\`ini block equal to deploy/systemd/${UPLOADER_UNIT}`);
  assert.match(readme, new RegExp(`deploy/systemd/${SEGMENTER_UNIT.replace('.', '\\.')}`));
});

test('systemd-analyze verify accepts both units', { skip: !hasAnalyze && 'systemd-analyze not installed' }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hlsrelay-units-'));
  try {
    copyFileSync(path.join(UNITS, UPLOADER_UNIT), path.join(dir, UPLOADER_UNIT));
    // A template is verified as one of its instances.
    copyFileSync(path.join(UNITS, SEGMENTER_UNIT), path.join(dir, 'hlsrelay-segmenter@cam-720p.service'));
    for (const unit of [UPLOADER_UNIT, 'hlsrelay-segmenter@cam-720p.service']) {
      const r = spawnSync('systemd-analyze', ['verify', '--man=no', path.join(dir, unit)], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      // Unknown keys and bad values are only warnings to systemd: they must not be there either.
      assert.equal(r.stderr.trim(), '', `${unit}: ${r.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the uploader unit with the example config: state in its StateDirectory, writes only where allowed, a token, restarts', () => {
  const service = section(uploaderUnit, 'Service');
  assert.deepEqual(value(service, 'ProtectSystem'), ['strict']);
  assert.match(value(service, 'Restart')[0] ?? '', /^(on-failure|always)$/);
  assert.deepEqual(value(service, 'LoadCredential'), ['token:/etc/hlsrelay/token']);
  const [exec] = value(service, 'ExecStart');
  const argv = exec.split(/\s+/);
  assert.deepEqual(argv.slice(0, 2), ['/usr/bin/env', 'uploader']);
  const credentials = '/run/credentials/hlsrelay-uploader.service';
  const args = argv.slice(2).map((a) => a.replace('/etc/hlsrelay/uploader.yaml', path.join(ROOT, 'examples/uploader.yaml')).replace('${CREDENTIALS_DIRECTORY}', credentials));
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HLSRELAY_')));
  const r = spawnSync(process.execPath, [UPLOADER_BIN, ...args, '--print-config'], { encoding: 'utf8', env: clean });
  assert.equal(r.status, 0, r.stderr);
  const settings = JSON.parse(r.stdout) as { 'state-dir': string; 'token-file': string; 'allow-dir': string[]; target: string[]; listen: string };
  assert.equal(settings['state-dir'], `/var/lib/${value(service, 'StateDirectory')[0]}`, '--state-dir is the unit\'s StateDirectory');
  assert.equal(settings['token-file'], `${credentials}/token`);
  const rw = writable(service);
  // Segments are removed once stored, so the uploader writes in every directory it reads them from.
  for (const dir of settings['allow-dir']) assert.ok(inside(dir, rw), `--allow-dir ${dir} is in ReadWritePaths= (${rw.join(' ')})`);
  const example = readFileSync(path.join(ROOT, 'examples/uploader.yaml'), 'utf8');
  // The file target the example offers (commented) and any configured one are writable too.
  const fileTargets = [...settings.target, ...[...example.matchAll(/file:\/\/(\/\S*)/g)].map((m) => `file://${m[1]}`)].filter((t) => t.startsWith('file://'));
  assert.ok(fileTargets.length > 0);
  for (const t of fileTargets) assert.ok(inside(new URL(t).pathname, rw), `${t} is in ReadWritePaths=`);
});

test('the segmenter template reads its environment file; the example one starts a real segmenter', () => {
  const service = section(segmenterUnit, 'Service');
  assert.deepEqual(value(service, 'EnvironmentFile'), ['/etc/hlsrelay/segmenter/%i.env']);
  assert.match(value(service, 'Restart')[0] ?? '', /^(on-failure|always)$/);
  const script = segmenterScript();
  const env = exampleEnv();
  // Every variable the pipeline reads comes from the file or from systemd.
  const fromSystemd = new Set(['STATE_DIRECTORY', 'CREDENTIALS_DIRECTORY']);
  for (const [, name] of script.matchAll(/\$\{?([A-Z_]+)/g)) assert.ok(name in env || fromSystemd.has(name), `$${name} is set`);
  // The segment directory is writable and is where the uploader unit's example config reads.
  const outputDir = /\| exec segmenter - "\$SEGMENT_SECONDS" (\S+) /.exec(script)![1];
  assert.ok(inside(outputDir.replace(/\/$/, ''), writable(service)));
  assert.match(readFileSync(path.join(ROOT, 'examples/uploader.yaml'), 'utf8'), new RegExp(`- ${outputDir.replace(/\/$/, '')}\\n`));
  // The segmenter's part of the pipeline, with the file's values, as the real command sees it.
  const segmenterPart = script.slice(script.indexOf('| exec segmenter ') + '| exec segmenter '.length);
  const words = [...segmenterPart.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => (m[1] ?? m[2]).replace(/\$\{?([A-Z_]+)\}?/g, (_, n: string) => env[n] ?? (fromSystemd.has(n) ? `/run/${n.toLowerCase()}` : '')));
  const clean = withoutHlsrelay();
  const hlsrelay = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('HLSRELAY_')));
  const r = spawnSync(process.execPath, [SEGMENTER_BIN, ...words, '--print-config'], { encoding: 'utf8', env: { ...clean, ...hlsrelay } });
  assert.equal(r.status, 0, r.stderr);
  const settings = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(settings.uploader, env.HLSRELAY_SEGMENTER_UPLOADER);
  assert.equal(settings['spool-dir'], '/run/state_directory');
  assert.equal(settings['token-file'], '/run/credentials_directory/token');
});

test('the segmenter template, stopped as systemd stops it, ends its stream with EXT-X-ENDLIST', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hlsrelay-unit-'));
  for (const d of ['bin', 'hls', 'state', 'credentials']) mkdirSync(path.join(dir, d));
  writeFileSync(path.join(dir, 'credentials/token'), `${'ab'.repeat(32)}\n`, { mode: 0o600 });
  // `segmenter` on PATH, as the npm install puts it there.
  symlinkSync(SEGMENTER_BIN, path.join(dir, 'bin/segmenter'));
  const up = await startUploader(['--target', `file://${dir}/www`, '--allow-dir', path.join(dir, 'hls'), '--token-file', path.join(dir, 'credentials/token')]);
  try {
    const env = {
      ...withoutHlsrelay(),
      ...exampleEnv(),
      // A test picture from the npm ffmpeg instead of the example's camera.
      FFMPEG: FFMPEG,
      FFMPEG_INPUT: '-re -f lavfi -i testsrc2=size=320x240:rate=30 -re -f lavfi -i sine=frequency=440',
      FFMPEG_ENCODE: '-c:v libx264 -preset veryfast -pix_fmt yuv420p -g 30 -keyint_min 30 -sc_threshold 0 -c:a aac -b:a 64k',
      SEGMENT_SECONDS: '1',
      HLSRELAY_SEGMENTER_UPLOADER: `127.0.0.1:${up.port}`,
      HLSRELAY_SEGMENTER_LOG_JSON: 'true',
      // Set by systemd from StateDirectory= and LoadCredential=.
      STATE_DIRECTORY: path.join(dir, 'state'),
      CREDENTIALS_DIRECTORY: path.join(dir, 'credentials'),
      PATH: [path.join(dir, 'bin'), path.dirname(process.execPath), process.env.PATH].join(path.delimiter),
    };
    const script = segmenterScript().replace(' /var/hls/ ', ` ${dir}/hls/ `);
    assert.notEqual(script, segmenterScript());
    const child = spawn('/bin/sh', ['-c', script], { detached: true, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const playlist = path.join(dir, 'www/mybucket/stream0001/stream-720p.m3u8');
    await until(async () => (await readFile(playlist, 'utf8').catch(() => '')).includes('#EXTINF'), 60_000).catch((err: Error) => {
      throw new Error(`${err.message}; unit: ${stderr}; uploader: ${up.stderr()}`);
    });
    // systemctl stop: SIGTERM to every process of the unit (KillMode=control-group).
    process.kill(-child.pid!, 'SIGTERM');
    assert.equal(await exited, 0, stderr);
    await until(async () => (await readFile(playlist, 'utf8')).endsWith('#EXT-X-ENDLIST\n'));
    assert.match(await readFile(path.join(dir, 'www/mybucket/stream0001/stream.m3u8'), 'utf8'), /stream-720p\.m3u8/, 'the example joins the master playlist');
  } finally {
    assert.equal(await up.stop(), 0, up.stderr());
    rmSync(dir, { recursive: true, force: true });
  }
});
