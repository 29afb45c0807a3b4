/**
 * README works as written: every command of Production use, Variable bitrate and Operations is
 * read from README.md and run here, in order, as one story — the uploader as a service, the
 * segmenters and ladders that feed it, the ship-bytes uploader, the settings check before an
 * upgrade. Only what cannot exist here is substituted: s3rver stands in for S3 (the uploader
 * gets its endpoint), temp directories for /var/hls, /var/lib/hlsrelay, /etc/hlsrelay, a port
 * from the OS for 10234, a fixture capture for the live sources (rtmp://, srt://, ffmpeg …),
 * and the bundled ffmpeg ($FFMPEG) for the ladder's.
 * Each segmenter must exit 0 and leave its playlists, ended, in the store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseConfigText } from '@hlsrelay/protocol';
import { FFMPEG } from '../support/ffmpeg';
import { HeldStore } from '../support/held-store';
import { FIXTURES, ROOT, SEGMENTER_BIN, UPLOADER_BIN } from '../support/paths';
import { tempDir } from '../support/temp-dir';
import { until } from '../support/until';
import { getObject } from '../support/uploader-rig';
import { startUploader, STORE_ENV, type UploaderProcess } from '../support/uploader-process';

const SECTIONS = ['Production use', 'Variable bitrate', 'Operations'];
const SOURCE = path.join(FIXTURES, 'h264-aac.m2ts');

/** The `sh` blocks of a README section, one command per entry (continuations joined, comments dropped). */
function sectionCommands(readme: string, title: string): string[] {
  const section = readme.split(new RegExp(`^## ${title}$`, 'm'))[1]?.split(/^## /m)[0];
  assert.ok(section !== undefined, `README has "## ${title}"`);
  const commands: string[] = [];
  for (const block of section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    const text = block[1].replace(/\\\n\s*/g, ' ');
    for (const line of text.split('\n')) if (line.trim() !== '' && !line.trim().startsWith('#')) commands.push(line.trim().replace(/\s+/g, ' '));
  }
  return commands;
}

function run(args: string[], stdin: Buffer | undefined, env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HLSRELAY_')));
    const child = spawn(process.execPath, args, { env: { ...clean, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stdin.on('error', () => {});
    child.stdin.end(stdin);
    child.once('exit', (code) => resolve({ code, stderr, stdout }));
  });
}

test('README Production use, Variable bitrate and Operations commands run as written', { timeout: 600_000 }, async () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const dir = tempDir('readme-commands');
  const etc = path.join(dir, 'etc');
  mkdirSync(etc);
  // The segment directories exist before the uploader starts (Install makes /var/hls).
  for (const d of ['hls', 'tmp']) mkdirSync(path.join(dir, d));
  writeFileSync(path.join(etc, 'token'), 'a-shared-token-of-enough-length-0123456789\n', { mode: 0o600 });
  writeFileSync(path.join(etc, 'ladder.yaml'), readFileSync(path.join(ROOT, 'examples/ladder.yaml')));
  writeFileSync(path.join(etc, 'uploader.yaml'), readFileSync(path.join(ROOT, 'examples/uploader.yaml')));
  const store = await HeldStore.start(path.join(dir, 'store'), ['mybucket']);
  const places: Array<[RegExp, string]> = [
    // The 2009 command line writes to /tmp/, the uploader's default --allow-dir: a folder inside it.
    [/ \/tmp\//g, ` ${path.join(dir, 'tmp')}/`],
    [/\/etc\/hlsrelay\//g, `${etc}/`],
    [/\/var\/lib\/hlsrelay/g, path.join(dir, 'state')],
    [/\/var\/spool\/hlsrelay/g, path.join(dir, 'spool')],
    [/\/var\/hls/g, path.join(dir, 'hls')],
  ];
  const local = (command: string) => places.reduce((c, [from, to]) => c.replace(from, to), command);

  let uploader: UploaderProcess | undefined;
  let ran = 0;
  try {
    for (const title of SECTIONS) {
      for (const written of sectionCommands(readme, title)) {
        const command = local(written);
        const what = `${title}: ${written}`;
        if (/^uploader( |$)/.test(command) && command.includes('--print-config')) {
          const r = await run([UPLOADER_BIN, ...command.split(' ').slice(1)], undefined, {});
          assert.equal(r.code, 0, `${what}\n${r.stderr}`);
          assert.equal(typeof (JSON.parse(r.stdout) as { window: unknown }).window, 'number', what);
        } else if (/^uploader( |$)/.test(command)) {
          await uploader?.stop();
          // The README's address is a fixed public port; here a port from the OS on loopback.
          const args = command.split(' ').slice(1).join(' ').replace(/--listen \S+ ?/, '').split(' ').filter((a) => a !== '');
          uploader = await startUploader([...args, '--s3-endpoint', store.endpoint, '--s3-path-style']);
        } else if (/(^|\| )segmenter /.test(command)) {
          assert.ok(uploader, `${what}: an uploader command comes first`);
          const words = command.slice(command.indexOf('segmenter ') + 'segmenter '.length).split(' ');
          const ladder = words[0] === 'ladder';
          const positional = ladder ? words.slice(1, 8) : words.slice(0, 8);
          const rest = ladder ? words.slice(8) : words.slice(8);
          // A live source here is the fixture capture: a file for the ladder's ffmpeg, stdin for a pipe.
          const input = positional[0] === '-' ? '-' : SOURCE;
          const options = rest.join(' ').replace(/--uploader \S+/, '').split(' ').filter((a) => a !== '');
          const args = [SEGMENTER_BIN, ...(ladder ? ['ladder'] : []), input, ...positional.slice(1), ...options, '--uploader', `127.0.0.1:${uploader.port}`, '--log-json'];
          const r = await run(args, input === '-' ? readFileSync(SOURCE) : undefined, { FFMPEG });
          assert.equal(r.code, 0, `${what}\n${r.stderr.slice(-3000)}`);
          const [bucket, keyPrefix] = positional.slice(-2);
          let playlists: string[];
          if (ladder) {
            const file = options[options.indexOf('--config') + 1];
            const profiles = options.includes('--profiles')
              ? options[options.indexOf('--profiles') + 1].split(',')
              : (parseConfigText(readFileSync(file, 'utf8'), file) as { profiles: Array<{ name: string }> }).profiles.map((p) => p.name);
            playlists = profiles.map((p) => `${positional[3]}-${p}.m3u8`);
          } else {
            playlists = [positional[4]];
          }
          for (const playlist of playlists) {
            const key = `${keyPrefix}/${playlist}`;
            // The segmenter is done once its messages are acknowledged; the uploads follow.
            await until(async () => (await getObject(store, bucket, key)).body.toString().includes('#EXT-X-ENDLIST'), 60_000, `${what}: s3://${bucket}/${key} stored and ended`);
          }
        } else {
          assert.fail(`${what}: a README command this test does not know how to run`);
        }
        ran += 1;
      }
    }
    assert.ok(ran >= 9, `ran ${ran} README commands`);
    assert.equal(await uploader?.stop(), 0, uploader?.stderr());
  } finally {
    await uploader?.stop();
    await store.release();
    rmSync(dir, { recursive: true, force: true });
  }
});
