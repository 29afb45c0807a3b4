/**
 * Which local files a message may make the uploader read.
 *
 * An index message names a directory and a file prefix on the uploader's machine; the 2009
 * uploader read and published whatever file that named, so anyone who could reach its port could
 * publish `/etc/shadow`-like files to a public bucket by naming them. Here segments are read only
 * inside allowed roots (`--allow-dir`), judged after every symbolic link is resolved.
 *
 * Two checks, for two moments:
 * - when a message arrives (`check`, synchronous, so the peer gets its ERR at once): no `..`
 *   segment in the directory, and the file — or, while it does not exist, its deepest existing
 *   ancestor — must resolve (realpath) inside a root;
 * - when the segment is read (`open`): the file is opened first (O_NOFOLLOW: a segment is never a
 *   symbolic link; O_NONBLOCK: a FIFO planted in a root cannot stall a thread), then the opened
 *   file must be a regular file and the same inode (device and inode number) as the realpath of
 *   its name, and that realpath must lie inside a root. What is read is the opened descriptor, so
 *   swapping the file or a parent directory for a symbolic link after the check changes nothing
 *   (no time-of-check/time-of-use gap).
 */
import fs from 'node:fs';
import { open, realpath, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ProtocolError } from '@hlsrelay/protocol';
import { PermanentTransferError } from '../targets/transfer-target';

/** Longest directory a message may name, in bytes (PATH_MAX on Linux). */
export const MAX_DIRECTORY_BYTES = 4096;

/** A segment opened for reading after the checks; `close` once the upload has settled. */
export interface OpenedSegment {
  /**
   * A path that names the opened file and nothing else: `/proc/self/fd/N` on Linux (opening it
   * opens the same inode, whatever happened to the name since), else the checked real path.
   */
  readPath: string;
  /** The checked real path, for logs. */
  realPath: string;
  size: number;
  close(): Promise<void>;
}

const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK | (fs.constants.O_NOCTTY ?? 0);

export class AllowedPaths {
  /** Real paths of the roots, without trailing separators. */
  readonly roots: readonly string[];
  readonly #procFd: boolean;

  private constructor(roots: string[], procFd: boolean) {
    this.roots = roots;
    this.#procFd = procFd;
  }

  /**
   * Resolves each root to its real path (it must exist and be a directory); duplicates and roots
   * inside other roots are kept, harmlessly. Throws a TypeError that names the option.
   */
  static async resolve(dirs: readonly string[], option = '--allow-dir'): Promise<AllowedPaths> {
    if (dirs.length === 0) throw new TypeError(`${option}: at least one directory is needed`);
    const roots: string[] = [];
    for (const dir of dirs) {
      let real: string;
      try {
        real = await realpath(dir);
      } catch (err) {
        throw new TypeError(`${option} must name an existing directory, got "${dir}" (${(err as NodeJS.ErrnoException).code})`);
      }
      if (!(await stat(real)).isDirectory()) throw new TypeError(`${option} must name a directory, got "${dir}" (a file)`);
      roots.push(real);
    }
    let procFd = false;
    try {
      procFd = fs.statSync('/proc/self/fd').isDirectory();
    } catch {
      // not Linux: the checked real path is handed on instead
    }
    return new AllowedPaths(roots, procFd);
  }

  /** True when the real path `real` is a root or lies under one. */
  contains(real: string): boolean {
    return this.roots.some((root) => real === root || real.startsWith(root.endsWith(path.sep) ? root : root + path.sep));
  }

  /**
   * The message-time check of a segment file (`<directory>/<file name>`): throws ProtocolError when
   * it is, or resolves to, a place outside the roots. A file that does not exist yet is judged by
   * its deepest existing ancestor; reading it later is checked again by `open`.
   */
  check(directory: string, fileName: string): void {
    if (directory.includes('\0') || fileName.includes('\0')) throw new ProtocolError('output_directory contains a NUL byte');
    if (Buffer.byteLength(directory) > MAX_DIRECTORY_BYTES) throw new ProtocolError(`output_directory is longer than ${MAX_DIRECTORY_BYTES} bytes`);
    // Lexical `..` is refused outright: its meaning after a symbolic link differs between the
    // kernel and path.resolve, and no segmenter needs it.
    if (directory.split(/[\\/]/).includes('..')) throw new ProtocolError(`output_directory "${directory}" contains a ".." segment`);
    const file = path.resolve(directory, fileName);
    const real = deepestRealPath(file);
    if (!this.contains(real)) {
      throw new ProtocolError(`segment file ${file} lies outside the directories this uploader may read (--allow-dir)`);
    }
  }

  /**
   * Opens a segment for reading after the read-time checks. Throws PermanentTransferError when the
   * file is missing, not a regular file, a symbolic link, or outside the roots.
   */
  async open(file: string): Promise<OpenedSegment> {
    let handle: FileHandle;
    try {
      handle = await open(file, OPEN_FLAGS);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') throw new PermanentTransferError(`segment file ${file} is a symbolic link; refused`);
      if (code === 'ENOENT' || code === 'EACCES' || code === 'ENOTDIR' || code === 'EPERM' || code === 'ENXIO') {
        throw new PermanentTransferError(`cannot read segment file ${file}: ${code}`);
      }
      throw err;
    }
    try {
      const opened = await handle.stat();
      if (!opened.isFile()) throw new PermanentTransferError(`segment ${file} is not a regular file; refused`);
      let real: string;
      let named: fs.Stats;
      try {
        real = await realpath(file);
        named = await stat(real);
      } catch (err) {
        throw new PermanentTransferError(`segment file ${file} changed while it was being opened (${(err as NodeJS.ErrnoException).code}); refused`);
      }
      if (named.dev !== opened.dev || named.ino !== opened.ino) {
        throw new PermanentTransferError(`segment file ${file} was replaced while it was being opened; refused`);
      }
      if (!this.contains(real)) {
        throw new PermanentTransferError(`segment file ${file} resolves to ${real}, outside the directories this uploader may read (--allow-dir)`);
      }
      return {
        readPath: this.#procFd ? `/proc/self/fd/${handle.fd}` : real,
        realPath: real,
        size: opened.size,
        close: () => handle.close(),
      };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }
}

/**
 * The real path of `file`, or — while it (or a parent) does not exist — the real path of its
 * deepest existing ancestor joined with the rest of the (already `..`-free) path.
 */
function deepestRealPath(file: string): string {
  let existing = file;
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(fs.realpathSync.native(existing), ...rest);
    } catch (err) {
      const parent = path.dirname(existing);
      const code = (err as NodeJS.ErrnoException).code;
      // ELOOP / EACCES and the like: unknowable, so judged by what can be resolved above it.
      if (parent === existing || (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'ELOOP' && code !== 'EACCES')) {
        throw new ProtocolError(`segment file ${file} cannot be resolved (${code})`);
      }
      rest.unshift(path.basename(existing));
      existing = parent;
    }
  }
}
