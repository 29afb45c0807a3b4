/**
 * The installed daemon end to end: ffmpeg pipes MPEG-TS into bin/segmenter.js, a TCP listener on
 * 127.0.0.1 plays the original uploader.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseMessage } from '@hlsrelay/protocol';
import { tempDir } from '../support/temp-dir';
import { ffmpeg, FFMPEG } from '../support/ffmpeg';
import { SEGMENTER_BIN } from '../support/paths';
import { firstPids, firstVideoUnit, MessageListener, startsPes } from './recorders';
import { HeldPort } from '../support/ports';
import { until } from '../support/until';

const SOURCE = ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'];
const ENCODE = ['-c:v', 'libx264', '-preset', 'veryfast', '-g', '25', '-c:a', 'aac', '-b:a', '64k', '-f', 'mpegts', '-'];

interface Run {
  code: number | null;
  stderr: string;
}

/** ffmpeg | segmenter; resolves when the segmenter exits. */
function pipeline(ffArgs: string[], segArgs: string[], onStart?: (seg: ChildProcess) => void): Promise<Run> {
  const ff = spawn(FFMPEG, ['-v', 'error', ...ffArgs], { stdio: ['ignore', 'pipe', 'ignore'] });
  const seg = spawn(process.execPath, [SEGMENTER_BIN, ...segArgs], { stdio: ['pipe', 'ignore', 'pipe'] });
  ff.stdout.pipe(seg.stdin);
  seg.stdin.on('error', () => {}); // the segmenter may stop reading first (signal test)
  let stderr = '';
  seg.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  onStart?.(seg);
  return new Promise((resolve) => {
    seg.on('close', (code) => {
      ff.kill('SIGKILL');
      resolve({ code, stderr });
    });
  });
}

const segArgs = (dir: string, port: number, extra: string[] = []) => [
  '-', '1', dir, 'live', 'live.m3u8', 'http://cdn.invalid/live/', 'bucket', 'streams/live', '--uploader', `127.0.0.1:${port}`, ...extra,
];

async function checkSegments(dir: string, messages: string[]): Promise<number> {
  const files = fs.readdirSync(dir).sort();
  assert.ok(files.length >= 2, `${files.length} files`);
  assert.deepEqual(files, files.map((_, i) => `live-${String(i + 1).padStart(5, '0')}.ts`), 'names, numbered from 1, no temp files');
  assert.equal(messages.length, files.length, 'one message per file');
  const parsed = messages.map(parseMessage);
  parsed.forEach((m, i) => {
    assert.equal(m.firstSegment, 1);
    assert.equal(m.lastSegment, i + 1);
    assert.equal(m.end, i === parsed.length - 1, `end=1 only on the last message (${i})`);
    assert.equal(m.ext.size, fs.statSync(path.join(dir, files[i])).size);
    assert.equal(m.ext.codecs, 'avc1.64000d,mp4a.40.2');
    assert.equal(m.ext.resolution, '320x240');
  });
  for (const f of files) {
    const ts = new Uint8Array(fs.readFileSync(path.join(dir, f)));
    assert.deepEqual(firstPids(ts, 2), [0, 0x1000], `${f}: PAT, PMT first`);
    assert.ok(startsPes(ts, 2, 0x100), `${f}: then the video PES`);
    assert.equal(firstVideoUnit(ts, 0x100, 'h264').kind, 'key', `${f}: which is a keyframe`);
    // Decodes on its own: ffmpeg at error level has nothing to say.
    assert.equal(await ffmpeg(['-v', 'error', '-i', path.join(dir, f), '-f', 'null', '-']), '', f);
  }
  return parsed.reduce((s, m) => s + (m.ext.duration ?? 0), 0);
}

test('ffmpeg | segmenter: decodable keyframe-first segments, one message each, end=1 last, durations sum to the input', async () => {
  const dir = tempDir('bin');
  const listener = new MessageListener();
  const port = await listener.listen();
  const run = await pipeline([...SOURCE, '-t', '4', ...ENCODE], segArgs(dir, port));
  assert.equal(run.code, 0, run.stderr);
  await listener.waitFor(fs.readdirSync(dir).length);
  const total = await checkSegments(dir, listener.messages);
  assert.ok(Math.abs(total - 4) < 0.05, `durations sum to ${total}, input is 4 s`);
  assert.ok(!listener.messages.some((m) => m.includes('\n')), 'no newline: the original framing');
  await listener.close();
});

test('uploader down at start and up later: segmenting goes on and every message arrives, in order', async (t) => {
  const dir = tempDir('down');
  // The uploader's address is held from the start; nothing is behind it until the listener is.
  const held = await HeldPort.open();
  const port = held.port;
  const listener = new MessageListener();
  t.after(() => Promise.all([listener.close(), held.close()]));
  const run = pipeline([...SOURCE, '-t', '3', ...ENCODE], segArgs(dir, port, ['--drain-timeout', '30']));
  // Wait until segments exist while nobody listens, then bring the uploader up.
  while (fs.readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.startsWith('.')).length < 2) await new Promise((r) => setTimeout(r, 50));
  held.forwardTo(await listener.listen());
  const result = await run;
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /uploader unreachable/);
  assert.match(result.stderr, /reachable again/);
  // The segmenter may exit before the listener has read the last connections to their end.
  await listener.waitFor(fs.readdirSync(dir).length);
  const total = await checkSegments(dir, listener.messages);
  assert.ok(Math.abs(total - 3) < 0.05, `durations sum to ${total}`);
});

test('SIGTERM on a live pipe: the current segment is finished and announced with end=1', async () => {
  const dir = tempDir('sigterm');
  const listener = new MessageListener();
  const port = await listener.listen();
  const run = await pipeline(['-re', ...SOURCE, '-t', '30', ...ENCODE], segArgs(dir, port), (seg) => {
    const timer = setInterval(() => {
      if (fs.readdirSync(dir).filter((f) => !f.startsWith('.')).length >= 2) {
        clearInterval(timer);
        seg.kill('SIGTERM');
      }
    }, 50);
  });
  assert.equal(run.code, 0, run.stderr);
  await listener.waitFor(fs.readdirSync(dir).length);
  const parsed = listener.messages.map(parseMessage);
  assert.ok(parsed.length >= 3 && parsed.length < 10, `${parsed.length} messages`);
  assert.deepEqual(parsed.map((m) => m.end), parsed.map((_, i) => i === parsed.length - 1));
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('.')), [], 'no temp file left behind');
  await listener.close();
});

test('SIGTERM while the input pipe is quiet (its writer alive, sending nothing): the segmenter still finishes and exits', async () => {
  const dir = tempDir('quiet-pipe');
  const listener = new MessageListener();
  const port = await listener.listen();
  const clip = path.join(dir, 'clip.ts');
  await ffmpeg(['-v', 'error', ...SOURCE, '-t', '3', ...ENCODE.slice(0, -1), clip]);
  const out = path.join(dir, 'out');
  const seg = spawn(process.execPath, [SEGMENTER_BIN, ...segArgs(out, port)], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  seg.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<number | null>((resolve) => seg.on('close', resolve));
  // Written whole and never ended: the pipe stays open, as when ffmpeg stalls.
  seg.stdin.write(fs.readFileSync(clip));
  seg.stdin.on('error', () => {});
  await until(() => fs.existsSync(out) && fs.readdirSync(out).some((f) => f.endsWith('.ts')), 20_000, 'a first segment');
  seg.kill('SIGTERM');
  assert.equal(await closed, 0, stderr);
  seg.stdin.destroy();
  await listener.waitFor(fs.readdirSync(out).length);
  const parsed = listener.messages.map(parseMessage);
  assert.ok(parsed.length >= 2, `${parsed.length} messages`);
  assert.equal(parsed.at(-1)!.end, true, 'the last message says end=1');
  await listener.close();
});

test('bad arguments: exit code 2 and a message that says what was expected', async () => {
  const r = spawn(process.execPath, [SEGMENTER_BIN, '-', 'abc', 'out', 'p', 'i', 'h', 'b', 'k'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  r.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise((resolve) => r.on('close', resolve));
  assert.equal(code, 2);
  assert.match(stderr, /<segment seconds> must be a whole number of seconds ≥ 1, got "abc"/);
});
