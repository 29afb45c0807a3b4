/** The periodic one-line status for a terminal: segments, input bitrate, last duration. */
import type { SegmenterStats } from './live-segmenter';

export class StatusLine {
  #lastBytes = 0;
  #lastAt = 0;

  constructor(startedAt: number) {
    this.#lastAt = startedAt;
  }

  /** The line for `stats` at time `now` (ms); bitrate is measured since the previous line. */
  render(stats: SegmenterStats, now: number, queued: number): string {
    const seconds = Math.max(0.001, (now - this.#lastAt) / 1000);
    const kbps = ((stats.inputBytes - this.#lastBytes) * 8) / 1000 / seconds;
    this.#lastBytes = stats.inputBytes;
    this.#lastAt = now;
    const parts = [
      `segments ${stats.segments}`,
      `input ${kbps >= 1000 ? `${(kbps / 1000).toFixed(2)} Mb/s` : `${kbps.toFixed(0)} kb/s`}`,
      `last ${stats.lastDuration === undefined ? '-' : `${stats.lastDuration.toFixed(3)} s`}`,
    ];
    if (queued > 0) parts.push(`queued messages ${queued}`);
    if (stats.failedSegments > 0) parts.push(`failed segments ${stats.failedSegments}`);
    if (stats.skippedBytes > 0) parts.push(`skipped bytes ${stats.skippedBytes}`);
    return parts.join(' | ');
  }
}
