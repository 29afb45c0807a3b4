/**
 * One stream, from accepted message to published playlist: the only owner of the stream's
 * state — its window and sequence (StreamState), what the journal last recorded of it, its
 * retention plan, its archive, its lane in the upload queue and what waits to be published or
 * removed. The registry (uploader.ts) finds or creates publishers; everything below happens here.
 *
 * Per message, in its lane: the segment is stored, then (see shouldPublishNow) the playlist that
 * lists it, then the journal records the new state together with the messages it finishes, and
 * only then may local files go (a replay would need them).
 */
import { createHash } from 'node:crypto';
import { readFile, stat, unlink } from 'node:fs/promises';
import type { Logger } from '@hlsrelay/log';
import { initFilePath, segmentFilePath, type IndexMessage } from '@hlsrelay/protocol';
import { playlistMaxAgeSeconds, renderMediaPlaylist } from '../playlist/media-playlist';
import { archiveName, EventArchive } from '../state/event-archive';
import type { Journal } from '../state/journal';
import { RetentionPlan, type RetentionSnapshot } from '../streams/retention';
import { objectKey, streamId, type StreamKey } from '../streams/stream-key';
import { LATE_GAP_MAX, LATE_HORIZON, StreamState, type ListedSegment, type StreamSnapshot } from '../streams/stream-state';
import { GaveUpTransferError, PermanentTransferError, type SegmentUpload, type TransferTarget } from '../targets/transfer-target';
import { describe, type UploadQueue } from '../targets/upload-queue';
import type { MasterMembership, MasterPublisher } from './master-publisher';
import type { MasterTimelines } from './master-timelines';
import { keepEndedRun } from './ended-run';
import { shouldPublishNow } from './publish-decision';
import { encryptFile, encryptToMemory } from './segment-encryption';
import { encrypts, StreamEncryption, type ActiveKey, type EncryptionContext, type EncryptionSnapshot } from './stream-encryption';
import { readStoredStream } from './stored-stream';
import type { MessageAccepted, PlaylistStored, PublishCounters, SegmentGivenUp, SegmentStored, StreamSummary } from './uploader-events';

/** What the journal keeps of a stream. */
export interface PersistedStream {
  key: StreamKey;
  snapshot: StreamSnapshot;
  retention: RetentionSnapshot;
  /** The master playlist it belongs to and what was measured of it (absent in older journals). */
  master?: MasterMembership;
  /** Encrypted streams: the run and key in use (stream-encryption.ts); never key bytes. */
  encryption?: EncryptionSnapshot;
}

/** What every stream shares: set up once by the registry. */
export interface PublisherContext {
  target: TransferTarget;
  logger: Logger;
  queue: UploadQueue;
  masters: MasterPublisher;
  /** Program date-times of rendition segments, on one timeline per master. */
  timelines: MasterTimelines;
  journal: Journal | undefined;
  window: number;
  clock: () => number;
  wallClock: () => number;
  removeLocal: boolean;
  deleteAfter: boolean;
  /** Archive playlist name pattern; no archive when undefined. */
  archive: string | undefined;
  stateDir: string | undefined;
  spool: { holds(file: string): boolean } | undefined;
  counters: PublishCounters;
  emit: (event: string, payload: unknown) => void;
  /** `--encrypt`: every stream's segments are stored encrypted; undefined stores them clear. */
  encryption: EncryptionContext | undefined;
  /** Longest a one-shot message that skips numbers waits for them (StreamPublisher.enqueue); 0 never holds. */
  reorderHoldMs: number;
  /** Messages held so, all streams together: they are queued too (Uploader.queuedMessages). */
  held: { messages: number };
}

/** A message on its way to the stream's lane. */
interface Queued {
  message: IndexMessage;
  peer: string;
  journalId: Promise<number | undefined>;
  arrivedAt: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class StreamPublisher {
  readonly id: string;
  readonly #ctx: PublisherContext;
  #state: StreamState;
  /** A stream this uploader did not know: on its first message, storage is asked where it stood. */
  #unknown: boolean;
  /** The stored playlist is older than the state. */
  #dirty = false;
  /** Arrival times of messages not yet published by a playlist. */
  #arrivals: number[] = [];
  /** Journal ids of messages handled but not yet committed as done. */
  #doneIds: number[] = [];
  /** Local files of stored segments, removed once their playlist is committed (removeLocal). */
  #storedFiles: string[] = [];
  /** Spooled segment bytes of handled messages, removed once those are committed as done. */
  #spooledFiles: string[] = [];
  /**
   * fMP4: the local init file the last stored segment needed. When a later segment needs another,
   * no message names this one again (the segmenter gives every new configuration a new file), so
   * it goes like a stored segment file (removeLocal, or from the spool). The newest stays: a
   * restarted segmenter with the same configuration reuses it.
   */
  #initFile: string | undefined;
  /** The state as of the last stored playlist: the only state the journal ever records. */
  #committed: StreamSnapshot;
  readonly #retention: RetentionPlan;
  readonly #archive: EventArchive | undefined;
  /** Segments appended since the last stored playlist, for the archive. */
  #appended: ListedSegment[] = [];
  /** A segment was left out (could not be stored): the next listed one follows a timestamp gap. */
  #gapBeforeNext = false;
  /** Encrypted streams: their keys; the snapshot as of the last journal commit. */
  readonly #encryption: StreamEncryption | undefined;
  #committedEncryption: EncryptionSnapshot | undefined;
  /** The highest number handed to the lane; undefined until the first. */
  #highestQueued: number | undefined;
  /** One-shot messages waiting for the lower numbers they skipped, and the timer that lets them go. */
  #held: Queued[] = [];
  #holdTimer: NodeJS.Timeout | undefined;
  /** Numbers the hold gave up waiting for: one of them arriving afterwards is late, not a restart. */
  #skipped = new Set<number>();
  #heldEmpty: Array<() => void> = [];

  /** A new stream, or (with `persisted`) one continuing from the journal. */
  constructor(ctx: PublisherContext, key: StreamKey, persisted?: PersistedStream) {
    this.#ctx = ctx;
    this.id = streamId(key);
    this.#state = new StreamState(key, { window: ctx.window }, persisted?.snapshot);
    this.#unknown = persisted === undefined;
    this.#committed = this.#state.snapshot();
    this.#retention = new RetentionPlan(persisted?.retention);
    this.#archive = ctx.archive === undefined ? undefined : new EventArchive(this.id, ctx.stateDir);
    this.#encryption = ctx.encryption && new StreamEncryption(ctx.encryption, ctx, this.id, key, persisted?.encryption);
    this.#committedEncryption = this.#encryption?.snapshot();
    if (persisted?.master) ctx.masters.restore(key, persisted.master, persisted.snapshot.window.length > 0);
    this.#highestQueued = persisted?.snapshot.lastSegment;
  }

  /**
   * Queues `message` behind the stream's earlier ones; `journalId` settles once it is on disk.
   * The promise returned settles once the message is handled: its segment stored (or left out
   * and said so), which is when an uploader without a journal may acknowledge it.
   *
   * A `oneShot` message (the 2009 form: a connection per message) can be overtaken by the next
   * one on a busy machine. One that skips numbers waits up to min(reorderHoldMs, half a segment)
   * for them, so segments are listed in their order; a session keeps its order on one connection.
   */
  enqueue(message: IndexMessage, peer: string, journalId: Promise<number | undefined>, oneShot = false): Promise<void> {
    const arrivedAt = this.#ctx.clock();
    this.#ctx.counters.messages += 1;
    this.#ctx.emit('message-accepted', { stream: this.id, peer, segment: message.lastSegment, arrivedAt } satisfies MessageAccepted);
    return new Promise<void>((resolve, reject) => {
      const queued = { message, peer, journalId, arrivedAt, resolve, reject };
      if (oneShot && this.#skipsNumbers(message)) this.#hold(queued);
      else {
        // A restart: what is held belongs to the run before it, and goes first.
        if (this.#held.length > 0 && this.#restarts(message)) this.#release(true);
        this.#toLane(queued);
        this.#release(false);
      }
    });
  }

  /** Lets every held message go to the lane now, in number order (on shutdown). */
  flushHeld(): void {
    this.#release(true);
  }

  /** Resolves once no message is held. */
  held(): Promise<void> {
    return this.#held.length === 0 ? Promise.resolve() : new Promise((resolve) => this.#heldEmpty.push(resolve));
  }

  #skipsNumbers(m: IndexMessage): boolean {
    const highest = this.#highestQueued;
    if (this.#ctx.reorderHoldMs <= 0 || highest === undefined) return false;
    return m.lastSegment > highest + 1;
  }

  /** A number below the highest queued, and not one the hold gave up on: the segmenter counts again (the same number is a repeat). */
  #restarts(m: IndexMessage): boolean {
    const highest = this.#highestQueued;
    return highest !== undefined && m.lastSegment < highest && !this.#skipped.has(m.lastSegment);
  }

  #hold(q: Queued): void {
    this.#held.push(q);
    this.#ctx.held.messages += 1;
    this.#held.sort((a, b) => a.message.lastSegment - b.message.lastSegment);
    if (this.#holdTimer) return;
    const ms = Math.min(this.#ctx.reorderHoldMs, (q.message.segmentDuration * 1000) / 2);
    this.#holdTimer = setTimeout(() => this.#release(true), ms);
    this.#holdTimer.unref?.();
  }

  /** Held messages whose lower numbers all went to the lane go too; `all` lets every one go (the hold ran out). */
  #release(all: boolean): void {
    while (this.#held.length > 0) {
      const next = this.#held[0].message.lastSegment;
      const highest = this.#highestQueued!;
      if (!all && next > highest + 1) break;
      // Numbers given up on, as StreamState.gaps records them: a longer run is a jump, not a reorder.
      if (next - highest - 1 <= LATE_GAP_MAX) for (let n = highest + 1; n < next; n++) this.#skipped.add(n);
      this.#ctx.held.messages -= 1;
      this.#toLane(this.#held.shift()!);
    }
    if (this.#held.length > 0) return;
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    for (const wake of this.#heldEmpty.splice(0)) wake();
  }

  #toLane(q: Queued): void {
    const n = q.message.lastSegment;
    const highest = this.#highestQueued;
    // Lower and not one the hold gave up on: the segmenter restarted, and counts from here.
    if (highest === undefined || n > highest || this.#restarts(q.message)) this.#highestQueued = n;
    for (const s of this.#skipped) if (s < this.#highestQueued! - LATE_HORIZON) this.#skipped.delete(s);
    this.#ctx.queue.enqueue(this.id, async () => {
      // A message the journal could not record is not acknowledged; it is still uploaded (the
      // segmenter sends it again, and the repeat is recognised).
      const jid = await q.journalId.catch(() => undefined);
      try {
        await this.#handle(q.message, q.arrivedAt, q.peer, jid);
        q.resolve();
      } catch (err) {
        q.reject(err as Error);
        throw err;
      }
    });
  }

  summary(): StreamSummary {
    const s = this.#state;
    return {
      stream: this.id,
      bucket: s.key.bucket,
      keyPrefix: s.key.keyPrefix,
      index: s.key.index,
      lastSegment: s.lastSegment,
      mediaSequence: s.mediaSequence,
      ended: s.ended,
      queued: this.#ctx.queue.waiting(this.id) + this.#held.length,
    };
  }

  /** Deletes the segments whose grace after leaving the playlist has passed (deleteAfter). Returns how many. */
  async expire(now: number): Promise<number> {
    const due = this.#retention.due(now);
    if (due.length === 0) return 0;
    let deleted = 0;
    for (const r of due) {
      try {
        await this.#ctx.queue.transfer('segment delete', { stream: this.id, key: r.key }, () => this.#ctx.target.delete(r.bucket, r.key));
        deleted += 1;
        this.#ctx.logger.debug('segment deleted after leaving the playlist', { stream: this.id, key: r.key });
      } catch (err) {
        if (!(err instanceof PermanentTransferError)) throw err;
        // Refused for good (a key the policy no longer grants, every mirror refusing): the
        // object stays; retrying every tick would only repeat the refusal.
        this.#ctx.logger.error('segment could not be deleted after leaving the playlist; it stays in storage', { stream: this.id, key: r.key, error: describe(err) });
      }
      this.#retention.deleted(r);
    }
    await this.#ctx.journal?.commit(this.id, this.#persisted(), []);
    return deleted;
  }

  #persisted(): PersistedStream {
    const key = this.#state.key;
    const master = this.#ctx.masters.snapshot(key);
    const encryption = this.#committedEncryption;
    return { key, snapshot: this.#committed, retention: this.#retention.snapshot(), ...(master ? { master } : {}), ...(encryption ? { encryption } : {}) };
  }

  async #handle(m: IndexMessage, arrivedAt: number, peer: string, journalId?: number): Promise<void> {
    if (this.#unknown) await this.#recover(m);
    const { logger } = this.#ctx;
    const state = this.#state;
    const disposition = state.classify(m);
    const log = { stream: this.id, segment: m.lastSegment, peer };
    if (journalId !== undefined) this.#doneIds.push(journalId);
    // Stored, skipped or a repeat: once this message is done its shipped bytes are not needed.
    const file = segmentFilePath(m);
    if (this.#ctx.spool?.holds(file)) this.#spooledFiles.push(file);
    if (disposition.kind === 'new') {
      const upload = { bucket: m.bucketName, key: objectKey(m.keyPrefix, state.objectName(m)), file };
      try {
        // The ended playlist is kept before anything of the new run can replace it; if it cannot be,
        // this segment is left out like one that cannot be stored, and the next one tries again.
        if (state.ended) await this.#keepEndedRun(log);
        await checkAnnouncedSize(upload.file, m.ext.size);
        // Encrypted: the key is on disk and stored before anything encrypted with it.
        const active = encrypts(this.#ctx.encryption?.settings, m) ? await this.#encryption!.next(state.sequenceOf(m), m.ext.format === 'fmp4', log) : undefined;
        // fMP4: the init section first — stored before any playlist can map it.
        const initName = await this.#storeSegment(m, upload, log, active);
        this.#ctx.masters.segmentStored(m);
        const listed = this.#dated(this.#gapBeforeNext ? { ...m, ext: { ...m.ext, discontinuity: true } } : m, disposition.restart);
        this.#gapBeforeNext = false;
        for (const warning of state.append(listed, initName, active && { name: active.name, tag: active.tag })) logger.warn(warning, log);
        this.#encryption?.used();
        if (this.#archive) this.#appended.push(state.newest!);
        logger.debug('segment stored', { ...log, key: upload.key });
      } catch (err) {
        // Listing it would send players to a missing object: leave it out and say so loudly.
        this.#notStored(err, m, upload.key, log);
        this.#gapBeforeNext = true;
        if (m.end) state.end();
      }
      this.#dirty = true;
      this.#arrivals.push(arrivedAt);
    } else if (disposition.kind === 'late') {
      await this.#storeLate(m, log, file);
    } else if (disposition.endsStream) {
      state.end();
      this.#dirty = true;
      this.#arrivals.push(arrivedAt);
    } else {
      logger.debug('repeated message for a listed segment; nothing to do', log);
    }
    if (this.#dirty && shouldPublishNow(this.#ctx.queue.waiting(this.id), this.#arrivals.length, this.#ctx.window)) await this.#publish();
    else if (!this.#dirty && this.#doneIds.length > 0) await this.#commit();
  }

  /**
   * A segment whose message came after a later one was listed: listing it now would put it out
   * of order (players would jump back), so it is stored under its own name, unlisted, and said so.
   * Encrypted, it is not stored: its IV is its media sequence number, and it has none.
   */
  async #storeLate(m: IndexMessage, log: Record<string, unknown>, file: string): Promise<void> {
    const { logger, counters } = this.#ctx;
    const state = this.#state;
    const context = { ...log, listedLast: state.lastSegment };
    if (encrypts(this.#ctx.encryption?.settings, m)) {
      counters.segmentsSkipped += 1;
      logger.error(`segment ${m.lastSegment} arrived after segment ${state.lastSegment} was listed; an encrypted stream stores segments only in order: not stored`, context);
      return;
    }
    const upload = { bucket: m.bucketName, key: objectKey(m.keyPrefix, state.objectName(m)), file };
    try {
      await checkAnnouncedSize(upload.file, m.ext.size);
      state.lateStored(m, await this.#storeSegment(m, upload, log, undefined));
      logger.warn(`segment ${m.lastSegment} arrived after segment ${state.lastSegment} was listed: stored as ${upload.key}, not listed`, context);
    } catch (err) {
      this.#notStored(err, m, upload.key, context);
    }
    // Its local files, journal record and retention wait for a commit, as a listed segment's do.
    if (!this.#dirty) await this.#commit();
  }

  /** Stores the segment `m` announces, its init first (fMP4), and counts it; returns the init's object name. */
  async #storeSegment(m: IndexMessage, upload: SegmentUpload, log: Record<string, unknown>, active: ActiveKey | undefined): Promise<string | undefined> {
    const initName = await this.#storeInit(m, log, active);
    await this.#store('segment upload', upload, log, active);
    this.#storedFiles.push(upload.file);
    if (initName !== undefined) this.#initInUse(initFilePath(m)!);
    this.#ctx.counters.segmentsStored += 1;
    this.#ctx.emit('segment-stored', { stream: this.id, segment: m.lastSegment, key: upload.key, storedAt: this.#ctx.clock() } satisfies SegmentStored);
    return initName;
  }

  /** A segment that could not be stored for good: counted and said at error (anything else is thrown on, to be retried). */
  #notStored(err: unknown, m: IndexMessage, key: string, log: Record<string, unknown>): void {
    if (!(err instanceof PermanentTransferError)) throw err;
    this.#ctx.counters.segmentsSkipped += 1;
    this.#ctx.logger.error('segment cannot be uploaded; not listed', { ...log, key, error: describe(err) });
    if (err instanceof GaveUpTransferError) {
      const event: SegmentGivenUp = { stream: this.id, segment: m.lastSegment, key, target: this.#ctx.target.name, error: describe(err.lastError) };
      this.#ctx.emit('segment-given-up', event);
    }
  }

  /** A new run of an ended stream: the ended playlist is kept as its own object before the URL goes live again. */
  async #keepEndedRun(log: Record<string, unknown>): Promise<void> {
    const kept = await keepEndedRun(this.#ctx, this.id, this.#state, this.#archive);
    if (!kept) return;
    this.#ctx.logger.info('the stream ended before: this run starts a fresh live playlist at the same URL; the ended playlist is kept, unchanged, as its own object', {
      ...log,
      kept: kept.key,
      ...(kept.archiveKey !== undefined ? { keptArchive: kept.archiveKey } : {}),
      mediaSequence: this.#state.mediaSequence + this.#state.listed.length,
    });
  }

  /** `m` with the program date-time it is listed with: on its master's timeline, if it has one. */
  #dated(m: IndexMessage, restart: boolean): IndexMessage {
    const programDateTime = this.#ctx.timelines.programDateTime(m, this.id, restart || m.ext.discontinuity === true);
    return programDateTime === m.ext.programDateTime ? m : { ...m, ext: { ...m.ext, programDateTime } };
  }

  /**
   * Uploads the init section `m` names unless the stream stored these bytes already (the same
   * init serves every segment until the codec changes); returns its object name. A new init never
   * goes under a name the stream used before (StreamState.initPlacement).
   */
  async #storeInit(m: IndexMessage, log: Record<string, unknown>, active?: ActiveKey): Promise<string | undefined> {
    const file = initFilePath(m);
    if (m.ext.format !== 'fmp4' || file === undefined) return undefined;
    const bytes = await readFile(file).catch((err: NodeJS.ErrnoException) => {
      throw new PermanentTransferError(`cannot read init section ${file}: ${err.code ?? err.message}`);
    });
    // Encrypted, the init is stored once per key (its ciphertext differs): the key name is part of its identity.
    const digest = createHash('sha256').update(bytes);
    if (active) digest.update(`\0${active.name}`);
    const placement = this.#state.initPlacement(m, digest.digest('hex'));
    if (!placement.stored) {
      const upload = { bucket: m.bucketName, key: objectKey(m.keyPrefix, placement.name), file };
      await this.#store('init upload', upload, log, active);
      this.#state.initStored(placement);
      this.#ctx.logger.info('init section stored', { ...log, key: upload.key, bytes: bytes.length });
    }
    return placement.name;
  }

  /**
   * Stores a segment or init section, encrypted under `active` if given. Encrypted, it is made in
   * the upload's concurrency slot, for each attempt (the same bytes each time: CBC with the same
   * key and IV): in memory up to WHOLE_SEGMENT_BYTES, its buffer reused once the upload succeeded.
   * Mirrors read a segment after the first copy is stored, and larger segments are streamed:
   * those are encrypted once into a ciphertext file, removed (as spooled bytes are) once its
   * message is committed.
   */
  async #store(what: string, upload: SegmentUpload, log: Record<string, unknown>, active: ActiveKey | undefined): Promise<void> {
    const { queue, target } = this.#ctx;
    const context = { ...log, key: upload.key };
    const encryption = active && this.#ctx.encryption;
    if (!active || !encryption) return queue.transfer(what, context, () => target.putSegment(upload), 0, true);
    const { key } = active.content;
    const inMemory = !target.allStored && await queue.transfer(what, context, async () => {
      const bytes = await encryptToMemory(upload.file, key, active.iv, encryption.buffers, encryption.openSource);
      if (!bytes) return false;
      await target.putSegment({ ...upload, body: bytes.body });
      // Only after success: after a failure a socket could, in principle, still read it.
      bytes.release();
      return true;
    }, 0, true);
    if (inMemory) return;
    const file = await encryptFile(upload.file, encryption.workDir, key, active.iv, encryption.openSource);
    this.#spooledFiles.push(file);
    await queue.transfer(what, context, () => target.putSegment({ ...upload, file }), 0, true);
  }

  #initInUse(file: string): void {
    const previous = this.#initFile;
    this.#initFile = file;
    if (previous === undefined || previous === file) return;
    if (this.#ctx.spool?.holds(previous)) this.#spooledFiles.push(previous);
    else this.#storedFiles.push(previous);
  }

  /**
   * Once, before the first message of a stream this uploader did not know: a stream that storage
   * already holds continues from its stored playlist (stored-stream.ts); none means new.
   */
  async #recover(m: IndexMessage): Promise<void> {
    const snapshot = await readStoredStream(this.#ctx, this.id, this.#state.key, m.outputPrefix, m.ext.format);
    this.#unknown = false;
    if (!snapshot) return;
    this.#encryption?.nameRecoveredKeys(snapshot.window);
    this.#state = new StreamState(this.#state.key, { window: this.#ctx.window }, snapshot);
    this.#committed = this.#state.snapshot();
    // What came between the stored window and this message is unknown: players must reset.
    this.#gapBeforeNext = true;
  }

  async #publish(): Promise<void> {
    const state = this.#state;
    const model = state.playlist();
    if (model.segments.length === 0) {
      this.#dirty = false;
      this.#arrivals = [];
      await this.#commit();
      return;
    }
    const upload = {
      bucket: state.key.bucket,
      key: objectKey(state.key.keyPrefix, state.key.index),
      text: renderMediaPlaylist(model),
      maxAgeSeconds: playlistMaxAgeSeconds(model),
    };
    const arrivals = this.#arrivals;
    this.#arrivals = [];
    this.#dirty = false;
    // A playlist PUT is small and the last step before viewers see the segment: it goes ahead
    // of segment uploads waiting for a slot.
    try {
      await this.#ctx.queue.transfer('playlist upload', { stream: this.id, key: upload.key }, () => this.#ctx.target.putPlaylist(upload), 1);
    } catch (err) {
      if (!(err instanceof PermanentTransferError)) throw err;
      // Nothing was published: the next message of the stream tries again with the newest state.
      this.#dirty = true;
      this.#arrivals = [...arrivals, ...this.#arrivals];
      this.#ctx.logger.error('playlist refused; published with the next segment', { stream: this.id, key: upload.key, error: describe(err) });
      return;
    }
    this.#ctx.counters.playlistsStored += 1;
    await this.#publishArchive();
    await this.#commit();
    const event: PlaylistStored = {
      stream: this.id,
      key: state.key,
      mediaSequence: model.mediaSequence,
      lastSegment: state.lastSegment,
      ended: model.endList,
      arrivals,
      storedAt: this.#ctx.clock(),
    };
    this.#ctx.logger.debug('playlist stored', { stream: this.id, mediaSequence: model.mediaSequence, ended: model.endList });
    if (model.endList) this.#ctx.logger.info('stream ended', { stream: this.id, lastSegment: state.lastSegment });
    this.#ctx.emit('playlist-stored', event);
    this.#ctx.masters.playlistStored(state.key, model.endList);
  }

  /** Publishes the archive playlist after the live one, with the segments that one listed first. */
  async #publishArchive(): Promise<void> {
    const archive = this.#archive;
    if (!archive || this.#ctx.archive === undefined) return;
    archive.add(this.#appended);
    this.#appended = [];
    if (archive.length === 0) return;
    const { key } = this.#state;
    const model = archive.model(this.#state.targetDuration ?? 1, this.#state.ended);
    const upload = {
      bucket: key.bucket,
      key: objectKey(key.keyPrefix, archiveName(this.#ctx.archive, key.index)),
      text: renderMediaPlaylist(model),
      maxAgeSeconds: playlistMaxAgeSeconds(model),
    };
    await this.#ctx.queue.transfer('archive playlist upload', { stream: this.id, key: upload.key }, () => this.#ctx.target.putPlaylist(upload), 1);
  }

  /**
   * The playlist is stored: the journal records the stream's new state and its finished
   * messages in one record; only then may local files go (a replay would need them).
   */
  async #commit(): Promise<void> {
    const state = this.#state;
    this.#committed = state.snapshot();
    this.#committedEncryption = this.#encryption?.snapshot();
    const left = state.takeLeft();
    if (this.#ctx.deleteAfter) {
      const { keyPrefix, bucket } = state.key;
      const keys = this.#encryption?.released(left, state.listed) ?? [];
      this.#retention.published(state.listed, left, this.#ctx.wallClock(), (name) => ({ bucket, key: objectKey(keyPrefix, name) }), state.releaseInits(), keys);
    }
    const done = this.#doneIds;
    const files = this.#storedFiles;
    const spooled = this.#spooledFiles;
    this.#doneIds = [];
    this.#storedFiles = [];
    this.#spooledFiles = [];
    await this.#ctx.journal?.commit(this.id, this.#persisted(), done);
    if (this.#committedEncryption) await this.#encryption!.committed(this.#committedEncryption);
    const removeLocal = this.#ctx.removeLocal;
    for (const file of new Set([...(removeLocal ? files : []), ...spooled])) {
      const remove = () =>
        unlink(file).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') this.#ctx.logger.warn('cannot remove a stored segment or init file', { stream: this.id, file, error: err.message });
        });
      // A lagging mirror still reads the file: it goes once every copy is stored, without
      // holding up this stream.
      const everyCopy = this.#ctx.target.allStored?.(file);
      if (everyCopy) void everyCopy.then(remove);
      else await remove();
    }
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
