/** acquireDirLock(): one process per state directory; a dead holder's lock is taken over. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { acquireDirLock, DirLockedError, LOCK_FILE, type LockHolder } from '@hlsrelay/protocol';
import { tempDir } from '../support/temp-dir';

const noProc = () => undefined;
const base = { host: 'cam-host', what: 'state directory', readProc: noProc };

test('a second process on a locked directory is refused, naming the holder; release frees it', () => {
  const dir = path.join(tempDir('dir-lock'), 'state');
  const first = acquireDirLock(dir, { ...base, pid: 100, alive: () => true });
  assert.equal(first.tookOverFrom, undefined);
  const held = JSON.parse(readFileSync(path.join(dir, LOCK_FILE), 'utf8')) as LockHolder;
  assert.equal(held.pid, 100);
  assert.equal(held.host, 'cam-host');
  assert.throws(
    () => acquireDirLock(dir, { ...base, pid: 200, alive: (pid) => pid === 100 }),
    (err: unknown) =>
      err instanceof DirLockedError &&
      err.holder.pid === 100 &&
      new RegExp(`state directory ${dir} is in use by pid 100 \\(since .*\\): stop that process, or give this one a directory of its own`).test(err.message),
  );
  first.release();
  assert.equal(existsSync(path.join(dir, LOCK_FILE)), false);
  acquireDirLock(dir, { ...base, pid: 200, alive: () => true }).release();
});

test('a lock whose holder is gone is taken over, and says whose it was', () => {
  const dir = tempDir('dir-lock');
  acquireDirLock(dir, { ...base, pid: 100, alive: () => true }); // then killed: never released
  const second = acquireDirLock(dir, { ...base, pid: 200, alive: (pid) => pid === 200 });
  assert.equal(second.tookOverFrom?.pid, 100);
  assert.equal((JSON.parse(readFileSync(second.file, 'utf8')) as LockHolder).pid, 200);
});

test('a reused pid is not the holder: our own pid, another boot, another start time', () => {
  const dir = tempDir('dir-lock');
  // A container restarted: the new process has the dead one's pid.
  acquireDirLock(dir, { ...base, pid: 1, alive: () => true });
  assert.equal(acquireDirLock(dir, { ...base, pid: 1, alive: () => true }).tookOverFrom?.pid, 1);

  const proc = (boot: string, start: string) => (file: string) => (file.endsWith('boot_id') ? `${boot}\n` : file.endsWith('/stat') ? `7 (node (x)) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 ${start} 20` : undefined);
  const other = tempDir('dir-lock');
  acquireDirLock(other, { ...base, pid: 7, readProc: proc('boot-a', '5000'), alive: () => true });
  assert.equal(acquireDirLock(other, { ...base, pid: 8, readProc: proc('boot-b', '5000'), alive: () => true }).tookOverFrom?.pid, 7, 'after a reboot');
  const third = tempDir('dir-lock');
  acquireDirLock(third, { ...base, pid: 7, readProc: proc('boot-a', '5000'), alive: () => true });
  assert.equal(acquireDirLock(third, { ...base, pid: 8, readProc: proc('boot-a', '9999'), alive: () => true }).tookOverFrom?.pid, 7, 'pid 7 is another process now');
  assert.throws(() => acquireDirLock(third, { ...base, pid: 9, readProc: proc('boot-a', '9999'), alive: () => true }), DirLockedError, 'pid 8 started at 9999 still runs');
});

test('a holder on another host is refused (it cannot be checked), with the file to remove; a torn lock file is stale', () => {
  const dir = tempDir('dir-lock');
  acquireDirLock(dir, { ...base, host: 'old-host', pid: 100 });
  assert.throws(() => acquireDirLock(dir, { ...base, pid: 100, alive: () => false }), new RegExp(`in use by pid 100 on host old-host .*if that host no longer uses this directory, remove ${path.join(dir, LOCK_FILE)}`));
  writeFileSync(path.join(dir, LOCK_FILE), '{"pid":1');
  assert.deepEqual(acquireDirLock(dir, { ...base, pid: 5 }).tookOverFrom, { pid: 0, host: 'unknown' });
});
