/**
 * Reading back where a stream stood, for a stream this uploader has no state for (no journal, a
 * lost state disk, a new machine): its playlist as storage holds it, turned into the state the
 * stream continues from (streams/stream-recovery.ts), and said at warn.
 */
import type { Logger } from '@hlsrelay/log';
import { SEGMENT_EXTENSIONS, type SegmentFormat } from '@hlsrelay/protocol';
import { parseMediaPlaylist } from '../playlist/stored-playlist';
import { recoverStream } from '../streams/stream-recovery';
import { objectKey, type StreamKey } from '../streams/stream-key';
import type { StreamSnapshot } from '../streams/stream-state';
import { PermanentTransferError, type TransferTarget } from '../targets/transfer-target';
import { describe, type UploadQueue } from '../targets/upload-queue';

/** The state to continue from, or undefined for a new stream (nothing stored, or nothing readable). */
export async function readStoredStream(
  ctx: { target: TransferTarget; queue: UploadQueue; logger: Logger },
  stream: string,
  key: StreamKey,
  outputPrefix: string,
  format: SegmentFormat = 'ts',
): Promise<StreamSnapshot | undefined> {
  const { target, queue, logger } = ctx;
  if (!target.get) return undefined;
  const playlistKey = objectKey(key.keyPrefix, key.index);
  const log = { stream, key: playlistKey };
  let text: string | undefined;
  try {
    // Retried like a segment upload while the store is away, and given up with it
    // (--give-up-after): guessing sooner would risk overwriting stored segments.
    text = await queue.transfer('stored playlist read', log, () => target.get!(key.bucket, playlistKey), 1, true);
  } catch (err) {
    if (!(err instanceof PermanentTransferError)) throw err;
    logger.error('stored playlist cannot be read; the stream starts as new and may reuse stored names', { ...log, error: describe(err) });
    return undefined;
  }
  if (text === undefined) return undefined;
  const stored = parseMediaPlaylist(text);
  if (stored === undefined) {
    logger.error('the object at the playlist key is not a media playlist; the stream starts as new', log);
    return undefined;
  }
  if (stored.segments.length === 0) return undefined;
  const { snapshot, epoch } = recoverStream(stored, outputPrefix);
  logger.warn('stream continues from its stored playlist (no state for it here): listed behind a discontinuity, stored under new names', {
    ...log,
    mediaSequence: stored.mediaSequence,
    listed: stored.segments.length,
    ended: stored.endList,
    names: `${outputPrefix}-r${epoch}-%05u${SEGMENT_EXTENSIONS[format]}`,
  });
  return snapshot;
}
