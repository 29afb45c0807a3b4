/** chooseFfmpeg(): --ffmpeg, else $FFMPEG, else an ffmpeg on PATH, else the bundled build. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chooseFfmpeg, ffmpegVersionLine, findOnPath } from '@hlsrelay/segmenter';
import { FFMPEG } from '../../support/ffmpeg';
import { tempDir } from '../../support/temp-dir';

test('the order: flag, $FFMPEG, PATH, bundled; an executable file only', () => {
  const dir = tempDir('ffmpeg-path');
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  mkdirSync(path.join(dir, 'empty'));
  const onPath = path.join(bin, 'ffmpeg');
  writeFileSync(onPath, '#!/bin/sh\n');
  const bundled = () => '/opt/bundled/ffmpeg';
  const PATH = [path.join(dir, 'empty'), bin].join(path.delimiter);
  assert.deepEqual(chooseFfmpeg({ flag: '/x/ffmpeg', env: { FFMPEG: '/y/ffmpeg', PATH }, bundled }), { path: '/x/ffmpeg', source: '--ffmpeg' });
  assert.deepEqual(chooseFfmpeg({ env: { FFMPEG: '/y/ffmpeg', PATH }, bundled }), { path: '/y/ffmpeg', source: '$FFMPEG' });
  // Not executable yet: not taken from PATH.
  assert.deepEqual(chooseFfmpeg({ env: { PATH }, bundled }), { path: '/opt/bundled/ffmpeg', source: 'bundled' });
  chmodSync(onPath, 0o755);
  assert.equal(findOnPath('ffmpeg', PATH), onPath);
  assert.deepEqual(chooseFfmpeg({ env: { PATH }, bundled }), { path: onPath, source: 'PATH' });
  assert.deepEqual(chooseFfmpeg({ env: { PATH: '' }, bundled: () => undefined }), { path: 'ffmpeg', source: 'PATH' });
});

test('the version line of the bundled build, and of a binary that is not there', () => {
  assert.match(ffmpegVersionLine(FFMPEG), /^ffmpeg version \S+/);
  assert.match(ffmpegVersionLine('/nonexistent/ffmpeg'), /^cannot run it \(ENOENT\)$/);
});
