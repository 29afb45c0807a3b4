/**
 * docker-compose.yml without a Docker engine: Debian's docker-compose validates the file, and the
 * commands it runs are the real commands' valid flags (the daemons' own parsers check them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { UPLOADER_BIN } from '../support/paths';
import { ROOT } from '../support/paths';

const COMPOSE = path.join(ROOT, 'docker-compose.yml');
const hasCompose = spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0;
if (!hasCompose) process.stderr.write('\n*** docker-compose not installed (apt-get install docker-compose): compose file check SKIPPED ***\n\n');

test('docker-compose config accepts the file', { skip: !hasCompose && 'docker-compose not installed' }, () => {
  const r = spawnSync('docker-compose', ['-f', COMPOSE, 'config', '-q'], { encoding: 'utf8', cwd: ROOT });
  assert.equal(r.status, 0, r.stderr);
  const services = spawnSync('docker-compose', ['-f', COMPOSE, 'config', '--services'], { encoding: 'utf8', cwd: ROOT }).stdout.split('\n').filter(Boolean);
  assert.deepEqual(services.sort(), ['bucket', 'minio', 'source', 'uploader']);
});

test("the uploader's command and environment in the compose file are accepted by the real uploader", () => {
  const text = readFileSync(COMPOSE, 'utf8');
  // The folded `command: >` block of the uploader service.
  const block = /\n {2}uploader:\n(?: {4}.*\n)*? {4}command: >\n((?: {6}.*\n)+)/.exec(text);
  assert.ok(block, 'uploader command found');
  const words = block[1].trim().split(/\s+/);
  assert.equal(words[0], 'uploader');
  const env = Object.fromEntries([...text.matchAll(/^ {6}(HLSRELAY_UPLOADER_\w+): "?([^"\n]*)"?$/gm)].map((m) => [m[1], m[2]]));
  const r = spawnSync(process.execPath, [UPLOADER_BIN, ...words.slice(1), '--print-config'], { encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(r.status, 0, r.stderr);
  const settings = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(settings['status-listen'], '0.0.0.0:10235', 'the healthcheck and the published port need the status server');
  assert.equal(settings.window, 6);
  assert.match(text, /127\.0\.0\.1:10235\/healthz/);
});
