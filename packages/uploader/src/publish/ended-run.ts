/**
 * What a new run of an ended stream becomes (README: "A stream started again after it ended").
 * RFC 8216 §6.2.1: once a playlist carries EXT-X-ENDLIST it must not change — a player that loaded
 * it has stopped for good. A weekly service at the same URL is still a real use, so:
 *
 * - the ended playlist is stored again, unchanged, as its own object `<name>-ended-<S>.m3u8`, S the
 *   media sequence number of its last segment (unique: the media sequence never goes back and each
 *   run lists at least one segment), and with `--archive` the ended archive beside it
 *   (`<name>-ended-<S>-archive.m3u8` for the default pattern);
 * - then the playlist URL becomes a fresh live playlist: none of the ended run's segments listed,
 *   its media and discontinuity sequences continuing past them (streams/stream-state.ts), its
 *   segments under object names no stored playlist ever listed; the archive starts again with it.
 *
 * Both copies go up before the new run's first playlist overwrites the URL. A crash in between
 * changes nothing: the journal still holds the ended state, and the replay stores the same bytes
 * under the same names (the archive copy only while the archive still holds the ended run).
 */
import { playlistMaxAgeSeconds, renderMediaPlaylist, type MediaPlaylist } from '../playlist/media-playlist';
import { archiveName, type EventArchive } from '../state/event-archive';
import { objectKey } from '../streams/stream-key';
import type { StreamState } from '../streams/stream-state';
import type { PublisherContext } from './stream-publisher';

/** The object an ended run's playlist is kept as: `<name>-ended-<last media sequence>.m3u8`. */
export function endedRunName(index: string, lastMediaSequence: number): string {
  return `${index.replace(/\.m3u8$/i, '')}-ended-${lastMediaSequence}.m3u8`;
}

/**
 * Stores the ended playlist (and archive) of `state` under their own names; returns the kept
 * playlist's key, or undefined when the ended run listed nothing.
 */
export async function keepEndedRun(
  ctx: Pick<PublisherContext, 'target' | 'queue' | 'archive'>,
  stream: string,
  state: StreamState,
  archive: EventArchive | undefined,
): Promise<{ key: string; archiveKey?: string } | undefined> {
  const model = state.playlist();
  if (!model.endList || model.segments.length === 0) return undefined;
  const { bucket, keyPrefix, index } = state.key;
  const name = endedRunName(index, model.mediaSequence + model.segments.length - 1);
  const put = async (what: string, key: string, playlist: MediaPlaylist) => {
    const upload = { bucket, key, text: renderMediaPlaylist(playlist), maxAgeSeconds: playlistMaxAgeSeconds(playlist) };
    await ctx.queue.transfer(what, { stream, key }, () => ctx.target.putPlaylist(upload), 1);
  };
  const key = objectKey(keyPrefix, name);
  await put('ended playlist copy', key, model);
  if (!archive || ctx.archive === undefined || archive.length === 0) return { key };
  const archiveKey = objectKey(keyPrefix, archiveName(ctx.archive, name));
  await put('ended archive copy', archiveKey, archive.model(model.targetDuration, true));
  archive.clear();
  return { key, archiveKey };
}
