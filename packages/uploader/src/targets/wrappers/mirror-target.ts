/**
 * Several transfer targets mirroring each other (e.g. S3 and an FTP web host), behind the one
 * TransferTarget interface so the uploader needs no change to use it.
 *
 * Each mirror has its own UploadQueue: its own ordered lanes, concurrency and retries with
 * backoff. An operation is queued on every mirror and the call resolves as soon as ONE mirror has
 * stored it, so the uploader — and the playlist players see on the fastest mirror — moves at the
 * pace of the fastest mirror; a slow or failing mirror catches up in the background, in order.
 *
 * Order on each mirror: lanes are keyed by bucket and directory. A stream's segments and its
 * playlist share one directory (`<key prefix>/<name>`), so on every mirror a playlist is stored
 * after the segments it lists, even on a mirror that is minutes behind.
 *
 * A lagging mirror does not replay every playlist it missed: a queued playlist that a newer one
 * for the same key has superseded is skipped (the newer one follows in the same lane, after the
 * same segments). Its backlog is then the segments it lacks, and it converges to the same state.
 *
 * Calls reject only with a PermanentTransferError, when every mirror refused permanently; a
 * permanent refusal on some mirrors only is logged as an error for those mirrors.
 */
import { posix } from 'node:path';
import type { Logger } from '@hlsrelay/log';
import type { RetryPolicy } from '../retry-policy';
import { GaveUpTransferError, PermanentTransferError, type KeyUpload, type PlaylistUpload, type SegmentUpload, type TransferTarget } from '../transfer-target';
import { describe, UploadQueue } from '../upload-queue';

export const DEFAULT_MIRROR_CONCURRENCY = 16;

export interface MirrorTargetOptions {
  targets: TransferTarget[];
  logger: Logger;
  /** Transfers in flight at once on each mirror. */
  concurrency?: number;
  retry?: RetryPolicy;
  /**
   * How long close() waits for lagging mirrors to catch up before closing them anyway (logged with
   * what was left). Default: wait as long as it takes — nothing accepted is dropped.
   */
  drainTimeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /**
   * `--give-up-after` on each mirror's own queue: a segment upload one mirror still fails this
   * long after its first attempt is given up there (logged as refused by that mirror), so a mirror
   * that is away does not hold its lane, and the local file, for ever. 0 (default) never gives up.
   */
  giveUpAfterMs?: number;
  /** Milliseconds since some epoch, for the give-up time; only differences are used. */
  now?: () => number;
  /**
   * Which of the mirrors' copies `get` returns when they differ (a mirror that lagged when the
   * last run stopped holds an older playlist): service.ts passes the newest-playlist rule.
   * Default: the first mirror's.
   */
  choose?: (copies: string[]) => string;
}

export interface MirrorStats {
  name: string;
  /** Operations stored (segments, playlists, deletes). */
  stored: number;
  /** Playlists skipped because a newer one for the same key was already queued. */
  superseded: number;
  /** Operations refused permanently by this mirror. */
  failed: number;
  retries: number;
  /** Operations waiting or running: how far behind this mirror is. */
  backlog: number;
  /** Transfers of this mirror failing now, waiting for their next attempt. */
  failing: number;
  /** The last failed attempt's error, while any is failing. */
  lastError?: string;
}

interface Mirror {
  target: TransferTarget;
  queue: UploadQueue;
  /** Newest playlist generation queued per `<bucket>/<key>`. */
  playlistGeneration: Map<string, number>;
  stats: { stored: number; superseded: number; failed: number };
}

export class MirrorTarget implements TransferTarget {
  readonly name: string;
  readonly #mirrors: Mirror[];
  readonly #logger: Logger;
  readonly #drainTimeoutMs: number | undefined;
  readonly #choose: (copies: string[]) => string;
  /** Per local segment file: resolves when every mirror has settled its upload. */
  readonly #settling = new Map<string, Array<Promise<void>>>();

  constructor(options: MirrorTargetOptions) {
    if (options.targets.length < 1) throw new TypeError('a mirror needs at least one target, got none');
    const names = options.targets.map((t) => t.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) throw new TypeError(`target ${dup} is given twice; each mirror must be a different place`);
    if (options.drainTimeoutMs !== undefined && !(options.drainTimeoutMs >= 0)) {
      throw new TypeError(`drainTimeoutMs must be a number ≥ 0, got ${options.drainTimeoutMs}`);
    }
    this.#logger = options.logger;
    this.#drainTimeoutMs = options.drainTimeoutMs;
    this.#choose = options.choose ?? ((copies) => copies[0]);
    this.name = `mirror(${names.join(', ')})`;
    // Everything else of the options is each mirror's own queue: concurrency, retries, give-up.
    const { targets, drainTimeoutMs: _drain, choose: _choose, ...queue } = options;
    this.#mirrors = targets.map((target) => ({
      target,
      queue: new UploadQueue({ ...queue, concurrency: queue.concurrency ?? DEFAULT_MIRROR_CONCURRENCY }),
      playlistGeneration: new Map(),
      stats: { stored: 0, superseded: 0, failed: 0 },
    }));
  }

  putSegment(upload: SegmentUpload): Promise<void> {
    let settled!: () => void;
    const all = new Promise<void>((resolve) => (settled = resolve));
    const pending = this.#settling.get(upload.file) ?? [];
    this.#settling.set(upload.file, [...pending, all]);
    void all.then(() => {
      const left = (this.#settling.get(upload.file) ?? []).filter((p) => p !== all);
      if (left.length) this.#settling.set(upload.file, left);
      else this.#settling.delete(upload.file);
    });
    return this.#fanOut('segment upload', upload.bucket, upload.key, (m) => () => m.target.putSegment(upload), settled, true);
  }

  /** Resolves once every mirror has stored `file` (or refused it for good): then it may be removed. */
  async allStored(file: string): Promise<void> {
    await Promise.all(this.#settling.get(file) ?? []);
  }

  putPlaylist(upload: PlaylistUpload): Promise<void> {
    const id = `${upload.bucket}/${upload.key}`;
    return this.#fanOut('playlist upload', upload.bucket, upload.key, (m) => {
      const generation = (m.playlistGeneration.get(id) ?? 0) + 1;
      m.playlistGeneration.set(id, generation);
      return async () => {
        if (m.playlistGeneration.get(id) !== generation) return 'superseded';
        await m.target.putPlaylist(upload);
        if (m.playlistGeneration.get(id) === generation) m.playlistGeneration.delete(id);
        return 'stored';
      };
    });
  }

  /**
   * Every mirror's copy, read directly (not queued behind uploads): all must answer, since the
   * one that does not may hold the newest; undefined when none holds the object.
   */
  async get(bucket: string, key: string): Promise<string | undefined> {
    const copies = await Promise.all(this.#mirrors.map((m) => m.target.get?.(bucket, key)));
    const found = copies.filter((c): c is string => c !== undefined);
    return found.length === 0 ? undefined : this.#choose(found);
  }

  /**
   * A content key goes to every mirror, as a segment does: it resolves once the first has it. It
   * is queued in the lane of the playlists that name it (`<prefix>/keys/…` → `<prefix>`), so no
   * mirror stores such a playlist before the key.
   */
  putKey(upload: KeyUpload): Promise<void> {
    const lane = `${upload.bucket}/${posix.dirname(posix.dirname(upload.key))}`;
    const job = (m: Mirror) => async () => {
      if (!m.target.putKey) throw new PermanentTransferError(`${m.target.name} cannot store content keys`);
      await m.target.putKey(upload);
    };
    return this.#fanOut('key upload', upload.bucket, upload.key, job, undefined, false, lane);
  }

  delete(bucket: string, key: string): Promise<void> {
    return this.#fanOut('delete', bucket, key, (m) => () => m.target.delete(bucket, key));
  }

  /** Per mirror: what it stored, skipped, refused, retried, and how far behind it is. */
  stats(): MirrorStats[] {
    return this.#mirrors.map((m) => {
      const { failing, lastFailure } = m.queue.backlog();
      return { name: m.target.name, ...m.stats, retries: m.queue.retries, backlog: m.queue.size, failing: failing.length, ...(failing.length > 0 ? { lastError: lastFailure?.error } : {}) };
    });
  }

  /** Resolves once every mirror has caught up with everything queued so far. */
  async onIdle(): Promise<void> {
    await Promise.all(this.#mirrors.map((m) => m.queue.onIdle()));
  }

  /** Lets lagging mirrors catch up (see drainTimeoutMs), then closes every target. */
  async close(): Promise<void> {
    const drained = this.onIdle();
    if (this.#drainTimeoutMs === undefined) {
      await drained;
    } else {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        drained.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.#drainTimeoutMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        const behind = this.stats().filter((s) => s.backlog > 0);
        this.#logger.error('closing mirrors that have not caught up; their queued uploads are dropped', {
          mirrors: behind.map((s) => `${s.name}: ${s.backlog} queued`),
        });
      }
    }
    await Promise.all(this.#mirrors.map((m) => m.target.close()));
  }

  /**
   * Queues the operation `job(mirror)` makes on every mirror; resolves on the first success,
   * rejects (PermanentTransferError) once every mirror has refused permanently.
   */
  #fanOut(what: string, bucket: string, key: string, job: (m: Mirror) => () => Promise<unknown>, settled?: () => void, giveUp = false, lane = `${bucket}/${posix.dirname(key)}`): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let pending = this.#mirrors.length;
      const refusals: string[] = [];
      const givenUp: GaveUpTransferError[] = [];
      for (const m of this.#mirrors) {
        const op = job(m);
        const context = { target: m.target.name, bucket, key };
        m.queue.enqueue(lane, async () => {
          try {
            const outcome = await m.queue.transfer(what, context, op, 0, giveUp);
            if (outcome === 'superseded') m.stats.superseded += 1;
            else m.stats.stored += 1;
            resolve();
          } catch (err) {
            // transfer() retries everything else, so this is a permanent refusal by this mirror.
            m.stats.failed += 1;
            if (err instanceof GaveUpTransferError) givenUp.push(err);
            refusals.push(`${m.target.name}: ${describe(err)}`);
            this.#logger.error(`${what} refused permanently by one mirror`, { ...context, error: describe(err) });
          } finally {
            pending -= 1;
            if (pending === 0) settled?.();
            if (pending === 0 && refusals.length === this.#mirrors.length) {
              const message = `${what} ${bucket}/${key} refused by every mirror: ${refusals.join('; ')}`;
              // Every mirror gave up in time: the uploader treats it as one target giving up.
              reject(givenUp.length === refusals.length ? new GaveUpTransferError(message, givenUp[0].lastError) : new PermanentTransferError(message));
            }
          }
        });
      }
    });
  }
}
