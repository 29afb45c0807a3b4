/**
 * Tells a user early that the input is not MPEG-TS (an mp4, a raw .h264, random bytes): the
 * segmenter would otherwise skip it silently while it looks for sync. Called periodically on a
 * live input; a verdict once enough input has been seen, or a few seconds have passed.
 */
import type { SegmenterStats } from './live-segmenter';

export const NOT_TS_HINT = 'is the input MPEG-TS? use ffmpeg … -f mpegts - (mp4, mkv and raw streams are not)';

export interface InputCheckOptions {
  /** When the run started (the check's clock). */
  startedAt: number;
  /** After this long with input but no sync, warn. Default 3000 ms. */
  afterMs?: number;
  /** Or after this many input bytes. Default 256 KiB. */
  afterBytes?: number;
}

export class InputCheck {
  readonly #startedAt: number;
  readonly #afterMs: number;
  readonly #afterBytes: number;
  #warned = false;

  constructor(options: InputCheckOptions) {
    this.#startedAt = options.startedAt;
    this.#afterMs = options.afterMs ?? 3000;
    this.#afterBytes = options.afterBytes ?? 256 * 1024;
  }

  /** The warning to log now (once per run), or undefined. */
  check(stats: Pick<SegmenterStats, 'inputBytes' | 'packetBytes'>, now: number): string | undefined {
    if (this.#warned || stats.inputBytes === 0) return undefined;
    if (now - this.#startedAt < this.#afterMs && stats.inputBytes < this.#afterBytes) return undefined;
    // Random bytes sync by chance now and then; real TS (even damaged) is nearly all packets.
    if (!notMpegTs(stats)) return undefined;
    this.#warned = true;
    return `no MPEG-TS in ${stats.inputBytes} bytes of input (${stats.packetBytes} in synced packets): ${NOT_TS_HINT}`;
  }
}

/** Most of the input was not TS packets. */
export function notMpegTs(stats: Pick<SegmenterStats, 'inputBytes' | 'packetBytes'>): boolean {
  return stats.inputBytes > 0 && stats.packetBytes < stats.inputBytes / 2;
}
