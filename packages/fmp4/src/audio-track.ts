/**
 * One AAC track's samples between fragments. The media timescale is the sample rate, so every
 * frame lasts exactly 1024 ticks (ISO/IEC 14496-3 §4.5.1.1, frameLengthFlag = 0) and the last
 * sample of a fragment needs no successor. Frame times run on from the previous frame; a PES
 * whose PTS strays from that by more than MAX_DRIFT_FRAMES (a gap in the input) re-anchors them.
 */
import { splitAdtsFrames, type AdtsFrame, type TimedAccessUnit } from './access-unit';
import { rescale, TrackTimeline, TS_TIMESCALE, type DecodeClock } from './decode-clock';
import type { FragmentTrack } from './media-segment';
import { AUDIO_SAMPLE_FLAGS } from './sample-flags';
import type { AacConfig } from './track-config';


/** PCM samples per AAC frame (ISO/IEC 14496-3 §4.5.1.1). */
export const AAC_FRAME_SAMPLES = 1024;
/** A PES PTS this many frames away from the running frame time is a gap, not jitter. */
export const MAX_DRIFT_FRAMES = 2;

export const aacConfigOf = (f: AdtsFrame): AacConfig => ({
  codec: 'aac',
  objectType: f.header.objectType,
  sampleRateIndex: f.sampleRateIndex,
  sampleRate: f.header.sampleRate,
  channels: f.header.channels,
});

/** `c` is what frame `f` would configure: the fields configFingerprint (track-config.ts) compares. */
const describes = (c: AacConfig, f: AdtsFrame): boolean =>
  c.objectType === f.header.objectType && c.sampleRateIndex === f.sampleRateIndex && c.channels === f.header.channels;

export class AudioTrack {
  readonly id: number;
  config: AacConfig | null = null;
  readonly #clock: DecodeClock;
  readonly #timeline: TrackTimeline;
  /** Frames of the last PES: how far the next PES starts after its PTS, where a jump lands. */
  #lastPesFrames = 1;
  /** Decode time of the next frame in sample-rate ticks; -1 until anchored. */
  #next = -1;
  #firstTime = -1;
  #frames: Uint8Array[] = [];
  /** Bytes of #frames, kept as they come and go (asked before every video unit). */
  #pendingBytes = 0;

  constructor(id: number, clock: DecodeClock, timeline = new TrackTimeline()) {
    this.id = id;
    this.#clock = clock;
    this.#timeline = timeline;
  }

  get pendingSamples(): number {
    return this.#frames.length;
  }

  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** The ADTS frames of a PES, with the configuration of the first when it differs from the current one. */
  split(au: TimedAccessUnit): { frames: AdtsFrame[]; skipped: number; newConfig: AacConfig | null } {
    const split = splitAdtsFrames(au.data);
    const first = split.frames[0];
    // Every PES repeats the configuration: compared field by field, a new one built only when it changed.
    const changed = first !== undefined && (!this.config || !describes(this.config, first));
    return { frames: split.frames, skipped: split.skipped, newConfig: changed ? aacConfigOf(first) : null };
  }

  /** Queues the frames of one PES (all in the current configuration). */
  add(au: TimedAccessUnit, frames: AdtsFrame[]): void {
    if (!this.config || frames.length === 0) return;
    const rate = this.config.sampleRate;
    const step = Math.round((this.#lastPesFrames * AAC_FRAME_SAMPLES * TS_TIMESCALE) / rate);
    const ptsTime = rescale(this.#timeline.map(this.#clock.unwrap(au.pts), step), rate);
    this.#lastPesFrames = frames.length;
    if (this.#next < 0 || Math.abs(ptsTime - this.#next) > MAX_DRIFT_FRAMES * AAC_FRAME_SAMPLES) this.#next = ptsTime;
    for (const f of frames) {
      // A frame before time zero (only possible at the very start of a stream) is dropped.
      if (this.#next >= 0) {
        if (this.#frames.length === 0) this.#firstTime = this.#next;
        this.#frames.push(f.raw);
        this.#pendingBytes += f.raw.length;
      }
      this.#next += AAC_FRAME_SAMPLES;
    }
  }

  /**
   * Drops queued frames that start before `time90k` (an unwrapped 90 kHz time), and any beyond
   * the newest `keep`: audio that arrived before the video's first keyframe.
   */
  trimBefore(time90k: number, keep = Number.POSITIVE_INFINITY): void {
    if (!this.config) return;
    const start = rescale(time90k, this.config.sampleRate);
    let drop = Math.max(0, this.#frames.length - keep);
    while (drop < this.#frames.length && this.#firstTime + drop * AAC_FRAME_SAMPLES < start) drop++;
    for (let i = 0; i < drop && i < this.#frames.length; i++) this.#pendingBytes -= this.#frames[i].length;
    this.#frames = this.#frames.slice(drop);
    this.#firstTime += drop * AAC_FRAME_SAMPLES;
  }

  /** A new configuration (another sample rate): frame times start again from the next PTS. */
  reset(config: AacConfig): void {
    this.config = config;
    this.#next = -1;
  }

  fragment(): FragmentTrack | null {
    if (this.#frames.length === 0) return null;
    const count = this.#frames.length;
    const track: FragmentTrack = {
      id: this.id,
      baseDecodeTime: this.#firstTime,
      count,
      durations: new Uint32Array(count).fill(AAC_FRAME_SAMPLES),
      flags: new Uint32Array(count).fill(AUDIO_SAMPLE_FLAGS),
      compositionOffsets: new Int32Array(count),
      partCounts: new Uint32Array(count).fill(1), // one raw frame per sample
      parts: this.#frames,
      lengthPrefixed: false,
      duration: count * AAC_FRAME_SAMPLES,
    };
    this.#frames = [];
    this.#pendingBytes = 0;
    return track;
  }
}
