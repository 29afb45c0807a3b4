/**
 * An exclusive lock on a state directory (the uploader's journal, each segmenter spool): two
 * processes appending to one record file would interleave and lose each other's records, so the
 * second one must stop with an error that names the first.
 *
 * The lock is a file, `<dir>/lock`, created with O_EXCL and holding the holder's pid and host
 * (plus the kernel boot id and the process start time where /proc has them, so a reused pid
 * after a reboot or in a restarted container is not mistaken for the holder). A lock whose
 * holder is gone (kill -9, a crash, a power cut) is taken over, and the caller logs that.
 * A holder on another host cannot be checked from here: that is refused too, with the file named,
 * for an operator to remove once that host is surely not using the directory.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

export const LOCK_FILE = 'lock';

/** Who holds (or asks for) a lock. */
export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the lock was taken, for the operator reading the error. */
  since?: string;
  /** /proc/sys/kernel/random/boot_id: a different one means the holder died with its machine. */
  boot?: string;
  /** Field 22 of /proc/<pid>/stat: the holder's start time, so a reused pid is told apart. */
  started?: string;
}

export class DirLockedError extends Error {
  override readonly name = 'DirLockedError';
  readonly holder: LockHolder;
  constructor(message: string, holder: LockHolder) {
    super(message);
    this.holder = holder;
  }
}

export interface DirLockOptions {
  /** This process: main.ts passes process.pid and os.hostname(). */
  pid: number;
  host: string;
  /** What the directory is, for the error ("state directory", "spool directory"). */
  what: string;
  /** Whether `pid` is a running process on this host; default: signal 0. */
  alive?: (pid: number) => boolean;
  /** Reads /proc files; injectable for tests. Default readFileSync, undefined when absent. */
  readProc?: (file: string) => string | undefined;
  now?: () => Date;
}

export interface AcquiredLock {
  file: string;
  /** The holder whose lock was taken over because it is gone, if there was one. */
  tookOverFrom?: LockHolder;
  release(): void;
}

/**
 * Takes the lock on `dir` (created if missing), or throws DirLockedError naming the live holder.
 * A stale lock (its holder is dead, or unreadable because a crash cut it short) is replaced.
 */
export function acquireDirLock(dir: string, options: DirLockOptions): AcquiredLock {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, LOCK_FILE);
  const readProc = options.readProc ?? defaultReadProc;
  const me: LockHolder = {
    pid: options.pid,
    host: options.host,
    since: (options.now?.() ?? new Date()).toISOString(),
    boot: readProc('/proc/sys/kernel/random/boot_id')?.trim(),
    started: processStart(readProc, options.pid),
  };
  let tookOverFrom: LockHolder | undefined;
  // Twice at most: once as found, once more after removing a stale lock.
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const text = readText(file);
      if (text === undefined) continue; // removed meanwhile: try again
      const holder = parseHolder(text);
      if (holder && holderLives(holder, me, options, readProc)) {
        const where = holder.host === me.host ? `pid ${holder.pid}` : `pid ${holder.pid} on host ${holder.host}`;
        const hint =
          holder.host === me.host
            ? 'stop that process, or give this one a directory of its own'
            : `if that host no longer uses this directory, remove ${file}`;
        throw new DirLockedError(`${options.what} ${dir} is in use by ${where} (since ${holder.since ?? 'unknown'}): ${hint}`, holder);
      }
      // Stale: remove it only if it is still the file we judged (another starter may have replaced it).
      if (readText(file) === text) unlinkIfPresent(file);
      tookOverFrom = holder ?? { pid: 0, host: 'unknown' };
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(me) + '\n');
    } finally {
      closeSync(fd);
    }
    let released = false;
    return {
      file,
      tookOverFrom,
      release() {
        if (released) return;
        released = true;
        // Only our own lock: never remove one a later holder took over.
        if (parseHolder(readText(file) ?? '')?.pid === me.pid) unlinkIfPresent(file);
      },
    };
  }
  throw new Error(`${options.what} ${dir}: cannot take ${file} (it keeps changing; is another process starting?)`);
}

function holderLives(holder: LockHolder, me: LockHolder, options: DirLockOptions, readProc: (file: string) => string | undefined): boolean {
  // Another machine's process cannot be checked: assume it lives (a shared disk must not be shared).
  if (holder.host !== me.host) return true;
  if (holder.boot !== undefined && me.boot !== undefined && holder.boot !== me.boot) return false;
  // Our own pid in the lock is an earlier process of ours (a container restarted as pid 1).
  if (holder.pid === me.pid) return false;
  const alive = options.alive ?? signalZero;
  if (!alive(holder.pid)) return false;
  const started = processStart(readProc, holder.pid);
  return holder.started === undefined || started === undefined || started === holder.started;
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    return Number.isSafeInteger(h.pid) && typeof h.host === 'string' ? (h as LockHolder) : undefined;
  } catch {
    return undefined; // cut short by a crash while it was written
  }
}

function signalZero(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Start time of `pid` in clock ticks since boot (proc(5), field 22 of /proc/<pid>/stat). */
function processStart(readProc: (file: string) => string | undefined, pid: number): string | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The command name (field 2) is in parentheses and may hold spaces: count from after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

function defaultReadProc(file: string): string | undefined {
  return readText(file);
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function unlinkIfPresent(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
