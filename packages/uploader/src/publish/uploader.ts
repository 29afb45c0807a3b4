/**
 * The uploader's core: accepted index messages in; per stream, the segment stored, then the
 * playlist that lists it. Knows nothing of sockets or the process; gets its target, logger and
 * clock from the caller.
 */
import { EventEmitter } from 'node:events';
import { stat, unlink } from 'node:fs/promises';
import type { Logger } from '@hlsrelay/log';
import { parseMessage, ProtocolError, segmentFilePath, type IndexMessage } from '@hlsrelay/protocol';
import { archiveName, EventArchive } from '../state/event-archive';
import type { Journal, JournalContents } from '../state/journal';
import { renderMediaPlaylist } from '../playlist/media-playlist';
import { MasterPublisher, type MasterMembership } from './master-publisher';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../targets/retry-policy';
import { RetentionPlan, type RetentionSnapshot } from '../streams/retention';
import { StreamState, type ListedSegment, type StreamSnapshot } from '../streams/stream-state';
import { objectKey, streamId, streamKeyOf, type StreamKey } from '../streams/stream-key';
import { GaveUpTransferError, PermanentTransferError, type TransferTarget } from '../targets/transfer-target';
import { describe, UploadQueue } from '../targets/upload-queue';

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
  /** A segment upload still failing this long after its first attempt is given up and left out (`--give-up-after`); 0 never gives up. */
  giveUpAfterMs?: number;
  /** Milliseconds since some epoch; only differences are used. */
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Durable record of accepted messages and stream states (`--state-dir`); see journal.ts. */
  journal?: Journal;
  /** Where archive entries are kept durably (the state directory); in memory without it. */
  stateDir?: string;
  /** Remove each local segment file once it is stored and its playlist published. Default false. */
  removeLocal?: boolean;
  /** Where shipped segment bytes wait (ingest/payload-spool.ts): files there are always removed once their message is done. */
  spool?: { holds(file: string): boolean };
  /** Delete segments from storage once they left the playlist plus the RFC 8216 grace. Default false. */
  deleteAfter?: boolean;
  /** Archive playlist name pattern (`%s` = playlist name without .m3u8); no archive when undefined. */
  archive?: string;
  /** Wall-clock ms (retention deadlines survive restarts). Default Date.now. */
  wallClock?: () => number;
  /** How often due deletions are looked for, ms; 0 leaves it to expireDue() calls. Default 1000. */
  retentionIntervalMs?: number;
}

/** What the journal keeps of a stream. */
interface PersistedStream {
  key: StreamKey;
  snapshot: StreamSnapshot;
  retention: RetentionSnapshot;
  /** The master playlist it belongs to and what was measured of it (absent in older journals). */
  master?: MasterMembership;
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
/** A segment upload that kept failing until the give-up time: left out of the playlist. */
export interface SegmentGivenUp {
  stream: string;
  segment: number;
  key: string;
  /** The target's name, as MeteredTarget counts it. */
  target: string;
  /** The last attempt's error. */
  error: string;
}

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
  /** Journal ids of messages handled but not yet committed as done. */
  doneIds: number[];
  /** Local files of stored segments, removed once their playlist is committed (removeLocal). */
  storedFiles: string[];
  /** Spooled segment bytes of handled messages, removed once those are committed as done. */
  spooledFiles: string[];
  /** The state as of the last stored playlist: the only state the journal ever records. */
  committed: StreamSnapshot;
  retention: RetentionPlan;
  archive?: EventArchive;
  /** Segments appended since the last stored playlist, for the archive. */
  appended: ListedSegment[];
  /** A segment was left out (could not be stored): the next listed one follows a timestamp gap. */
  gapBeforeNext: boolean;
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
  readonly #journal: Journal | undefined;
  readonly #stateDir: string | undefined;
  readonly #removeLocal: boolean;
  readonly #spool: UploaderOptions['spool'];
  readonly #deleteAfter: boolean;
  readonly #archive: string | undefined;
  readonly #wallClock: () => number;
  readonly #retentionTimer: NodeJS.Timeout | undefined;
  #expiring: Promise<number> | undefined;

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
      giveUpAfterMs: options.giveUpAfterMs,
      now: this.#clock,
    });
    this.#masters = new MasterPublisher({
      target: this.#target,
      queue: this.#queue,
      logger: this.#logger,
      onStored: (stored) => this.emit('master-stored', stored),
    });
    this.#journal = options.journal;
    this.#stateDir = options.stateDir;
    this.#removeLocal = options.removeLocal ?? false;
    this.#spool = options.spool;
    this.#deleteAfter = options.deleteAfter ?? false;
    this.#archive = options.archive;
    this.#wallClock = options.wallClock ?? Date.now;
    if (this.#deleteAfter && this.#archive !== undefined) {
      throw new TypeError('deleteAfter and archive exclude each other: the archive lists every segment, so none could be deleted');
    }
    const interval = options.retentionIntervalMs ?? 1000;
    if (this.#deleteAfter && interval > 0) {
      this.#retentionTimer = setInterval(
        () => void this.expireDue().catch((err) => this.#logger.error('segment expiry failed; tried again next tick', { error: describe(err) })),
        interval,
      );
      this.#retentionTimer.unref();
    }
  }

  /**
   * Continues where an earlier run stopped (call before accepting anything): every stream's
   * playlist state as last published, then the messages it accepted but never finished, in
   * their order. Their segments go up again (a PUT of the same bytes to the same key) and the
   * playlists continue: the media sequence never goes back and nothing is listed twice.
   */
  restore(contents: JournalContents): void {
    for (const [id, value] of contents.streams) {
      const p = value as PersistedStream;
      for (const seg of p.snapshot.window) {
        if (seg.programDateTime !== undefined) seg.programDateTime = new Date(seg.programDateTime);
      }
      this.#streams.set(id, this.#newRecord(id, p.key, p.snapshot, p.retention));
      if (p.master) this.#masters.restore(p.key, p.master, p.snapshot.window.length > 0);
    }
    for (const { id: journalId, line, message: recorded } of contents.pending) {
      let message: IndexMessage;
      try {
        // A journal of an earlier version holds the line as sent.
        message = recorded ?? parseMessage(line ?? '');
      } catch (err) {
        this.#logger.error('journal holds a message this version cannot read; dropped', { line, error: (err as Error).message });
        continue;
      }
      this.#enqueue(message, 'journal', Promise.resolve(journalId));
    }
    if (contents.pending.length > 0 || contents.streams.size > 0) {
      this.#logger.info('continuing from the state directory', { streams: contents.streams.size, messagesToFinish: contents.pending.length });
    }
  }

  /**
   * Takes a parsed message into its stream's queue. Throws ProtocolError when it is refused
   * (the caller answers the peer); never throws for upload trouble, which is retried.
   */
  accept(message: IndexMessage, peer = 'local'): Promise<void> {
    if (this.#closing) throw new ProtocolError('uploader is shutting down; message not accepted');
    // Queued at once, so messages keep their order; acknowledged only once on disk.
    const durable = this.#journal ? this.#journal.accept(message) : Promise.resolve(undefined);
    this.#enqueue(message, peer, durable);
    return durable.then(() => undefined);
  }

  #enqueue(message: IndexMessage, peer: string, journalId: Promise<number | undefined>): void {
    const arrivedAt = this.#clock();
    const key = streamKeyOf(message);
    const id = streamId(key);
    let record = this.#streams.get(id);
    if (!record) {
      record = this.#newRecord(id, key);
      this.#streams.set(id, record);
      this.#logger.info('new stream', { stream: id, peer });
    }
    this.#stats.messages += 1;
    this.emit('message-accepted', { stream: id, peer, segment: message.lastSegment, arrivedAt } satisfies MessageAccepted);
    const r = record;
    this.#queue.enqueue(id, async () => {
      // A message the journal could not record is not acknowledged; it is still uploaded (the
      // segmenter sends it again, and the repeat is recognised).
      const jid = await journalId.catch(() => undefined);
      await this.#handle(id, r, message, arrivedAt, peer, jid);
    });
  }

  #newRecord(id: string, key: StreamKey, snapshot?: StreamSnapshot, retention?: RetentionSnapshot): StreamRecord {
    const state = new StreamState(key, { window: this.#window }, snapshot);
    return {
      state,
      dirty: false,
      arrivals: [],
      doneIds: [],
      storedFiles: [],
      spooledFiles: [],
      committed: state.snapshot(),
      retention: new RetentionPlan(retention),
      appended: [],
      gapBeforeNext: false,
      archive: this.#archive === undefined ? undefined : new EventArchive(id, this.#stateDir),
    };
  }

  /**
   * Deletes from storage the segments whose grace after leaving the playlist has passed
   * (deleteAfter). Runs on a timer; tests call it with an injected wall clock. Returns how many.
   */
  expireDue(): Promise<number> {
    this.#expiring ??= this.#expire().finally(() => (this.#expiring = undefined));
    return this.#expiring;
  }

  async #expire(): Promise<number> {
    let deleted = 0;
    const now = this.#wallClock();
    for (const [id, record] of this.#streams) {
      const due = record.retention.due(now);
      if (due.length === 0) continue;
      for (const r of due) {
        try {
          await this.#queue.transfer('segment delete', { stream: id, key: r.key }, () => this.#target.delete(r.bucket, r.key));
          deleted += 1;
          this.#logger.debug('segment deleted after leaving the playlist', { stream: id, key: r.key });
        } catch (err) {
          if (!(err instanceof PermanentTransferError)) throw err;
          // Refused for good (a key the policy no longer grants, every mirror refusing): the
          // object stays; retrying every tick would only repeat the refusal.
          this.#logger.error('segment could not be deleted after leaving the playlist; it stays in storage', { stream: id, key: r.key, error: describe(err) });
        }
        record.retention.deleted(r);
      }
      await this.#journal?.commit(id, this.#persisted(record), []);
    }
    return deleted;
  }

  #persisted(record: StreamRecord): PersistedStream {
    const master = this.#masters.snapshot(record.state.key);
    return { key: record.state.key, snapshot: record.committed, retention: record.retention.snapshot(), ...(master ? { master } : {}) };
  }

  /** Resolves once everything accepted so far is uploaded. */
  onIdle(): Promise<void> {
    return this.#queue.onIdle();
  }

  /** Refuses new messages and resolves once the queued ones are uploaded. Does not close the target. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#queue.onIdle();
    clearInterval(this.#retentionTimer);
    await this.#expiring;
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

  async #handle(id: string, record: StreamRecord, m: IndexMessage, arrivedAt: number, peer: string, journalId?: number): Promise<void> {
    const { state } = record;
    const disposition = state.classify(m);
    const log = { stream: id, segment: m.lastSegment, peer };
    if (journalId !== undefined) record.doneIds.push(journalId);
    // Stored, skipped or a repeat: once this message is done its shipped bytes are not needed.
    const spooled = segmentFilePath(m);
    if (this.#spool?.holds(spooled)) record.spooledFiles.push(spooled);
    if (disposition.kind === 'new') {
      const upload = { bucket: m.bucketName, key: objectKey(m.keyPrefix, state.objectName(m)), file: spooled };
      try {
        await checkAnnouncedSize(upload.file, m.ext.size);
        await this.#queue.transfer('segment upload', { ...log, key: upload.key }, () => this.#target.putSegment(upload), 0, true);
        record.storedFiles.push(upload.file);
        this.#stats.segmentsStored += 1;
        this.#masters.segmentStored(m);
        this.emit('segment-stored', { stream: id, segment: m.lastSegment, key: upload.key, storedAt: this.#clock() } satisfies SegmentStored);
        const listed = record.gapBeforeNext ? { ...m, ext: { ...m.ext, discontinuity: true } } : m;
        record.gapBeforeNext = false;
        for (const warning of state.append(listed)) this.#logger.warn(warning, log);
        if (record.archive) record.appended.push(state.newest!);
        this.#logger.debug('segment stored', { ...log, key: upload.key });
      } catch (err) {
        if (!(err instanceof PermanentTransferError)) throw err;
        // Listing it would send players to a missing object: leave it out and say so loudly.
        this.#stats.segmentsSkipped += 1;
        record.gapBeforeNext = true;
        this.#logger.error('segment cannot be uploaded; not listed', { ...log, key: upload.key, error: describe(err) });
        if (err instanceof GaveUpTransferError) {
          this.emit('segment-given-up', { stream: id, segment: m.lastSegment, key: upload.key, target: this.#target.name, error: describe(err.lastError) } satisfies SegmentGivenUp);
        }
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
    else if (!record.dirty && record.doneIds.length > 0) await this.#commit(id, record);
  }

  /**
   * The playlist is stored: the journal records the stream's new state and its finished
   * messages in one record; only then may local files go (a replay would need them).
   */
  async #commit(id: string, record: StreamRecord): Promise<void> {
    record.committed = record.state.snapshot();
    const left = record.state.takeLeft();
    if (this.#deleteAfter) {
      const { keyPrefix, bucket } = record.state.key;
      record.retention.published(record.state.listed, left, this.#wallClock(), (name) => ({ bucket, key: objectKey(keyPrefix, name) }));
    }
    const done = record.doneIds;
    const files = record.storedFiles;
    const spooled = record.spooledFiles;
    record.doneIds = [];
    record.storedFiles = [];
    record.spooledFiles = [];
    await this.#journal?.commit(id, this.#persisted(record), done);
    if (this.#removeLocal || spooled.length > 0) {
      for (const file of new Set([...(this.#removeLocal ? files : []), ...spooled])) {
        const remove = () =>
          unlink(file).catch((err: NodeJS.ErrnoException) => {
            if (err.code !== 'ENOENT') this.#logger.warn('cannot remove a stored segment file', { stream: id, file, error: err.message });
          });
        // A lagging mirror still reads the file: it goes once every copy is stored, without
        // holding up this stream.
        const everyCopy = this.#target.allStored?.(file);
        if (everyCopy) void everyCopy.then(remove);
        else await remove();
      }
    }
  }

  /** Publishes the archive playlist after the live one, with the segments that one listed first. */
  async #publishArchive(id: string, record: StreamRecord): Promise<void> {
    const { state, archive } = record;
    if (!archive || this.#archive === undefined) return;
    archive.add(record.appended);
    record.appended = [];
    if (archive.length === 0) return;
    const model = archive.model(state.targetDuration ?? 1, state.ended);
    const upload = {
      bucket: state.key.bucket,
      key: objectKey(state.key.keyPrefix, archiveName(this.#archive, state.key.index)),
      text: renderMediaPlaylist(model),
      maxAgeSeconds: Math.floor(model.targetDuration / 2),
    };
    await this.#queue.transfer('archive playlist upload', { stream: id, key: upload.key }, () => this.#target.putPlaylist(upload), 1);
  }

  async #publish(id: string, record: StreamRecord): Promise<void> {
    const { state } = record;
    const model = state.playlist();
    if (model.segments.length === 0) {
      record.dirty = false;
      record.arrivals = [];
      await this.#commit(id, record);
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
    try {
      await this.#queue.transfer('playlist upload', { stream: id, key: upload.key }, () => this.#target.putPlaylist(upload), 1);
    } catch (err) {
      if (!(err instanceof PermanentTransferError)) throw err;
      // Nothing was published: the next message of the stream tries again with the newest state.
      record.dirty = true;
      record.arrivals = [...arrivals, ...record.arrivals];
      this.#logger.error('playlist refused; published with the next segment', { stream: id, key: upload.key, error: describe(err) });
      return;
    }
    this.#stats.playlistsStored += 1;
    await this.#publishArchive(id, record);
    await this.#commit(id, record);
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

/**
 * A segment file whose size differs from what its message announced (cut short by a crash of
 * the transcode machine, or rewritten since) is never listed.
 */
async function checkAnnouncedSize(file: string, announced: number | undefined): Promise<void> {
  if (announced === undefined) return;
  const actual = await stat(file).then((st) => st.size, () => undefined);
  if (actual !== undefined && actual !== announced) {
    throw new PermanentTransferError(`${file} has ${actual} bytes, its message announced ${announced}`);
  }
}
