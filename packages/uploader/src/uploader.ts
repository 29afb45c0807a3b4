/**
 * The uploader's core: accepted index messages in; per stream, the segment stored, then the
 * playlist that lists it. Knows nothing of sockets or the process; gets its target, logger and
 * clock from the caller.
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { Logger } from '@hlsrelay/log';
import { ProtocolError, segmentFileName, type IndexMessage } from '@hlsrelay/protocol';
import { renderMediaPlaylist } from './media-playlist';
import { MasterPublisher } from './master-publisher';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-policy';
import { StreamState } from './stream-state';
import { objectKey, streamId, streamKeyOf, type StreamKey } from './stream-key';
import { PermanentTransferError, type TransferTarget } from './transfer-target';
import { describe, UploadQueue } from './upload-queue';

export const DEFAULT_WINDOW = 5;
export const DEFAULT_CONCURRENCY = 64;

export interface UploaderOptions {
  target: TransferTarget;
  logger: Logger;
  /** Segments per playlist (the original's 5). */
  window?: number;
  /** Transfers in flight at once, all streams together. */
  concurrency?: number;
  retry?: RetryPolicy;
  /** Milliseconds since some epoch; only differences are used. */
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** Emitted as `playlist-stored` once a playlist PUT succeeded (readers see it from now on). */
export interface PlaylistStored {
  stream: string;
  key: StreamKey;
  mediaSequence: number;
  lastSegment: number | undefined;
  ended: boolean;
  /** Clock readings at which the messages this playlist publishes for the first time arrived. */
  arrivals: number[];
  storedAt: number;
}

/** Emitted as `message-accepted` for every message taken into a stream's queue. */
export interface MessageAccepted {
  stream: string;
  peer: string;
  segment: number;
  arrivedAt: number;
}

/** Emitted as `segment-stored` once a segment is in the store (before the playlist lists it). */
export interface SegmentStored {
  stream: string;
  segment: number;
  key: string;
  storedAt: number;
}

/** One stream as `/status` shows it. */
export interface StreamSummary {
  stream: string;
  bucket: string;
  keyPrefix: string;
  index: string;
  lastSegment: number | undefined;
  mediaSequence: number;
  ended: boolean;
  /** Messages of this stream waiting behind the one being handled. */
  queued: number;
}

export interface UploaderStats {
  messages: number;
  segmentsStored: number;
  segmentsSkipped: number;
  playlistsStored: number;
  retries: number;
  queued: number;
  streams: number;
}

interface StreamRecord {
  state: StreamState;
  /** The stored playlist is older than the state. */
  dirty: boolean;
  /** Arrival times of messages not yet published by a playlist. */
  arrivals: number[];
}

export class Uploader extends EventEmitter {
  readonly #target: TransferTarget;
  readonly #logger: Logger;
  readonly #window: number;
  readonly #clock: () => number;
  readonly #queue: UploadQueue;
  readonly #streams = new Map<string, StreamRecord>();
  /** Master playlists named by renditions (`master=`), measured and uploaded beside them. */
  readonly #masters: MasterPublisher;
  #closing = false;
  #stats = { messages: 0, segmentsStored: 0, segmentsSkipped: 0, playlistsStored: 0 };

  constructor(options: UploaderOptions) {
    super();
    this.#target = options.target;
    this.#logger = options.logger;
    this.#window = options.window ?? DEFAULT_WINDOW;
    if (!Number.isInteger(this.#window) || this.#window < 1) {
      throw new TypeError(`window must be an integer ≥ 1, got ${options.window}`);
    }
    this.#clock = options.clock ?? (() => performance.now());
    this.#queue = new UploadQueue({
      concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
      retry: options.retry ?? DEFAULT_RETRY_POLICY,
      logger: options.logger,
      sleep: options.sleep,
      random: options.random,
    });
    this.#masters = new MasterPublisher({
      target: this.#target,
      queue: this.#queue,
      logger: this.#logger,
      onStored: (stored) => this.emit('master-stored', stored),
    });
  }

  /**
   * Takes a parsed message into its stream's queue. Throws ProtocolError when it is refused
   * (the caller answers the peer); never throws for upload trouble, which is retried.
   */
  accept(message: IndexMessage, peer = 'local'): void {
    if (this.#closing) throw new ProtocolError('uploader is shutting down; message not accepted');
    const arrivedAt = this.#clock();
    const key = streamKeyOf(message);
    const id = streamId(key);
    let record = this.#streams.get(id);
    if (!record) {
      record = { state: new StreamState(key, { window: this.#window }), dirty: false, arrivals: [] };
      this.#streams.set(id, record);
      this.#logger.info('new stream', { stream: id, peer });
    }
    this.#stats.messages += 1;
    this.emit('message-accepted', { stream: id, peer, segment: message.lastSegment, arrivedAt } satisfies MessageAccepted);
    const r = record;
    this.#queue.enqueue(id, () => this.#handle(id, r, message, arrivedAt, peer));
  }

  /** Resolves once everything accepted so far is uploaded. */
  onIdle(): Promise<void> {
    return this.#queue.onIdle();
  }

  /** Refuses new messages and resolves once the queued ones are uploaded. Does not close the target. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#queue.onIdle();
  }

  /** Every stream seen since start, in order of first message. */
  streams(): StreamSummary[] {
    return [...this.#streams].map(([stream, { state }]) => ({
      stream,
      bucket: state.key.bucket,
      keyPrefix: state.key.keyPrefix,
      index: state.key.index,
      lastSegment: state.lastSegment,
      mediaSequence: state.mediaSequence,
      ended: state.ended,
      queued: this.#queue.waiting(stream),
    }));
  }

  get stats(): UploaderStats {
    return { ...this.#stats, retries: this.#queue.retries, queued: this.#queue.size, streams: this.#streams.size };
  }

  async #handle(id: string, record: StreamRecord, m: IndexMessage, arrivedAt: number, peer: string): Promise<void> {
    const { state } = record;
    const disposition = state.classify(m);
    const log = { stream: id, segment: m.lastSegment, peer };
    if (disposition.kind === 'new') {
      const fileName = segmentFileName(m.outputPrefix, m.lastSegment);
      const upload = { bucket: m.bucketName, key: objectKey(m.keyPrefix, fileName), file: path.join(m.outputDirectory, fileName) };
      try {
        await this.#queue.transfer('segment upload', { ...log, key: upload.key }, () => this.#target.putSegment(upload));
        this.#stats.segmentsStored += 1;
        this.#masters.segmentStored(m);
        this.emit('segment-stored', { stream: id, segment: m.lastSegment, key: upload.key, storedAt: this.#clock() } satisfies SegmentStored);
        for (const warning of state.append(m)) this.#logger.warn(warning, log);
        this.#logger.debug('segment stored', { ...log, key: upload.key });
      } catch (err) {
        if (!(err instanceof PermanentTransferError)) throw err;
        // Listing it would send players to a missing object: leave it out and say so loudly.
        this.#stats.segmentsSkipped += 1;
        this.#logger.error('segment cannot be uploaded; not listed', { ...log, error: describe(err) });
        if (m.end) state.end();
      }
      record.dirty = true;
      record.arrivals.push(arrivedAt);
    } else if (disposition.endsStream) {
      state.end();
      record.dirty = true;
      record.arrivals.push(arrivedAt);
    } else {
      this.#logger.debug('repeated message for a listed segment; nothing to do', log);
    }
    // Later messages of this stream are already queued: their segments go up first and one
    // playlist PUT then publishes them all — unless that would hold back a whole window.
    const deferred = this.#queue.waiting(id) > 0 && record.arrivals.length < this.#window;
    if (record.dirty && !deferred) await this.#publish(id, record);
  }

  async #publish(id: string, record: StreamRecord): Promise<void> {
    const { state } = record;
    const model = state.playlist();
    if (model.segments.length === 0) {
      record.dirty = false;
      record.arrivals = [];
      return;
    }
    const upload = {
      bucket: state.key.bucket,
      key: objectKey(state.key.keyPrefix, state.key.index),
      text: renderMediaPlaylist(model),
      // RFC 8216 §6.2.2 / Apple: caches keep a live playlist for at most half a target duration.
      maxAgeSeconds: Math.floor(model.targetDuration / 2),
    };
    const arrivals = record.arrivals;
    record.arrivals = [];
    record.dirty = false;
    // A playlist PUT is small and the last step before viewers see the segment: it goes ahead
    // of segment uploads waiting for a slot.
    await this.#queue.transfer('playlist upload', { stream: id, key: upload.key }, () => this.#target.putPlaylist(upload), 1);
    this.#stats.playlistsStored += 1;
    const event: PlaylistStored = {
      stream: id,
      key: state.key,
      mediaSequence: model.mediaSequence,
      lastSegment: state.lastSegment,
      ended: model.endList,
      arrivals,
      storedAt: this.#clock(),
    };
    this.#logger.debug('playlist stored', { stream: id, mediaSequence: model.mediaSequence, ended: model.endList });
    if (model.endList) this.#logger.info('stream ended', { stream: id, lastSegment: state.lastSegment });
    this.emit('playlist-stored', event);
    this.#masters.playlistStored(state.key, model.endList);
  }
}
