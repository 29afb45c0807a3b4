/** settingsFrom(): the parsed flags as the settings the daemon is built from, in ms and parsed URLs; no process needed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settingsFrom, uploaderParser } from '@hlsrelay/uploader';

async function settings(args: string[], env: Record<string, string> = {}) {
  return settingsFrom(await uploaderParser(args, env).parse(), env);
}

test('settingsFrom: defaults, seconds become ms, several targets, the archive default name', async () => {
  const d = await settings([]);
  assert.deepEqual(d.listen, { host: '127.0.0.1', port: 10234 });
  assert.equal(d.giveUpAfterMs, 0);
  assert.equal(d.drainTimeoutMs, undefined);
  assert.equal(d.removeLocal, true);
  assert.equal(d.archive, undefined);
  assert.deepEqual(d.targets.map((t) => t.scheme), ['s3']);

  const s = await settings(
    ['--listen', '0.0.0.0:9000', '--give-up-after', '30', '--mirror-drain-timeout', '2.5', '--retry-max-delay', '4', '--target', 's3:', '--target', 'file:///srv/hls', '--archive', '', '--keep-local'],
    { AWS_REGION: 'eu-west-1' },
  );
  assert.deepEqual(s.listen, { host: '0.0.0.0', port: 9000 });
  assert.equal(s.giveUpAfterMs, 30_000);
  assert.equal(s.drainTimeoutMs, 2_500);
  assert.equal(s.retry.maxDelayMs, 4_000);
  assert.deepEqual(s.targets.map((t) => t.scheme), ['s3', 'file']);
  assert.equal(s.archive, '%s-archive.m3u8');
  assert.equal(s.removeLocal, false);
  assert.equal(s.s3.region, 'eu-west-1', 'the region falls back to the environment passed in');
  assert.equal((await settings(['--s3-region', 'us-west-2'], { AWS_REGION: 'eu-west-1' })).s3.region, 'us-west-2');
});
