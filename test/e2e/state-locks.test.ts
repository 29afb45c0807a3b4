/**
 * One process per state directory, with the real bins: a second uploader on a journal in use, or
 * a second segmenter on a spool in use, stops at once with an error naming the holder and a
 * non-zero exit (two of them appending to one record file would lose records silently); a lock
 * left by a killed process is taken over, and the log says so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LOCK_FILE } from '@hlsrelay/protocol';
import { SEGMENTER_BIN, UPLOADER_BIN } from '../support/paths';
import { tempDir } from '../support/temp-dir';
import { until } from '../support/until';
import { startUploader, STORE_ENV } from '../support/uploader-process';

/** The pid of a process that has exited: a lock holding it is stale. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

const SEGMENTER_ARGS = (dir: string) => ['-', '1', path.join(dir, 'out'), 'cam', 'cam.m3u8', 'http://cdn.example/', 'b', 'live', '--uploader', '127.0.0.1:9', '--log-json', '--status', 'never'];

test('uploader: a second one on the same state directory exits 1 naming the first; a dead one\'s lock is taken over', async () => {
  const dir = tempDir('lock-uploader');
  const state = path.join(dir, 'state');
  const first = await startUploader(['--state-dir', state, '--target', `file://${dir}/www`]);
  try {
    const second = spawnSync(process.execPath, [UPLOADER_BIN, '--listen', '127.0.0.1:0', '--state-dir', state, '--target', `file://${dir}/www`], {
      encoding: 'utf8',
      env: { ...process.env, ...STORE_ENV },
      timeout: 30_000,
    });
    assert.equal(second.status, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`uploader: state directory ${state} is in use by pid ${first.child.pid} \\(since [^)]+\\): stop that process, or give this one a directory of its own`));
  } finally {
    assert.equal(await first.stop(), 0);
  }

  const stale = deadPid();
  writeFileSync(path.join(state, LOCK_FILE), JSON.stringify({ pid: stale, host: os.hostname() }));
  const again = await startUploader(['--state-dir', state, '--target', `file://${dir}/www`]);
  const taken = again.lines.find((l) => l.message === 'took over the lock of a process that is gone (a crash or kill); continuing from its journal');
  assert.equal(taken?.pid, stale, again.stderr());
  assert.equal(taken?.level, 'warn');
  assert.equal(await again.stop(), 0);
});

test('uploader: --state-dir none runs without a journal and says at warn what that gives up', async () => {
  const dir = tempDir('lock-uploader');
  const up = await startUploader(['--state-dir', 'none', '--target', `file://${dir}/www`]);
  const warning = up.lines.find((l) => typeof l.message === 'string' && l.message.startsWith('no state directory (--state-dir none)'));
  assert.equal(warning?.level, 'warn', up.stderr());
  assert.match(String(warning?.message), /acknowledged only once its segment is stored/);
  assert.equal(await up.stop(), 0);
});

test('segmenter: a second one on the same spool exits 1 naming the first; a dead one\'s lock is taken over', async () => {
  const dir = tempDir('lock-segmenter');
  const spool = path.join(dir, 'spool');
  // The first one keeps reading a pipe that never ends; the uploader it names is not there.
  const first = spawn(process.execPath, [SEGMENTER_BIN, ...SEGMENTER_ARGS(dir), '--spool-dir', spool], { stdio: ['pipe', 'ignore', 'pipe'] });
  let firstLog = '';
  first.stderr!.setEncoding('utf8').on('data', (d: string) => (firstLog += d));
  try {
    await until(() => firstLog.includes('undelivered index messages are spooled'), 30_000, 'first segmenter started');
    const second = spawnSync(process.execPath, [SEGMENTER_BIN, ...SEGMENTER_ARGS(dir), '--spool-dir', spool], { encoding: 'utf8', input: '', timeout: 30_000 });
    assert.equal(second.status, 1, second.stderr);
    assert.match(second.stderr, /cannot open the spool directory/);
    assert.ok(second.stderr.includes(`spool directory ${spool} is in use by pid ${first.pid}`), second.stderr);
  } finally {
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
  }
  // Killed: its lock stays behind, with a pid that no longer runs.
  const next = spawnSync(process.execPath, [SEGMENTER_BIN, ...SEGMENTER_ARGS(dir), '--spool-dir', spool, '--drain-timeout', '0'], { encoding: 'utf8', input: '', timeout: 30_000 });
  const taken = next.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.message === 'took over the spool lock of a segmenter that is gone (a crash or kill); its undelivered messages go first');
  assert.equal(taken?.pid, first.pid, next.stderr);
});

test('segmenter: the spool is on by default, one directory per stream under the user\'s state path; --spool-dir none says what it gives up', () => {
  const dir = tempDir('lock-segmenter');
  const env = { ...process.env, HOME: path.join(dir, 'home'), XDG_STATE_HOME: '' };
  const run = (extra: string[]) => spawnSync(process.execPath, [SEGMENTER_BIN, ...SEGMENTER_ARGS(dir), '--drain-timeout', '0', ...extra], { encoding: 'utf8', input: '', env, timeout: 30_000 });
  const lines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const spooled = lines(run([]).stderr).find((l) => l.message === 'undelivered index messages are spooled');
  assert.match(String(spooled?.dir), new RegExp(`^${path.join(dir, 'home/.local/state/hlsrelay/segmenter')}/b_live_cam\\.m3u8-[0-9a-f]{8}$`));
  const none = lines(run(['--spool-dir', 'none']).stderr).find((l) => typeof l.message === 'string' && l.message.startsWith('no spool (--spool-dir none)'));
  assert.equal(none?.level, 'warn');
});
