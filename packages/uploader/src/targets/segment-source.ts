/**
 * The local side of a segment upload. Checked before touching any target so that the two kinds of
 * failure stay apart: a segment file that is missing or unreadable will not appear by retrying
 * (PermanentTransferError, the uploader leaves it out of the playlist), whereas a full disk, an
 * FTP server away or a dropped SSH session on the target side may be fixed while we retry.
 */
import { stat } from 'node:fs/promises';
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
