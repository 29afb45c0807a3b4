/**
 * The uploader's registry: accepted index messages in, each handed to its stream's publisher
 * (stream-publisher.ts), which stores the segment and then the playlist that lists it. Here only
 * what all streams share — the upload queue, the master playlists, the journal, the retention
 * timer — and finding or creating a stream's publisher. Knows nothing of sockets or the
 * process; gets its target, logger and clock from the caller.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '@hlsrelay/log';
import { parseMessage, ProtocolError, type IndexMessage } from '@hlsrelay/protocol';
import type { Journal, JournalContents } from '../state/journal';
import { streamId, streamKeyOf, type StreamKey } from '../streams/stream-key';
import type { RetryPolicy } from '../targets/retry-policy';
import { BufferPool } from '../targets/buffer-pool';
import type { TransferTarget } from '../targets/transfer-target';
import { describe, UploadQueue, type QueueBacklog } from '../targets/upload-queue';
import { MasterPublisher } from './master-publisher';
import { MasterTimelines } from './master-timelines';
import { StreamPublisher, type PersistedStream, type PublisherContext } from './stream-publisher';
import { createEncryptionWorkDir, openSource, type SourceOpener } from './segment-encryption';
import type { EncryptionContext, EncryptionSettings } from './stream-encryption';
import { KeyStore } from '../state/key-store';
import type { PublishCounters, StreamSummary, UploaderStats } from './uploader-events';

export type { MessageAccepted, PlaylistStored, SegmentGivenUp, SegmentStored, StreamSummary, UploaderStats } from './uploader-events';

export const DEFAULT_WINDOW = 5;
export const DEFAULT_CONCURRENCY = 64;
/** Longest a one-shot message that skips numbers waits for them (never more than half a segment). */
export const DEFAULT_REORDER_HOLD_MS = 1000;

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
  /** Durable record of accepted messages and stream states (`--state-dir`); see state/journal.ts. */
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
  /** `--encrypt`: segments stored AES-128 encrypted, keys kept in `stateDir` (required then). */
  encryption?: EncryptionSettings;
  /** Longest a one-shot message that skips numbers waits for the ones it skipped (half a segment at most); 0 never waits. Default 1000. */
  reorderHoldMs?: number;
  /** How a segment to encrypt is opened: the message policy's read-time check (service.ts); plain open without one. */
  openSource?: SourceOpener;
}

export class Uploader extends EventEmitter {
  readonly #logger: Logger;
  readonly #queue: UploadQueue;
  /** Every stream seen since start, in order of first message. */
  readonly #streams = new Map<string, StreamPublisher>();
  /** What every publisher shares; its counters are the totals `stats` reports. */
  readonly #context: PublisherContext;
  readonly #retentionTimer: NodeJS.Timeout | undefined;
  #closing = false;
  #expiring: Promise<number> | undefined;

  constructor(options: UploaderOptions) {
    super();
    this.#logger = options.logger;
    const window = options.window ?? DEFAULT_WINDOW;
    if (!Number.isInteger(window) || window < 1) {
      throw new TypeError(`window must be an integer ≥ 1, got ${options.window}`);
    }
    const clock = options.clock ?? (() => performance.now());
    const { concurrency = DEFAULT_CONCURRENCY, retry, logger, sleep, random, giveUpAfterMs } = options;
    this.#queue = new UploadQueue({ concurrency, retry, logger, sleep, random, giveUpAfterMs, now: clock });
    const deleteAfter = options.deleteAfter ?? false;
    if (deleteAfter && options.archive !== undefined) {
      throw new TypeError('deleteAfter and archive exclude each other: the archive lists every segment, so none could be deleted');
    }
    const counters: PublishCounters = { messages: 0, segmentsStored: 0, segmentsSkipped: 0, playlistsStored: 0 };
    this.#context = {
      target: options.target,
      logger: options.logger,
      queue: this.#queue,
      masters: new MasterPublisher({ target: options.target, queue: this.#queue, logger: options.logger, onStored: (stored) => this.emit('master-stored', stored) }),
      timelines: new MasterTimelines({ logger: options.logger, stateDir: options.stateDir }),
      journal: options.journal,
      window,
      clock,
      wallClock: options.wallClock ?? Date.now,
      removeLocal: options.removeLocal ?? false,
      deleteAfter,
      archive: options.archive,
      stateDir: options.stateDir,
      spool: options.spool,
      counters,
      emit: (event, payload) => this.emit(event, payload),
      encryption: encryptionContext(options.encryption, options.stateDir, options.openSource ?? openSource, concurrency),
      reorderHoldMs: options.reorderHoldMs ?? DEFAULT_REORDER_HOLD_MS,
      held: { messages: 0 },
    };
    const interval = options.retentionIntervalMs ?? 1000;
    if (deleteAfter && interval > 0) {
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
      this.#streams.set(id, new StreamPublisher(this.#context, p.key, p));
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
      void this.#publisher(streamKeyOf(message), 'journal').enqueue(message, 'journal', Promise.resolve(journalId)).catch(() => undefined);
    }
    if (contents.pending.length > 0 || contents.streams.size > 0) {
      this.#logger.info('continuing from the state directory', { streams: contents.streams.size, messagesToFinish: contents.pending.length });
    }
  }

  /**
   * Takes a parsed message into its stream's queue. Throws ProtocolError when it is refused
   * (the caller answers the peer); never throws for upload trouble, which is retried.
   * `oneShot`: it came the 2009 way, a connection of its own, so the next may overtake it.
   */
  accept(message: IndexMessage, peer = 'local', { oneShot = false }: { oneShot?: boolean } = {}): Promise<void> {
    if (this.#closing) throw new ProtocolError('uploader is shutting down; message not accepted');
    // Stored clear, a stream that asked for encryption would be public without anyone knowing.
    if (message.ext.encrypt !== undefined && !this.#context.encryption) {
      throw new ProtocolError(`encrypt=${message.ext.encrypt}: this uploader stores segments clear (it runs without --encrypt aes-128 --key-uri-prefix URL)`);
    }
    // Queued at once, so messages keep their order; acknowledged only once on disk: in the
    // journal, or without one only once the segment itself is stored (nothing else would
    // survive a crash of this process).
    const journal = this.#context.journal;
    const durable = journal ? journal.accept(message) : Promise.resolve(undefined);
    const handled = this.#publisher(streamKeyOf(message), peer).enqueue(message, peer, durable, oneShot);
    if (journal) {
      handled.catch(() => undefined);
      return durable.then(() => undefined);
    }
    return handled;
  }

  /** The stream's publisher, created on its first message. */
  #publisher(key: StreamKey, peer: string): StreamPublisher {
    const id = streamId(key);
    let publisher = this.#streams.get(id);
    if (!publisher) {
      publisher = new StreamPublisher(this.#context, key);
      this.#streams.set(id, publisher);
      this.#logger.info('new stream', { stream: id, peer });
    }
    return publisher;
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
    const now = this.#context.wallClock();
    for (const publisher of this.#streams.values()) deleted += await publisher.expire(now);
    return deleted;
  }

  /** Resolves once everything accepted so far is uploaded (held one-shot messages too). */
  async onIdle(): Promise<void> {
    await Promise.all([...this.#streams.values()].map((p) => p.held()));
    await this.#queue.onIdle();
  }

  /** Refuses new messages and resolves once the queued ones are uploaded. Does not close the target. */
  async close(): Promise<void> {
    this.#closing = true;
    for (const publisher of this.#streams.values()) publisher.flushHeld();
    await this.#queue.onIdle();
    clearInterval(this.#retentionTimer);
    await this.#expiring;
  }

  /** Every stream seen since start, in order of first message. */
  streams(): StreamSummary[] {
    return [...this.#streams.values()].map((p) => p.summary());
  }

  /** What is still to be uploaded, and what keeps failing (for the shutdown log). */
  backlog(): QueueBacklog {
    return this.#queue.backlog();
  }

  /** Messages (and master playlist jobs) accepted and not yet handled: the upload queue's size, and one-shot messages held for the numbers they skipped. */
  get queuedMessages(): number {
    return this.#queue.size + this.#context.held.messages;
  }

  get stats(): UploaderStats {
    return { ...this.#context.counters, retries: this.#queue.retries, queued: this.queuedMessages, streams: this.#streams.size };
  }
}

/** What encrypted streams share: their key store and ciphertext folder, both under the state directory. */
function encryptionContext(settings: EncryptionSettings | undefined, stateDir: string | undefined, open: SourceOpener, concurrency: number): EncryptionContext | undefined {
  if (settings === undefined) return undefined;
  if (stateDir === undefined) throw new TypeError('encryption needs a state directory: keys are kept there');
  if (settings.rotation !== undefined && !(Number.isInteger(settings.rotation) && settings.rotation >= 1)) {
    throw new TypeError(`key rotation must be a whole number of segments ≥ 1, got ${settings.rotation}`);
  }
  // One buffer per upload in flight (the clear bytes, then the ciphertext over them): memory is bounded by the concurrency.
  const buffers = new BufferPool(concurrency);
  return { settings, store: new KeyStore(stateDir), workDir: createEncryptionWorkDir(stateDir), openSource: open, buffers };
}
