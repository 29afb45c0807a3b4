/**
 * One segmenter run: the core cuts, the writer puts each segment on disk, and each completed
 * file is announced to the uploader with one index message. Input comes in through push();
 * the caller (main.ts or a test) owns where the bytes come from.
 */
import type { Logger } from '@hlsrelay/log';
import { formatMessage, type IndexMessage } from '@hlsrelay/protocol';
import { SegmentWriter } from './segment-writer';
import { TsSegmenter, type CompletedSegment, type SegmentSink, type SegmentStart } from '../core/ts-segmenter';

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
    this.#writer = new SegmentWriter({ outputDirectory: options.outputDirectory, outputPrefix: options.outputPrefix, logger: options.logger });
    this.#core = new TsSegmenter(this, {
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
    const number = this.#next++;
    const written = this.#writer.commit();
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
        discontinuity,
        size: written.size,
        ...segment.stream,
        ...(n.master !== undefined ? { master: n.master } : {}),
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
    this.#notify(formatMessage(message), { ...segment, discontinuity, number, path: written.path, size: written.size });
  }
}
