/**
 * docker-compose.yml without a Docker engine: Debian's docker-compose validates the file; the
 * rules of a stack that runs as a product are checked on the parsed file; the commands it runs
 * are the real commands' valid flags; and the source's shell pipeline, run here with the
 * signal the init process sends on `docker compose down`, ends its stream with EXT-X-ENDLIST.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { until } from '../support/until';
import { startUploader } from '../support/uploader-process';
import { ROOT, SEGMENTER_BIN, UPLOADER_BIN } from '../support/paths';
import { FFMPEG } from '../support/ffmpeg';

const COMPOSE = path.join(ROOT, 'docker-compose.yml');
const hasCompose = spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0;
if (!hasCompose) process.stderr.write('\n*** docker-compose not installed (apt-get install docker-compose): compose file check SKIPPED ***\n\n');

interface Service {
  image?: string;
  build?: unknown;
  init?: boolean;
  command?: string;
  entrypoint?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { disable?: boolean };
  stop_grace_period?: string;
}
const services = (parseYaml(readFileSync(COMPOSE, 'utf8')) as { services: Record<string, Service> }).services;
const words = (command: string | undefined) => (command ?? '').trim().split(/\s+/);
/** The value after `flag` in a command's words. */
const flagValue = (ws: string[], flag: string) => ws[ws.indexOf(flag) + 1];
/** Where a service mounts the named volume. */
const mountOf = (s: Service, volume: string) => s.volumes?.find((v) => v.startsWith(`${volume}:`))?.split(':')[1];
/** The source's shell script: `sh -c "…"`. */
const sourceScript = () => /^sh -c "([\s\S]*)"\s*$/.exec(services.source.command!.trim())![1];

test('docker-compose config accepts the file', { skip: !hasCompose && 'docker-compose not installed' }, () => {
  const r = spawnSync('docker-compose', ['-f', COMPOSE, 'config', '-q'], { encoding: 'utf8', cwd: ROOT });
  assert.equal(r.status, 0, r.stderr);
  const listed = spawnSync('docker-compose', ['-f', COMPOSE, 'config', '--services'], { encoding: 'utf8', cwd: ROOT }).stdout.split('\n').filter(Boolean);
  assert.deepEqual(listed.sort(), ['bucket', 'minio', 'source', 'uploader']);
});

test('every image is pinned, every shell runs under an init process', () => {
  for (const [name, s] of Object.entries(services)) {
    assert.ok(s.image, `${name} names its image`);
    const tag = /:([^/:]+)$/.exec(s.image)?.[1];
    assert.ok(tag !== undefined && tag !== 'latest', `${name}: image ${s.image} has a pinned tag`);
    const runsShell = /(^|\s)sh -c /.test(`${s.entrypoint ?? ''} ${s.command ?? ''}`);
    // A folded block keeps the line breaks of lines indented further: the shell would run each alone.
    for (const text of [s.entrypoint, s.command]) if (text !== undefined) assert.equal(text.trim().includes('\n'), false, `${name}: one line, got ${JSON.stringify(text)}`);
    if (runsShell) assert.equal(s.init, true, `${name} runs a shell: init: true, so signals reach its children`);
  }
  assert.equal(services.uploader.image, services.source.image, 'one image for both daemons');
  const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  assert.equal(services.uploader.image, `hlsrelay:${version}`, 'the image is tagged with the package version');
});

test('the uploader keeps its state on a volume; the bucket it writes is public-read', () => {
  const up = words(services.uploader.command);
  assert.equal(mountOf(services.uploader, 'uploader-state'), flagValue(up, '--state-dir'), '--state-dir is the state volume');
  const segments = flagValue(up, '--allow-dir');
  assert.equal(mountOf(services.uploader, 'segments'), segments, 'the uploader reads segments where they are mounted');
  assert.equal(mountOf(services.source, 'segments'), segments);
  const [bucket, prefix] = flagValue(up, '--allow-bucket').split('/');
  // Anonymous GetObject on the bucket: the policy a public bucket or CDN origin has.
  assert.match(services.bucket.entrypoint!, new RegExp(`mc anonymous set download local/${bucket}\\b`));
  const seg = words(sourceScript().split('|')[1]);
  assert.deepEqual(seg.slice(0, 9), ['segmenter', '-', '2', `${segments}/`, 'live', 'stream.m3u8', `http://localhost:9000/${bucket}/${prefix}/`, bucket, prefix]);
  assert.equal(services.source.healthcheck?.disable, true, 'the source has no status port for the image health check');
});

test("the uploader's and the segmenter's commands in the compose file are accepted by the real commands", () => {
  const up = words(services.uploader.command);
  assert.equal(up[0], 'uploader');
  const env = Object.fromEntries(Object.entries(services.uploader.environment ?? {}).filter(([k]) => k.startsWith('HLSRELAY_')));
  const r = spawnSync(process.execPath, [UPLOADER_BIN, ...up.slice(1), '--print-config'], { encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(r.status, 0, r.stderr);
  const settings = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(settings['status-listen'], '0.0.0.0:10235', "the image's health check and the published port need the status server");
  assert.equal(settings.window, 6);
  assert.equal(settings['state-dir'], '/var/lib/hlsrelay');
  const seg = words(sourceScript().split('|')[1]);
  const s = spawnSync(process.execPath, [SEGMENTER_BIN, ...seg.slice(1), '--print-config'], { encoding: 'utf8' });
  assert.equal(s.status, 0, s.stderr);
  assert.equal((JSON.parse(s.stdout) as { uploader: string }).uploader, 'uploader:10234');
});

test('the source ends its stream cleanly when the init process passes SIGTERM to its process group', async () => {
  assert.equal(services.source.init, true);
  // Docker's init (tini) signals the child's whole process group only with this set.
  assert.equal(services.source.environment?.TINI_KILL_PROCESS_GROUP, '1');
  assert.match(sourceScript(), /^trap : TERM;/, 'the shell outlives SIGTERM until the pipeline has finished');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hlsrelay-compose-'));
  const up = await startUploader(['--target', `file://${dir}/www`, '--allow-dir', dir]);
  try {
    // The compose script with this machine's paths: the npm ffmpeg, the real segmenter, the uploader above.
    const ffmpeg = FFMPEG;
    const script = sourceScript()
      .replace(/^(\s*trap : TERM;\s*)ffmpeg /, `$1"${ffmpeg}" `)
      .replace('| segmenter ', `| "${process.execPath}" "${SEGMENTER_BIN}" `)
      .replace(' /var/hls/ ', ` ${dir}/ `)
      .replace('--uploader uploader:10234', `--uploader 127.0.0.1:${up.port} --log-json`);
    assert.notEqual(script, sourceScript());
    const child = spawn('sh', ['-c', script], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const playlist = path.join(dir, 'www/hlsrelay/live/stream.m3u8');
    await until(async () => (await readFile(playlist, 'utf8').catch(() => '')).includes('#EXTINF'), 60_000).catch((err: Error) => {
      throw new Error(`${err.message}; source: ${stderr}; uploader: ${up.stderr()}`);
    });
    process.kill(-child.pid!, 'SIGTERM');
    assert.equal(await exited, 0, stderr);
    await until(async () => (await readFile(playlist, 'utf8')).endsWith('#EXT-X-ENDLIST\n'));
  } finally {
    assert.equal(await up.stop(), 0, up.stderr());
    await rm(dir, { recursive: true, force: true });
  }
});
