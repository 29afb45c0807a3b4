/**
 * The local side of a segment upload. Checked before touching any target so that the two kinds of
 * failure stay apart: a segment file that is missing or unreadable will not appear by retrying
 * (PermanentTransferError, the uploader leaves it out of the playlist), whereas a full disk, an
 * FTP server away or a dropped SSH session on the target side may be fixed while we retry.
 */
import { stat, type FileHandle } from 'node:fs/promises';
import { PermanentTransferError } from './transfer-target';

export async function checkSegmentSource(file: string): Promise<void> {
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new PermanentTransferError(`segment ${file} is not a regular file`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'ENOTDIR') {
      throw new PermanentTransferError(`cannot read segment file ${file}: ${code}`);
    }
    throw err;
  }
}

/** Reads `size` bytes from the start of the file; a file that shrank meanwhile is an error worth retrying. */
export async function readFully(handle: FileHandle, buffer: Buffer, size: number, file: string): Promise<number> {
  let done = 0;
  while (done < size) {
    const { bytesRead } = await handle.read(buffer, done, size - done, done);
    if (bytesRead === 0) throw new Error(`segment file ${file} ended after ${done} of ${size} bytes`);
    done += bytesRead;
  }
  return done;
}
