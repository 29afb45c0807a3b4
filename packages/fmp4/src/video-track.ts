/**
 * One video track's samples between fragments: decode times from DTS (unwrapped, 90 kHz, which
 * is also the track timescale), durations from DTS deltas, composition offsets PTS − DTS.
 */
import { parseH264Sps, parseH265Sps, ptsDelta } from '@hlsrelay/mpegts';
import { splitVideoAccessUnit, type TimedAccessUnit, type VideoSampleParts } from './access-unit';
import { TrackTimeline, type DecodeClock } from './decode-clock';
import type { FragmentTrack } from './media-segment';
import { sampleFlags } from './sample-flags';
import { configFingerprint, type VideoConfig } from './track-config';

/** Duration of a lone last sample when nothing better is known: one frame at 25 fps. */
export const FALLBACK_FRAME_TICKS = 3600;



/** Builds the configuration a keyframe's parameter sets describe; null when they are missing or unreadable. */
export function videoConfigOf(codec: 'h264' | 'h265', p: VideoSampleParts): VideoConfig | null {
  if (p.sps.length === 0 || p.pps.length === 0) return null;
  // Copies (Buffer#slice would be a view): the PES buffer they come from is reused for later input.
  const copy = (nals: Uint8Array[]): Uint8Array[] => dedupe(nals).map((n) => new Uint8Array(n));
  if (codec === 'h264') {
    const sps = parseH264Sps(p.sps[0]);
    return sps && { codec, sps, spsNals: copy(p.sps), ppsNals: copy(p.pps) };
  }
  if (p.vps.length === 0) return null;
  const sps = parseH265Sps(p.sps[0]);
  return sps && { codec, sps, vpsNals: copy(p.vps), spsNals: copy(p.sps), ppsNals: copy(p.pps) };
}

/** The unit carries exactly the configuration's parameter sets, in its order (so no repeats either). */
function sameParameterSets(c: VideoConfig, p: VideoSampleParts): boolean {
  return sameNals(c.spsNals, p.sps) && sameNals(c.ppsNals, p.pps) && (c.codec === 'h264' ? p.vps.length === 0 : sameNals(c.vpsNals, p.vps));
}

function sameNals(a: Uint8Array[], b: Uint8Array[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Buffer.from(a[i].buffer, a[i].byteOffset, a[i].length).equals(b[i])) return false;
  return true;
}

function dedupe(nals: Uint8Array[]): Uint8Array[] {
  const seen = new Set<string>();
  return nals.filter((n) => {
    const key = Buffer.from(n.buffer, n.byteOffset, n.length).toString('base64');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export class VideoTrack {
  readonly id: number;
  readonly codec: 'h264' | 'h265';
  config: VideoConfig | null = null;
  readonly #clock: DecodeClock;
  readonly #timeline: TrackTimeline;
  // The samples queued, as columns: decode and presentation times, flags, NAL units per sample, and the NAL units.
  #dts: number[] = [];
  #pts: number[] = [];
  #flags: number[] = [];
  #nalCounts: number[] = [];
  #nals: Uint8Array[] = [];
  /** Duration of the last sample written, for a last sample whose successor is unknown. */
  #lastDuration = 0;
  #started = false;
  #pendingBytes = 0;
  /** Decode time of the last sample queued, and the step from the one before it (0: not known). */
  #lastDts = -1;
  #lastStep = 0;

  constructor(id: number, codec: 'h264' | 'h265', clock: DecodeClock, timeline = new TrackTimeline()) {
    this.id = id;
    this.codec = codec;
    this.#clock = clock;
    this.#timeline = timeline;
  }

  /** Decode time of raw (33-bit) DTS `dts`: unwrapped, jumps spliced out. */
  #decodeTime(dts: number): number {
    return this.#timeline.map(this.#clock.unwrap(dts), this.frameTicks);
  }

  /** A first sync sample has been queued. */
  get started(): boolean {
    return this.#started;
  }

  /** Unwrapped decode time of the first sample queued, -1 before it. */
  firstDecodeTime = -1;

  get pendingSamples(): number {
    return this.#dts.length;
  }

  /** One frame in 90 kHz ticks: the last DTS step seen, else the SPS frame rate, else FALLBACK_FRAME_TICKS. */
  get frameTicks(): number {
    if (this.#lastStep > 0) return this.#lastStep;
    const fps = this.config?.codec === 'h264' ? this.config.sps.frameRate : undefined;
    return fps ? Math.round(90_000 / fps) : FALLBACK_FRAME_TICKS;
  }

  /** Bytes of the NAL units queued (their length prefixes not counted). */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /**
   * The configuration this unit brings when it differs from the current one (a keyframe with
   * other parameter sets), else null. The caller closes the open fragment before adopting it.
   */
  split(au: TimedAccessUnit): { parts: VideoSampleParts; newConfig: VideoConfig | null; unreadable: boolean } {
    const parts = au.parts ?? splitVideoAccessUnit(this.codec, au.data);
    if (!au.keyframe || parts.sps.length === 0) return { parts, newConfig: null, unreadable: false };
    // Encoders repeat the same parameter sets at every keyframe: the same bytes need no parsing.
    if (this.config && sameParameterSets(this.config, parts)) return { parts, newConfig: null, unreadable: false };
    const config = videoConfigOf(this.codec, parts);
    if (!config) return { parts, newConfig: null, unreadable: true };
    const changed = !this.config || configFingerprint(config) !== configFingerprint(this.config);
    return { parts, newConfig: changed ? config : null, unreadable: false };
  }

  /** Queues a sample; false when it cannot be used (no configuration yet, no picture, before time zero). */
  add(au: TimedAccessUnit, parts: VideoSampleParts): boolean {
    if (!this.config || parts.vclBytes === 0) return false;
    if (!this.#started && !au.keyframe) return false; // the track starts on a sync sample
    const dts = this.#decodeTime(au.dts);
    const pts = dts + ptsDelta(au.dts, au.pts); // B-frames: PTS a few frames after DTS, maybe across a wrap
    if (dts < 0) return false;
    if (!this.#started) this.firstDecodeTime = dts;
    if (this.#lastDts >= 0 && dts > this.#lastDts) this.#lastStep = dts - this.#lastDts;
    this.#lastDts = dts;
    this.#started = true;
    this.#dts.push(dts);
    this.#pts.push(pts);
    this.#flags.push(sampleFlags({ sync: au.keyframe, referenced: parts.referenced, leading: parts.leading }));
    this.#nalCounts.push(parts.nals.length);
    for (const n of parts.nals) {
      this.#nals.push(n);
      this.#pendingBytes += n.length;
    }
    return true;
  }

  /** Takes the queued samples as a traf's worth; `nextDts` (raw 33-bit) sizes the last one. */
  fragment(nextDts?: number): FragmentTrack | null {
    const dts = this.#dts;
    const count = dts.length;
    if (count === 0) return null;
    const pts = this.#pts;
    const durations = new Uint32Array(count);
    const compositionOffsets = new Int32Array(count);
    let duration = 0;
    for (let i = 0; i < count; i++) {
      if (i + 1 < count) durations[i] = Math.max(0, dts[i + 1] - dts[i]);
      compositionOffsets[i] = pts[i] - dts[i];
      duration += durations[i];
    }
    let last: number;
    if (nextDts !== undefined) {
      last = Math.max(0, this.#decodeTime(nextDts) - dts[count - 1]);
    } else {
      // Not known: the sample before it (in this fragment or the previous one), else the SPS frame rate.
      const previous = count > 1 ? durations[count - 2] : this.#lastDuration;
      const fps = this.config?.codec === 'h264' ? this.config.sps.frameRate : undefined;
      last = previous > 0 ? previous : fps ? Math.round(90_000 / fps) : FALLBACK_FRAME_TICKS;
    }
    durations[count - 1] = last;
    this.#lastDuration = last;
    const track: FragmentTrack = {
      id: this.id,
      baseDecodeTime: dts[0],
      count,
      durations,
      flags: new Uint32Array(this.#flags),
      compositionOffsets,
      partCounts: new Uint32Array(this.#nalCounts),
      parts: this.#nals,
      lengthPrefixed: true,
      duration: duration + durations[count - 1],
    };
    this.#dts = [];
    this.#pts = [];
    this.#flags = [];
    this.#nalCounts = [];
    this.#nals = [];
    this.#pendingBytes = 0;
    return track;
  }
}
