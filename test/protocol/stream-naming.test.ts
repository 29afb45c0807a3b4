/** The names both daemons share (protocol stream-naming.ts) and the reply lines built in protocol. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { formatAck, formatPayloadCommand, formatRefusal, frameMessage, segmentFilePath, streamName } from '@hlsrelay/protocol';
import { streamId } from '@hlsrelay/uploader';

test('streamName: s3://bucket/prefix/index, one slash whatever the prefix ends with, none for an empty prefix', () => {
  const cases: Array<[string, string, string, string]> = [
    ['mybucket', 'stream0001', 'stream-128k.m3u8', 's3://mybucket/stream0001/stream-128k.m3u8'],
    ['mybucket', 'stream0001/', 'a.m3u8', 's3://mybucket/stream0001/a.m3u8'],
    ['mybucket', '', 'a.m3u8', 's3://mybucket/a.m3u8'],
    ['b', 'x/y//', 'a.m3u8', 's3://b/x/y/a.m3u8'],
  ];
  for (const [bucketName, keyPrefix, index, expected] of cases) {
    assert.equal(streamName({ bucketName, keyPrefix, index }), expected);
    // The uploader's map key is the same name.
    assert.equal(streamId({ bucket: bucketName, keyPrefix, index }), expected);
  }
});

test('segmentFilePath: the output directory joined with <prefix>-%05u.ts', () => {
  assert.equal(segmentFilePath({ outputDirectory: '/srv/seg', outputPrefix: 'cam', lastSegment: 7 }), path.join('/srv/seg', 'cam-00007.ts'));
  assert.equal(segmentFilePath({ outputDirectory: '/srv/seg/', outputPrefix: 'cam', lastSegment: 123456 }), path.join('/srv/seg', 'cam-123456.ts'));
});

test('reply lines: OK, numbered ERR, unnumbered ERR and PAYLOAD, each one line', () => {
  assert.equal(frameMessage(formatAck({ ok: true, seq: 3 })), 'OK 3\n');
  assert.equal(formatAck({ ok: false, seq: 4, reason: 'bad\r\nthing' }), 'ERR 4 bad thing');
  assert.equal(formatRefusal('too many connections from 10.0.0.1'), 'ERR too many connections from 10.0.0.1');
  assert.equal(formatRefusal('line one\nline two'), 'ERR line one line two');
  assert.equal(formatPayloadCommand(1316), 'PAYLOAD 1316');
});
