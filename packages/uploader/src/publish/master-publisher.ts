/**
 * Keeps every master playlist that renditions name (`master=` in their messages) and uploads it
 * when it changes meaningfully: a rendition's playlist stored for the first time, codecs,
 * resolution or frame rate changed, a measured bitrate moved by more than 10 %, or a rendition
 * ended (then the exact figures). Each master has its own lane in the upload queue, so its PUTs
 * are in order and never wait behind a rendition's segments.
 */
import type { Logger } from '@hlsrelay/log';
import { streamName, type IndexMessage } from '@hlsrelay/protocol';
import { renderMasterPlaylist } from '../playlist/master-playlist';
import { MasterState, type RenditionSnapshot } from '../playlist/master-state';
import { objectKey, streamId, streamKeyOf, type StreamKey } from '../streams/stream-key';
import type { TransferTarget } from '../targets/transfer-target';
import type { UploadQueue } from '../targets/upload-queue';

export interface MasterPublisherOptions {
  target: TransferTarget;
  queue: UploadQueue;
  logger: Logger;
  /** Called after each master PUT succeeded, with its key and text (for events and tests). */
  onStored?: (stored: { bucket: string; key: string; text: string }) => void;
}

/** A rendition's membership of a master, kept in the journal with the rendition's stream state. */
export interface MasterMembership {
  bucket: string;
  /** Object key of the master playlist. */
  key: string;
  rendition: RenditionSnapshot;
}

/** The id (`s3://bucket/key`) of the master playlist `master` that `m` names (`master=`). */
export function masterIdOf(m: Pick<IndexMessage, 'bucketName' | 'keyPrefix'>, master: string): string {
  return streamName({ bucketName: m.bucketName, keyPrefix: '', index: objectKey(m.keyPrefix, master) });
}

export class MasterPublisher {
  readonly #target: TransferTarget;
  readonly #queue: UploadQueue;
  readonly #logger: Logger;
  readonly #onStored?: MasterPublisherOptions['onStored'];
  /** Masters by id (`s3://bucket/key`). */
  readonly #masters = new Map<string, MasterState>();
  /** Rendition stream id → its master id and its URI in that master. */
  readonly #memberOf = new Map<string, { master: string; uri: string }>();
  /** Masters with an upload job queued and not yet started: one job publishes the latest state. */
  readonly #queued = new Set<string>();
  #stored = 0;

  constructor(options: MasterPublisherOptions) {
    this.#target = options.target;
    this.#queue = options.queue;
    this.#logger = options.logger;
    this.#onStored = options.onStored;
  }

  /** Master playlists stored since start. */
  get stored(): number {
    return this.#stored;
  }

  /** A segment of `m`'s stream is stored: measure it, if the stream names a master. */
  segmentStored(m: IndexMessage): void {
    if (m.ext.master === undefined) return;
    const key = streamKeyOf(m);
    const masterKey = objectKey(m.keyPrefix, m.ext.master);
    const masterId = masterIdOf(m, m.ext.master);
    if (masterKey === objectKey(key.keyPrefix, key.index)) {
      this.#logger.warn('a rendition names its own playlist as master; ignored', { stream: streamId(key) });
      return;
    }
    let master = this.#masters.get(masterId);
    if (!master) {
      master = new MasterState(m.bucketName, masterKey);
      this.#masters.set(masterId, master);
      this.#logger.info('new master playlist', { master: masterId });
    }
    // Same bucket and key prefix: the rendition's playlist sits beside the master, so its
    // name is a relative URI that works from the bucket and from any CDN in front of it.
    const uri = key.index;
    const member = this.#memberOf.get(streamId(key));
    if (member && member.master !== masterId) {
      this.#logger.warn('rendition moved to another master playlist', { stream: streamId(key), from: member.master, to: masterId });
    }
    this.#memberOf.set(streamId(key), { master: masterId, uri });
    master.observeSegment(uri, m);
  }

  /** What the masters know of this rendition stream, for the journal; undefined when it names none. */
  snapshot(key: StreamKey): MasterMembership | undefined {
    const member = this.#memberOf.get(streamId(key));
    if (!member) return undefined;
    const master = this.#masters.get(member.master)!;
    const rendition = master.renditionSnapshot(member.uri);
    return rendition && { bucket: master.bucket, key: master.key, rendition };
  }

  /**
   * After a restart, before any message: the rendition's measurements continue where the journal
   * left them (the peak and average of segments stored before the restart still count). The
   * master is uploaded again at its rendition's next stored playlist.
   */
  restore(key: StreamKey, membership: MasterMembership, playlistStored: boolean): void {
    const masterId = streamName({ bucketName: membership.bucket, keyPrefix: '', index: membership.key });
    let master = this.#masters.get(masterId);
    if (!master) {
      master = new MasterState(membership.bucket, membership.key);
      this.#masters.set(masterId, master);
    }
    master.restoreRendition(membership.rendition, playlistStored);
    this.#memberOf.set(streamId(key), { master: masterId, uri: membership.rendition.uri });
  }

  /** A rendition's media playlist is stored: it may now be listed. */
  playlistStored(key: StreamKey, ended: boolean): void {
    const member = this.#memberOf.get(streamId(key));
    if (!member) return;
    const master = this.#masters.get(member.master)!;
    master.playlistStored(member.uri, ended);
    if (master.needsUpload(master.playlist()) && !this.#queued.has(member.master)) {
      this.#queued.add(member.master);
      this.#queue.enqueue(member.master, () => this.#publish(member.master, master));
    }
  }

  async #publish(id: string, master: MasterState): Promise<void> {
    this.#queued.delete(id);
    const model = master.playlist();
    if (!master.needsUpload(model)) return;
    const text = renderMasterPlaylist(model);
    const upload = {
      bucket: master.bucket,
      key: master.key,
      text,
      // Short, like the media playlists: a new rendition must reach players soon.
      maxAgeSeconds: 1,
    };
    await this.#queue.transfer('master playlist upload', { master: id, key: master.key }, () => this.#target.putPlaylist(upload), 1);
    master.published(model);
    this.#stored += 1;
    this.#logger.info('master playlist stored', {
      master: id,
      variants: model.variants.map((v) => `${v.uri} ${v.bandwidth}`).join(', '),
    });
    this.#onStored?.({ bucket: master.bucket, key: master.key, text });
  }
}
