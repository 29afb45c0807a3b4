/**
 * One segmenter run: the core cuts, the writer puts each segment on disk, and each completed
 * file is announced to the uploader with one index message. Input comes in through push();
 * the caller (main.ts or a test) owns where the bytes come from.
 *
 * With `format: 'fmp4'` the core's segments go through the remuxer (fmp4-pipeline.ts): the same
 * cuts, written as `<prefix>-init.mp4` (+ `-init-2.mp4` … after a codec change) and `.m4s` files.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '@hlsrelay/log';
import type { InitSegment } from '@hlsrelay/fmp4';
import { secondsToTicks } from '@hlsrelay/mpegts';
import { formatMessage, initFileName, type IndexMessage, type SegmentEncryption, type SegmentFormat } from '@hlsrelay/protocol';
import type { Fmp4Pipeline, PairedSegment } from './fmp4-pipeline';
import { SegmentWriter, type SealedFile, type WrittenSegment } from './segment-writer';
import { DEFAULT_DISCONTINUITY_SECONDS, TsSegmenter, type CompletedSegment, type SegmentSink, type SegmentStart } from '../core/ts-segmenter';

/** The original eight positional arguments, plus the numbering of this run. */
export interface StreamNames {
  segmentDuration: number;
  outputDirectory: string;
  outputPrefix: string;
  index: string;
  httpPrefix: string;
  bucketName: string;
  keyPrefix: string;
  /** Number of the first segment of this run (default 1). */
  startNumber: number;
  /** Master playlist this rendition joins (`--master`). */
  master?: string;
  /** Segment container (`--format`); default `ts`. */
  format?: SegmentFormat;
  /** Ask the uploader to store this stream's segments encrypted (`--encrypt`). */
  encrypt?: SegmentEncryption;
}

export interface LiveSegmenterOptions extends StreamNames {
  /** Receives each formatted index message, in order (a Notifier, or a test's array). */
  notify: (message: string, segment: AnnouncedSegment) => void;
  discontinuityThreshold?: number;
  now?: () => number;
  logger?: Logger;
}

export interface AnnouncedSegment extends CompletedSegment {
  number: number;
  path: string;
  size: number;
  /** fMP4: the init section file (in the output directory) the segment needs. */
  initPath?: string;
}

export interface SegmenterStats {
  inputBytes: number;
  segments: number;
  failedSegments: number;
  lastDuration?: number;
  skippedBytes: number;
  /** Input bytes that were synced TS packets. */
  packetBytes: number;
}

export class LiveSegmenter implements SegmentSink {
  readonly #names: StreamNames;
  readonly #notify: LiveSegmenterOptions['notify'];
  readonly #logger?: Logger;
  readonly #writer: SegmentWriter;
  readonly #core: TsSegmenter;
  /** fMP4 only: remuxes what the core cuts; null for TS. */
  readonly #fmp4: Fmp4Pipeline | null = null;
  readonly #initWriter: SegmentWriter | null = null;
  /** fMP4: writes each remuxed piece under a temporary name until it is paired and numbered. */
  readonly #pieceWriter: SegmentWriter | null = null;
  /** Pieces written and closed, not yet announced (null: the write failed). */
  readonly #pieces = new Map<number, SealedFile | null>();
  /** fMP4: init sections written (null: the write failed) by identity, the last one's identity, how many were made. */
  readonly #inits = new Map<string, WrittenSegment | null>();
  #initIdentity = '';
  #initCount = 0;
  #next: number;
  /** A segment was lost to a write failure: the next one follows a gap in the playlist. */
  #gap = false;
  #segments = 0;
  #failed = 0;
  #lastDuration: number | undefined;

  constructor(options: LiveSegmenterOptions) {
    if (!Number.isSafeInteger(options.startNumber) || options.startNumber < 0) {
      throw new TypeError(`startNumber must be a whole number ≥ 0, got ${options.startNumber}`);
    }
    this.#names = options;
    this.#notify = options.notify;
    this.#logger = options.logger;
    this.#next = options.startNumber;
    const { outputDirectory, outputPrefix, logger } = options;
    this.#writer = new SegmentWriter({ outputDirectory, outputPrefix, format: options.format, logger });
    if (options.format === 'fmp4') {
      this.#initWriter = new SegmentWriter({ outputDirectory, outputPrefix, fileName: (n) => initFileName(outputPrefix, n), logger });
      this.#pieceWriter = new SegmentWriter({ outputDirectory, outputPrefix, fileName: (n) => `${outputPrefix}-piece-${n}.m4s`, logger });
      const pieces = this.#pieceWriter;
      // Loaded only for fMP4: the remuxer is ~20 ms and ~8 MB of start-up a TS run need not pay.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { Fmp4Pipeline } = require('./fmp4-pipeline') as typeof import('./fmp4-pipeline');
      this.#fmp4 = new Fmp4Pipeline(
        {
          init: (i) => this.#writeInit(i),
          fragment: (n, parts, opens) => {
            if (opens) pieces.open(n);
            pieces.writeParts(parts);
          },
          pieceEnd: (n) => this.#pieces.set(n, pieces.seal()),
          segment: (p) => this.#endFmp4(p),
          dropped: (n) => {
            const sealed = this.#pieces.get(n);
            this.#pieces.delete(n);
            if (sealed) fs.rmSync(sealed.path, { force: true });
          },
        },
        logger,
        secondsToTicks(options.discontinuityThreshold ?? DEFAULT_DISCONTINUITY_SECONDS),
      );
    }
    this.#core = new TsSegmenter(this.#fmp4 ?? this, {
      targetDuration: options.segmentDuration,
      discontinuityThreshold: options.discontinuityThreshold,
      now: options.now,
      logger: options.logger,
    });
  }

  push(chunk: Uint8Array): void {
    this.#core.push(chunk);
  }

  /** Input ended (EOF or a stop signal): the open segment is completed and announced with end=1. */
  finish(): void {
    this.#core.finish();
    this.#fmp4?.finish();
  }

  get stats(): SegmenterStats {
    return {
      inputBytes: this.#core.inputBytes,
      segments: this.#segments,
      failedSegments: this.#failed,
      lastDuration: this.#lastDuration,
      skippedBytes: this.#core.skippedBytes,
      packetBytes: this.#core.packetBytes,
    };
  }

  /** Why no segment has started yet (undefined once one has): the input is not what it should be. */
  noSegmentReason(): string | undefined {
    return this.#core.noSegmentReason();
  }

  // ---- SegmentSink ----

  begin(_segment: SegmentStart): void {
    this.#writer.open(this.#next);
  }

  write(bytes: Uint8Array): void {
    this.#writer.write(bytes);
  }

  end(segment: CompletedSegment): void {
    this.#announce(segment, this.#writer.commit());
  }

  // ---- fMP4 ----

  /**
   * Each change of configuration is written under the next name (-init.mp4, -init-2.mp4 …), even
   * a return to an earlier one: a name, once retired by the uploader, never comes back. The same
   * configuration again (a new program with the same streams) keeps the current file.
   */
  #writeInit(init: InitSegment): void {
    if (init.identity === this.#initIdentity) return;
    this.#initIdentity = init.identity;
    const written = this.#nextInitFile(init.bytes);
    // Segments of the previous init may still wait to be paired: its entry stays until one of this init is announced.
    this.#inits.set(init.identity, written);
    if (written) this.#logger?.info('init section', { file: written.path, codecs: init.codecs.join(','), bytes: written.size });
  }

  /**
   * The next init file name that holds these bytes or nothing: a restarted run in the same
   * directory keeps an earlier run's init with the same bytes and never overwrites one with other
   * bytes (messages of that run may still be waiting in a spool to name it).
   */
  #nextInitFile(bytes: Uint8Array): WrittenSegment | null {
    const writer = this.#initWriter!;
    for (;;) {
      const n = ++this.#initCount;
      const state = fileHolding(writer.finalPath(n), bytes);
      if (state === 'free') return writer.writeFile(n, bytes);
      if (state === 'same') return { number: n, path: writer.finalPath(n), size: bytes.length };
    }
  }

  #endFmp4(p: PairedSegment): void {
    const sealed = this.#pieces.get(p.piece) ?? null;
    this.#pieces.delete(p.piece);
    let init = this.#inits.get(p.init.identity);
    if (!init) {
      // Its write failed (a full disk, say): tried again under the next name, so later segments are not all lost.
      init = this.#nextInitFile(p.init.bytes);
      this.#inits.set(p.init.identity, init);
    }
    for (const identity of this.#inits.keys()) {
      if (identity === p.init.identity) break;
      this.#inits.delete(identity);
    }
    if (!init) {
      this.#logger?.error('segment dropped: its init section could not be written', { segment: this.#next });
      if (sealed) fs.rmSync(sealed.path, { force: true });
      this.#announce(p.core, null);
      return;
    }
    const written = sealed && this.#writer.publish(sealed, this.#next);
    // A new init is a new decoder configuration: players must reset (RFC 8216 §4.3.2.3).
    const core = { ...p.core, startPts: p.pts, discontinuity: p.core.discontinuity || p.initChanged, duration: p.media.duration };
    this.#announce(core, written, { init, codecs: p.init.codecs.join(',') });
  }

  // ---- the index message ----

  #announce(segment: CompletedSegment, written: WrittenSegment | null, fmp4?: { init: WrittenSegment; codecs: string }): void {
    const number = this.#next++;
    if (!written) {
      this.#failed++;
      this.#gap = true;
      if (segment.final) this.#logger?.error('the last segment could not be written: no end=1 message for this stream', { segment: number });
      return;
    }
    this.#segments++;
    this.#lastDuration = segment.duration;
    const discontinuity = segment.discontinuity || this.#gap;
    this.#gap = false;
    const n = this.#names;
    const message: IndexMessage = {
      index: n.index,
      outputDirectory: n.outputDirectory,
      segmentDuration: n.segmentDuration,
      outputPrefix: n.outputPrefix,
      httpPrefix: n.httpPrefix,
      firstSegment: n.startNumber,
      lastSegment: number,
      end: segment.final,
      bucketName: n.bucketName,
      keyPrefix: n.keyPrefix,
      ext: {
        duration: Math.round(segment.duration * 1000) / 1000,
        programDateTime: segment.programDateTime,
        pts: segment.startPts,
        discontinuity,
        size: written.size,
        ...segment.stream,
        ...(n.master !== undefined ? { master: n.master } : {}),
        ...(n.encrypt !== undefined ? { encrypt: n.encrypt } : {}),
        // The master's CODECS come from the init's parameter sets: exactly what the samples need.
        ...(fmp4 ? { codecs: fmp4.codecs, format: 'fmp4' as const, init: fileNameOf(fmp4.init.path) } : {}),
      },
    };
    this.#logger?.info('segment complete', {
      segment: number,
      file: written.path,
      duration: message.ext.duration,
      bytes: written.size,
      ...(discontinuity ? { discontinuity: true } : {}),
      ...(segment.final ? { end: true } : {}),
    });
    this.#notify(formatMessage(message), {
      ...segment,
      discontinuity,
      number,
      path: written.path,
      size: written.size,
      ...(fmp4 ? { initPath: fmp4.init.path } : {}),
    });
  }
}

const fileNameOf = (p: string): string => path.basename(p);

/** Whether `file` is free, holds exactly `bytes`, or holds something else (unreadable counts as taken). */
function fileHolding(file: string, bytes: Uint8Array): 'free' | 'same' | 'taken' {
  try {
    return Buffer.compare(fs.readFileSync(file), bytes) === 0 ? 'same' : 'taken';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'free' : 'taken';
  }
}
