/**
 * Input that is not MPEG-TS: an mp4 or random bytes ends with an error and a non-zero exit; on a
 * live pipe the segmenter warns while the input still flows. A silent TCP listener plays the
 * original uploader (no segment, so no message, reaches it).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { InputCheck } from '@hlsrelay/segmenter';
import { ffmpeg } from '../support/ffmpeg';
import { SEGMENTER_BIN } from '../support/paths';
import { tempDir } from '../support/temp-dir';
import { until } from '../support/until';

let dir: string;
let port: number;
const silent = net.createServer(() => {});

before(async () => {
  dir = tempDir('non-ts');
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  port = (silent.address() as net.AddressInfo).port;
});
after(() => {
  silent.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const args = (input: string) => [SEGMENTER_BIN, input, '1', path.join(dir, 'out'), 'live', 'live.m3u8', 'http://cdn.invalid/', 'b', 'live', '--uploader', `127.0.0.1:${port}`, '--log-json', '--status', 'never'];

function run(input: string, stdin?: (child: ReturnType<typeof spawn>) => void): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, args(input), { stdio: [stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stderr })));
  stdin?.(child);
  return done;
}

test('an mp4 file: error "no segment was cut … is the input MPEG-TS?", exit 1', async () => {
  const mp4 = path.join(dir, 'clip.mp4');
  await ffmpeg(['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-t', '2', '-c:v', 'libx264', '-preset', 'veryfast', '-f', 'mp4', mp4]);
  const r = await run(mp4);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /"level":"error","message":"no segment was cut: no MPEG-TS packets found \(is the input MPEG-TS\?\)"/);
  assert.match(r.stderr, /use ffmpeg … -f mpegts -/);
});

test('random bytes: error and exit 1', async () => {
  const file = path.join(dir, 'random.bin');
  fs.writeFileSync(file, randomBytes(1024 * 1024));
  const r = await run(file);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /no segment was cut: no MPEG-TS packets found/);
});

test('a live pipe of random bytes: a warning while it still flows, then exit 1 at its end', async () => {
  let stderrSoFar = '';
  let writer: NodeJS.Timeout | undefined;
  const r = await run('-', (child) => {
    child.stderr!.on('data', (d: Buffer) => (stderrSoFar += d.toString()));
    child.stdin!.on('error', () => {});
    writer = setInterval(() => child.stdin!.write(randomBytes(4096)), 50);
    void until(() => /no MPEG-TS in \d+ bytes of input/.test(stderrSoFar), 20_000, 'the non-TS warning').then(
      () => {
        clearInterval(writer);
        child.stdin!.end();
      },
      () => {
        clearInterval(writer);
        child.kill();
      },
    );
  });
  assert.match(r.stderr, /"level":"warn","message":"no MPEG-TS in \d+ bytes of input \(\d+ in synced packets\): is the input MPEG-TS\? use ffmpeg … -f mpegts -/);
  assert.equal(r.code, 1, r.stderr);
});

test('input check: a verdict after 3 s or 256 KiB, once; real TS (mostly packets) never warns', () => {
  const check = new InputCheck({ startedAt: 0 });
  assert.equal(check.check({ inputBytes: 0, packetBytes: 0 }, 60_000), undefined, 'no input yet: nothing to judge');
  assert.equal(check.check({ inputBytes: 10_000, packetBytes: 0 }, 2_999), undefined, 'too early and too little');
  assert.equal(new InputCheck({ startedAt: 0 }).check({ inputBytes: 300_000, packetBytes: 299_000 }, 5_000), undefined, 'TS with a little damage');
  assert.match(check.check({ inputBytes: 10_000, packetBytes: 188 }, 3_000) ?? '', /^no MPEG-TS in 10000 bytes of input \(188 in synced packets\)/);
  assert.equal(check.check({ inputBytes: 20_000, packetBytes: 188 }, 4_000), undefined, 'said once');
  assert.match(new InputCheck({ startedAt: 0 }).check({ inputBytes: 256 * 1024, packetBytes: 0 }, 1) ?? '', /no MPEG-TS/);
});
