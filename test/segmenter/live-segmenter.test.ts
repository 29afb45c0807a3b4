import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseMessage } from '@hlsrelay/protocol';
import { buildParser, LiveSegmenter, Notifier, settingsFrom, StatusLine } from '@hlsrelay/segmenter';
import { tempDir } from '../support/temp-dir';
import { fixture } from '../support/paths';
import { cameraNames, MessageListener } from './recorders';
import { HeldPort } from '../support/ports';

const names = cameraNames;

test('files are <prefix>-%05u.ts from --start-number, complete before their message, no temp files left', () => {
  const dir = tempDir('live');
  const messages: string[] = [];
  const seg = new LiveSegmenter({
    ...names(dir),
    startNumber: 7,
    now: () => Date.parse('2026-01-02T03:04:05Z'),
    notify: (m, s) => {
      // The file is in place, whole, when its message goes out.
      assert.equal(fs.statSync(s.path).size, s.size);
      messages.push(m);
    },
  });
  seg.push(fixture('h264-aac.m2ts'));
  seg.finish();
  assert.deepEqual(fs.readdirSync(dir).sort(), ['cam-00007.ts', 'cam-00008.ts']);
  const parsed = messages.map(parseMessage);
  assert.deepEqual(parsed.map((m) => [m.firstSegment, m.lastSegment, m.end]), [[7, 7, false], [7, 8, true]]);
  assert.equal(parsed[0].ext.size, fs.statSync(path.join(dir, 'cam-00007.ts')).size);
  assert.equal(parsed[0].ext.duration, 1);
  assert.equal(parsed[0].ext.codecs, 'avc1.64000b,mp4a.40.2');
  assert.equal(parsed[0].ext.resolution, '160x120');
  assert.equal(parsed[0].ext.frameRate, 25);
  assert.equal(parsed[1].ext.programDateTime?.toISOString(), '2026-01-02T03:04:06.000Z');
  // pts=: the first keyframe's PTS, one 1 s segment (90 000 ticks) apart.
  assert.ok(Number.isSafeInteger(parsed[0].ext.pts) && parsed[0].ext.pts! >= 0, `pts ${parsed[0].ext.pts}`);
  assert.equal(parsed[1].ext.pts! - parsed[0].ext.pts!, 90_000);
  assert.equal(messages[0].split(', ').slice(0, 10).join(', '), `cam.m3u8, ${dir}, 1, cam, https://cdn.example/live/, 7, 7, 0, bucket, live`);
  assert.deepEqual(seg.stats.segments, 2);
});

test('a segment that cannot be written is logged and skipped; the stream goes on, marked discontinuous', () => {
  const dir = tempDir('fail');
  // A directory where segment 2's temporary file should go makes its open fail.
  fs.mkdirSync(path.join(dir, '.cam-00002.ts.tmp'));
  const ts = fixture('h264-aac.m2ts');
  const messages: string[] = [];
  const seg = new LiveSegmenter({ ...names(dir), startNumber: 1, notify: (m) => messages.push(m) });
  seg.push(ts);
  seg.push(ts); // a second copy: two more segments
  seg.finish();
  const parsed = messages.map(parseMessage);
  assert.deepEqual(parsed.map((m) => m.lastSegment), [1, 3, 4]);
  assert.deepEqual(parsed.map((m) => m.ext.discontinuity ?? false), [false, true, false]);
  assert.equal(parsed.at(-1)?.end, true);
  assert.equal(seg.stats.failedSegments, 1);
  assert.ok(!fs.existsSync(path.join(dir, 'cam-00002.ts')));
});

test('notifier: uploader down at start, up later — every message arrives, in order, one connection each, no newline', async () => {
  // The uploader's address is held from the start; nothing is behind it until the listener is.
  const held = await HeldPort.open();
  const port = held.port;
  const notifier = new Notifier({ uploader: { host: '127.0.0.1', port }, initialRetryMs: 20, maxRetryMs: 100 });
  const sent = ['a, 1', 'b, 2', 'c, 3'];
  for (const m of sent) notifier.send(m);
  await new Promise((r) => setTimeout(r, 150)); // some failed attempts
  assert.equal(notifier.pending, 3);
  const listener = new MessageListener();
  held.forwardTo(await listener.listen());
  notifier.send('d, 4');
  await notifier.onIdle();
  await listener.waitFor(4);
  assert.deepEqual(listener.messages, [...sent, 'd, 4']);
  assert.equal(notifier.delivered, 4);
  assert.deepEqual(notifier.close(), []);
  await listener.close();
  await held.close();
});

test('notifier: close() hands back what was never delivered, in order', async () => {
  const held = await HeldPort.open(); // an address with no uploader behind it
  const port = held.port;
  const notifier = new Notifier({ uploader: { host: '127.0.0.1', port }, initialRetryMs: 10, maxRetryMs: 20 });
  notifier.send('x');
  notifier.send('y');
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(notifier.close(), ['x', 'y']);
  assert.throws(() => notifier.send('z'), /closed/);
  assert.throws(() => new Notifier({ uploader: { host: '127.0.0.1', port }, initialRetryMs: 0 }), /retry delays/);
  await held.close();
});

const parse = (argv: string[]) => settingsFrom(buildParser(argv).fail((msg, err) => { throw err ?? new TypeError(msg); }).parseSync(), { HOME: '/home/cam' });

test('CLI: the original positional form, named options, defaults', () => {
  const s = parse(['-', '10', '/tmp/', 'sample_128k', 'stream-128k.m3u8', 'http://d3vmly3syseqo9.cloudfront.net/stream0001/', 'ionlivestream', 'stream0001']);
  assert.equal(s.input, '-');
  assert.equal(s.segmentDuration, 10);
  assert.equal(s.outputPrefix, 'sample_128k');
  assert.equal(s.keyPrefix, 'stream0001');
  assert.deepEqual(s.uploader, { host: '127.0.0.1', port: 10234 });
  assert.equal(s.startNumber, 1);
  const t = parse(['in.ts', '6', 'out', 'p', 'i.m3u8', 'h/', 'b', 'k', '--uploader', '10.0.0.5:9000', '--start-number', '1001']);
  assert.deepEqual(t.uploader, { host: '10.0.0.5', port: 9000 });
  assert.equal(t.startNumber, 1001);
});

test('CLI: bad arguments are refused with what was expected and what came', () => {
  const ok = ['-', '10', 'out', 'p', 'i.m3u8', 'h/', 'b', 'k'];
  assert.throws(() => parse(ok.slice(0, 5)), /expected 8 arguments .* got 5/);
  assert.throws(() => parse(['-', 'ten', ...ok.slice(2)]), /<segment seconds> must be a whole number of seconds ≥ 1, got "ten"/);
  assert.throws(() => parse([...ok, '--uploader', 'host:99999']), /--uploader must be HOST:PORT/);
  assert.throws(() => parse([...ok, '--start-number', '-3']), /--start-number must be a whole number ≥ 1, got -3/);
  assert.throws(() => parse(['-', '10', 'out', 'p', 'i.m3u8', 'h/', 'my,bucket', 'k']), /bucket_name "my,bucket" cannot travel/);
  assert.throws(() => parse([...ok, '--no-such-option']), /Unknown argument/);
});

test('status line: segments, input bitrate since the last line, last duration', () => {
  const line = new StatusLine(0);
  assert.equal(
    line.render({ inputBytes: 250_000, segments: 3, failedSegments: 0, lastDuration: 2.002, skippedBytes: 0, packetBytes: 250_000 }, 1000, 0),
    'segments 3 | input 2.00 Mb/s | last 2.002 s',
  );
  assert.equal(
    line.render({ inputBytes: 300_000, segments: 3, failedSegments: 1, skippedBytes: 5, packetBytes: 299_995 }, 2000, 2),
    'segments 3 | input 400 kb/s | last - | queued messages 2 | failed segments 1 | skipped bytes 5',
  );
});
