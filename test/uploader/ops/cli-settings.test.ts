/** settingsFrom(): the parsed flags as the settings the daemon is built from, in ms and parsed URLs; no process needed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { settingsFrom, uploaderParser } from '@hlsrelay/uploader';
import { UPLOADER_BIN } from '../../support/paths';

async function settings(args: string[], env: Record<string, string> = { HOME: '/home/live' }) {
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
    { AWS_REGION: 'eu-west-1', HOME: '/home/live' },
  );
  assert.deepEqual(s.listen, { host: '0.0.0.0', port: 9000 });
  // A bare port is on 127.0.0.1, as --status-listen takes it.
  assert.deepEqual((await settings(['--listen', '10300'])).listen, { host: '127.0.0.1', port: 10300 });
  assert.equal(s.giveUpAfterMs, 30_000);
  assert.equal(s.drainTimeoutMs, 2_500);
  assert.equal(s.retry.maxDelayMs, 4_000);
  assert.deepEqual(s.targets.map((t) => t.scheme), ['s3', 'file']);
  assert.equal(s.archive, '%s-archive.m3u8');
  assert.equal(s.removeLocal, false);
  assert.equal(s.s3.region, 'eu-west-1', 'the region falls back to the environment passed in');
  assert.equal((await settings(['--s3-region', 'us-west-2'], { AWS_REGION: 'eu-west-1', HOME: '/home/live' })).s3.region, 'us-west-2');
});

test('settingsFrom: the journal is on by default — the service manager\'s directory, else the user\'s state path; none opts out', async () => {
  const cases: Array<[string[], Record<string, string>, string | undefined, string]> = [
    [[], { HOME: '/home/live' }, '/home/live/.local/state/hlsrelay/uploader', 'default'],
    [[], { HOME: '/home/live', XDG_STATE_HOME: '/var/state' }, '/var/state/hlsrelay/uploader', 'default'],
    // The XDG specification ignores a relative value.
    [[], { HOME: '/home/live', XDG_STATE_HOME: 'state' }, '/home/live/.local/state/hlsrelay/uploader', 'default'],
    // systemd's StateDirectory= (several are colon-separated; the first is the service's own).
    [[], { HOME: '/home/live', STATE_DIRECTORY: '/var/lib/hlsrelay:/var/lib/other' }, '/var/lib/hlsrelay', 'default'],
    [['--state-dir', '/srv/journal'], { STATE_DIRECTORY: '/var/lib/hlsrelay' }, '/srv/journal', 'given'],
    [['--state-dir', 'none'], { HOME: '/home/live' }, undefined, 'none'],
  ];
  for (const [args, env, dir, from] of cases) {
    const s = await settings(args, env);
    assert.equal(s.stateDir, dir, `${args.join(' ')} ${JSON.stringify(env)}`);
    assert.equal(s.stateDirFrom, from);
  }
  await assert.rejects(settings([], {}), /no default state directory: neither \$STATE_DIRECTORY, \$XDG_STATE_HOME nor \$HOME is set; give --state-dir DIR \(or --state-dir none/);
});

test('--reorder-hold: seconds become ms (default 1 s, 0 never waits); the command refuses a value out of range or not a number, saying what came', async () => {
  assert.equal((await settings([])).reorderHoldMs, 1_000);
  assert.equal((await settings(['--reorder-hold', '0.25'])).reorderHoldMs, 250);
  assert.equal((await settings(['--reorder-hold', '0'])).reorderHoldMs, 0);
  for (const [value, said] of [['-1', /--reorder-hold must be seconds from 0 to 60 \(0: never wait\), got -1/], ['61', /got 61/], ['abc', /--reorder-hold must be a number, got "abc"/]] as const) {
    const r = spawnSync(process.execPath, [UPLOADER_BIN, '--reorder-hold', value], { encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(r.status, 0, `--reorder-hold ${value}: exit ${r.status}`);
    assert.match(r.stderr, said);
  }
});
