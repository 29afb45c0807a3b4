/**
 * What an operator scrapes: Prometheus metrics (prom-client) and the `/status` document, fed by
 * the uploader's events and by MeteredTarget. Names are `hlsrelay_*`; every per-stream series is
 * labelled `stream` (`bucket/keyPrefix/index`), every per-target one `target`.
 *
 * Estimated spend is computed from the S3 targets' real counters with the same prices as
 * `uploader cost`: PUT requests (every attempt is a billed request), bytes sent into S3, and one
 * month of storage for what was stored. Viewers' GETs and CDN transfer never pass through the
 * uploader; `uploader cost` estimates those.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PRICES_2009, type Prices } from './cost';
import type { TransferAttempt, TransferObserver } from '../targets/wrappers/metered-target';
import type { MessageAccepted, PlaylistStored, SegmentGivenUp, SegmentStored, Uploader } from '../publish/uploader';

/** Message-to-playlist latency buckets, seconds: sub-second when healthy, up to minutes when the store is away. */
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300];
/** One transfer attempt, seconds: a playlist PUT takes milliseconds, a segment over a slow link seconds. */
const UPLOAD_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/**
 * How long an ended stream's series stay after it ended: long enough for a scrape or two to see
 * its last values, short enough that a day of short streams does not grow the series without bound.
 */
export const ENDED_STREAM_RETENTION_MS = 10 * 60 * 1000;
const GB = 1e9;

export type SpendPrices = Pick<Prices, 'putPer1000' | 'transferInPerGb' | 'storagePerGbMonth'>;

export interface UploaderMetricsOptions {
  /** Default: the 2009 prices of cost.ts. */
  prices?: SpendPrices;
  /** Milliseconds, the same clock the uploader uses (only differences are used). */
  clock?: () => number;
  /** Wall-clock milliseconds since the epoch, for `…_timestamp_seconds`. Default Date.now. */
  wallClock?: () => number;
  /** Node process metrics (memory, CPU, event loop lag). Default true. */
  processMetrics?: boolean;
  /** `hlsrelay_build_info` labels: this uploader's version and the Node.js it runs on. */
  build?: { version: string; node: string };
  /** Milliseconds an ended stream's series are kept (default ENDED_STREAM_RETENTION_MS). */
  endedStreamRetentionMs?: number;
}

interface TargetTotals {
  stored: number;
  bytes: number;
  retried: number;
  refused: number;
  /** PUT attempts (segments and playlists, whatever the outcome): what S3 bills. */
  puts: number;
}

interface StreamTotals {
  messages: number;
  segmentsStored: number;
  lastSegmentStoredAt: number | undefined;
  /** Wall clock of the same moment, ms since the epoch. */
  lastSegmentStoredWallMs: number | undefined;
  /** `clock()` when the stream was first seen ended; its series go ENDED_STREAM_RETENTION_MS later. */
  endedAt: number | undefined;
}

export interface SpendEstimate {
  putRequests: number;
  gigabytesIn: number;
  /** `total` is in /status only: as a series beside its parts, `sum()` would count it twice. */
  dollars: { s3Put: number; s3TransferIn: number; s3StorageMonth: number; total: number };
}

export class UploaderMetrics implements TransferObserver {
  readonly registry = new Registry();
  readonly #prices: SpendPrices;
  readonly #clock: () => number;
  readonly #wallClock: () => number;
  readonly #retentionMs: number;
  readonly #startedAt: number;
  readonly #targets = new Map<string, TargetTotals>();
  readonly #streams = new Map<string, StreamTotals>();
  #uploader: Uploader | undefined;

  readonly #messages: Counter<'stream'>;
  readonly #segments: Counter<'stream'>;
  readonly #latency: Histogram<never>;
  readonly #transfers: Counter<'target' | 'kind'>;
  readonly #bytes: Counter<'target' | 'kind'>;
  readonly #errors: Counter<'target' | 'kind'>;
  readonly #retries: Counter<'target' | 'kind'>;
  readonly #givenUp: Counter<'stream'>;
  readonly #uploadSeconds: Histogram<'target' | 'kind'>;

  constructor(options: UploaderMetricsOptions = {}) {
    const prices = options.prices ?? PRICES_2009;
    for (const [name, v] of Object.entries(prices)) {
      if (!(v >= 0)) throw new TypeError(`price ${name} must be a number ≥ 0, got ${v}`);
    }
    this.#prices = prices;
    this.#clock = options.clock ?? (() => performance.now());
    this.#wallClock = options.wallClock ?? Date.now;
    this.#retentionMs = options.endedStreamRetentionMs ?? ENDED_STREAM_RETENTION_MS;
    this.#startedAt = this.#clock();
    const registers = [this.registry];
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });

    this.#messages = new Counter({ name: 'hlsrelay_messages_total', help: 'Index messages accepted, per stream.', labelNames: ['stream'], registers });
    this.#segments = new Counter({ name: 'hlsrelay_segments_stored_total', help: 'Segments stored (on the first target to store them), per stream.', labelNames: ['stream'], registers });
    this.#latency = new Histogram({
      name: 'hlsrelay_message_to_playlist_seconds',
      help: 'From an index message arriving to the stored playlist that lists its segment.',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const byTarget = ['target', 'kind'] as const;
    this.#transfers = new Counter({ name: 'hlsrelay_uploads_total', help: 'Objects stored, per target and kind (segment, playlist, key, delete).', labelNames: byTarget, registers });
    this.#bytes = new Counter({ name: 'hlsrelay_upload_bytes_total', help: 'Bytes stored, per target and kind.', labelNames: byTarget, registers });
    this.#errors = new Counter({ name: 'hlsrelay_upload_errors_total', help: 'Failed transfer attempts, per target and kind (retried or refused).', labelNames: byTarget, registers });
    this.#retries = new Counter({ name: 'hlsrelay_upload_retries_total', help: 'Failed attempts that are retried, per target and kind.', labelNames: byTarget, registers });
    this.#uploadSeconds = new Histogram({
      name: 'hlsrelay_upload_duration_seconds',
      help: 'Duration of each transfer attempt, stored or failed, per target and kind.',
      labelNames: byTarget,
      buckets: UPLOAD_BUCKETS,
      registers,
    });
    if (options.build) {
      new Gauge({ name: 'hlsrelay_build_info', help: 'Always 1; the labels say which uploader runs on which Node.js.', labelNames: ['version', 'node'], registers }).set(options.build, 1);
    }
    this.#givenUp = new Counter({ name: 'hlsrelay_segments_given_up_total', help: 'Segments whose upload kept failing past --give-up-after, left out of the playlist, per stream.', labelNames: ['stream'], registers });

    const metrics = this;
    new Gauge({
      name: 'hlsrelay_stream_queue_depth',
      help: 'Messages of a stream waiting behind the one being uploaded.',
      labelNames: ['stream'],
      registers,
      collect() {
        this.reset();
        for (const s of metrics.#uploader?.streams() ?? []) if (!s.ended) this.set({ stream: s.stream }, s.queued);
      },
    });
    new Gauge({
      name: 'hlsrelay_stream_last_segment_timestamp_seconds',
      help: 'Unix time a live stream last had a segment stored (alert on time() - this). Ended streams are not listed.',
      labelNames: ['stream'],
      registers,
      collect() {
        this.reset();
        for (const s of metrics.#uploader?.streams() ?? []) {
          const wall = metrics.#streams.get(s.stream)?.lastSegmentStoredWallMs;
          if (!s.ended && wall !== undefined) this.set({ stream: s.stream }, wall / 1000);
        }
      },
    });
    new Gauge({
      name: 'hlsrelay_streams',
      help: 'Streams seen since start, live or ended.',
      labelNames: ['state'],
      registers,
      collect() {
        const all = metrics.#uploader?.streams() ?? [];
        const ended = all.filter((s) => s.ended).length;
        this.set({ state: 'live' }, all.length - ended);
        this.set({ state: 'ended' }, ended);
      },
    });
    new Gauge({
      name: 'hlsrelay_upload_queue',
      help: 'Messages queued or being uploaded, all streams.',
      registers,
      collect() {
        this.set(metrics.#uploader?.stats.queued ?? 0);
      },
    });
    new Gauge({
      name: 'hlsrelay_estimated_spend_dollars',
      help: 'S3 spend estimated from real counters and the configured prices (item: s3_put, s3_transfer_in, s3_storage_month; sum() is the total).',
      labelNames: ['item'],
      registers,
      collect() {
        const { dollars } = metrics.spend();
        this.set({ item: 's3_put' }, dollars.s3Put);
        this.set({ item: 's3_transfer_in' }, dollars.s3TransferIn);
        this.set({ item: 's3_storage_month' }, dollars.s3StorageMonth);
      },
    });
  }

  /** Follows one uploader's events (call once, before messages arrive). */
  watch(uploader: Uploader): void {
    this.#uploader = uploader;
    uploader.on('message-accepted', (e: MessageAccepted) => {
      this.#stream(e.stream).messages += 1;
      this.#messages.inc({ stream: e.stream });
    });
    // The attempts were counted as retried as they failed; giving up refuses the segment for good.
    uploader.on('segment-given-up', (e: SegmentGivenUp) => {
      this.#target(e.target).refused += 1;
      this.#givenUp.inc({ stream: e.stream });
    });
    uploader.on('segment-stored', (e: SegmentStored) => {
      const s = this.#stream(e.stream);
      s.segmentsStored += 1;
      s.lastSegmentStoredAt = e.storedAt;
      s.lastSegmentStoredWallMs = this.#wallClock();
      this.#segments.inc({ stream: e.stream });
    });
    uploader.on('playlist-stored', (e: PlaylistStored) => {
      for (const arrivedAt of e.arrivals) this.#latency.observe(Math.max(0, e.storedAt - arrivedAt) / 1000);
    });
  }

  transferAttempted(a: TransferAttempt): void {
    const t = this.#target(a.target);
    const labels = { target: a.target, kind: a.kind };
    this.#uploadSeconds.observe(labels, a.seconds);
    if (a.kind !== 'delete') t.puts += 1;
    if (a.outcome === 'stored') {
      t.stored += 1;
      t.bytes += a.bytes;
      this.#transfers.inc(labels);
      this.#bytes.inc(labels, a.bytes);
    } else {
      this.#errors.inc(labels);
      if (a.outcome === 'retried') {
        t.retried += 1;
        this.#retries.inc(labels);
      } else {
        t.refused += 1;
      }
    }
  }

  #target(name: string): TargetTotals {
    let t = this.#targets.get(name);
    if (!t) this.#targets.set(name, (t = { stored: 0, bytes: 0, retried: 0, refused: 0, puts: 0 }));
    return t;
  }

  /** Spend of the S3 targets so far (targets named `s3…`; a directory or FTP server bills nothing per request). */
  spend(): SpendEstimate {
    let puts = 0;
    let bytes = 0;
    for (const [name, t] of this.#targets) {
      if (!name.startsWith('s3')) continue;
      puts += t.puts;
      bytes += t.bytes;
    }
    const p = this.#prices;
    const s3Put = (puts / 1000) * p.putPer1000;
    const s3TransferIn = (bytes / GB) * p.transferInPerGb;
    const s3StorageMonth = (bytes / GB) * p.storagePerGbMonth;
    return { putRequests: puts, gigabytesIn: bytes / GB, dollars: { s3Put, s3TransferIn, s3StorageMonth, total: s3Put + s3TransferIn + s3StorageMonth } };
  }

  /** The `/status` document. */
  status() {
    const now = this.#clock();
    const streams = (this.#uploader?.streams() ?? []).map((s) => {
      const t = this.#streams.get(s.stream);
      const at = t?.lastSegmentStoredAt;
      return {
        ...s,
        messages: t?.messages ?? 0,
        segmentsStored: t?.segmentsStored ?? 0,
        lastSegmentAgeSeconds: at === undefined ? undefined : round3((now - at) / 1000),
      };
    });
    const targets = [...this.#targets].map(([name, t]) => ({ target: name, uploads: t.stored, bytes: t.bytes, retries: t.retried, refused: t.refused }));
    return {
      uptimeSeconds: round3((now - this.#startedAt) / 1000),
      totals: this.#uploader?.stats,
      streams,
      targets,
      estimatedSpend: this.spend(),
    };
  }

  /** Prometheus text exposition. */
  metrics(): Promise<string> {
    this.#forgetEndedStreams();
    return this.registry.metrics();
  }

  /** Drops the stream-labelled series of streams that ended more than the retention ago. */
  #forgetEndedStreams(): void {
    const now = this.#clock();
    const ended = new Set((this.#uploader?.streams() ?? []).filter((s) => s.ended).map((s) => s.stream));
    for (const [id, s] of this.#streams) {
      if (!ended.has(id)) {
        s.endedAt = undefined;
        continue;
      }
      s.endedAt ??= now;
      if (now - s.endedAt < this.#retentionMs) continue;
      for (const counter of [this.#messages, this.#segments, this.#givenUp]) counter.remove({ stream: id });
      this.#streams.delete(id);
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  #stream(id: string): StreamTotals {
    let s = this.#streams.get(id);
    if (!s) this.#streams.set(id, (s = { messages: 0, segmentsStored: 0, lastSegmentStoredAt: undefined, lastSegmentStoredWallMs: undefined, endedAt: undefined }));
    return s;
  }
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
