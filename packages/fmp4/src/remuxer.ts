/**
 * Timed access units per track in; init segments and media segments out. The caller decides
 * where segments end (its cut rule) and what files are called; the remuxer decides what the
 * bytes are. It never touches files, sockets or the process.
 *
 * - An init is emitted before the first segment, and a new one (another `identity`) before the
 *   first segment after the codec configuration changed: other SPS/PPS/VPS bytes at a keyframe,
 *   another ADTS sample rate or channel layout, or a track whose configuration became known after
 *   the first init. When the changing track has samples in the open segment, that segment is
 *   closed first: no sample is ever described by an init other than its own.
 * - Video tracks start at their first keyframe that carries parameter sets; audio that comes
 *   earlier is held and then trimmed to that keyframe's time, so the first segment starts with a
 *   sync sample on every track.
 * - A segment's last video sample lasts until the next segment's first DTS when `flush` is
 *   given it (the live segmenter always knows it: it cuts when that keyframe arrives), else as
 *   long as the sample before it. Audio samples last 1024 ticks of the sample rate, exactly.
 * - A segment is written as it grows: once FRAGMENT_BYTES of samples are queued, they go out as
 *   one `moof`/`mdat` (a 'fragment' output; the first of a segment opens with `styp`), so memory
 *   stays at about that much however long segments are. The 'segment' output that follows the
 *   last fragment sums them up.
 */
import type { MediaKind } from '@hlsrelay/mpegts';
import { AudioTrack } from './audio-track';
import { DecodeClock, JUMP_BACK_TICKS, JUMP_FORWARD_TICKS, TIMESTAMP_WRAP, TrackTimeline } from './decode-clock';
import { buildInitSegment, initIdentity, type InitSegment } from './init-segment';
import { buildFragment, type FragmentTrack } from './media-segment';
import { timescaleOf, type TrackConfig } from './track-config';
import { assertFmp4Codecs } from './unsupported-codec';
import { splitVideoAccessUnit, type TimedAccessUnit } from './access-unit';
import { VideoTrack } from './video-track';

export interface SegmentTrackSummary {
  id: number;
  timescale: number;
  /** tfdt of the track's traf, in its timescale. */
  baseDecodeTime: number;
  samples: number;
  /** Sum of sample durations, in the track's timescale. */
  duration: number;
}

export interface MediaSegment {
  /** Bytes of all its fragments (already emitted as 'fragment' outputs). */
  size: number;
  fragments: number;
  /** mfhd sequence_number of its first fragment: 1, 2, … (one per fragment) for the life of the remuxer. */
  sequence: number;
  /** The init these samples need (emitted earlier as an 'init' output). */
  init: InitSegment;
  /** Seconds, from the first video track (else the first audio track). */
  startTime: number;
  duration: number;
  tracks: SegmentTrackSummary[];
}

/**
 * In order: an init (when the configuration is new), the fragments of a segment, the segment.
 * A fragment's `parts` are its bytes in order, to be written one after the other (writev): its
 * boxes, then views of the sample data as it arrived — not copies. Write or copy them at once:
 * TsRemuxer reuses that memory for later input as soon as the output call returns.
 */
export type RemuxOutput =
  | { type: 'init'; init: InitSegment }
  | { type: 'fragment'; parts: Uint8Array[]; opensSegment: boolean }
  | { type: 'segment'; segment: MediaSegment };

export interface Fmp4RemuxerOptions {
  /** The elementary streams, in the order `push` names them by index; MP3 and others are refused. */
  tracks: readonly MediaKind[];
  /** Bad input that was skipped (logged by the caller with its stream context). */
  warn?: (message: string, context: Record<string, unknown>) => void;
  /** Sample bytes queued before a fragment of the open segment is written; default FRAGMENT_BYTES. */
  fragmentBytes?: number;
  /**
   * A timestamp step forward beyond this many 90 kHz ticks is a jump that decode times splice out
   * (TrackTimeline); default JUMP_FORWARD_TICKS, the TS segmenter's default threshold. Back: any
   * step beyond min(this, JUMP_BACK_TICKS).
   */
  discontinuityTicks?: number;
}

type Track = VideoTrack | AudioTrack;

/** Audio held while waiting for the first video keyframe: about 20 s at 48 kHz. */
const EARLY_AUDIO_FRAMES = 1000;
/**
 * Sample bytes queued before they are written as a fragment of the open segment. A 2 s segment at
 * 4 Mb/s stays one fragment; a 6 s one at 40 Mb/s becomes about 30, and memory stays the same.
 */
export const FRAGMENT_BYTES = 1024 * 1024;

/** What the fragments written so far of the open segment add up to. */
interface OpenSegment {
  init: InitSegment;
  sequence: number;
  fragments: number;
  size: number;
  /** By track index; undefined for a track with no sample yet in the segment. */
  tracks: Array<SegmentTrackSummary | undefined>;
}

export class Fmp4Remuxer {
  readonly #tracks: Track[];
  readonly #clock = new DecodeClock();
  readonly #warn: (message: string, context: Record<string, unknown>) => void;
  readonly #fragmentBytes: number;
  #init: InitSegment | null = null;
  /** Each track's configuration when #init was last checked against them. */
  #initConfigs: Array<TrackConfig | null> = [];
  #sequence = 0;
  #open: OpenSegment | null = null;
  #allVideoStarted = false;

  /** Throws UnsupportedCodecError when a track's codec cannot go into fMP4 (MP3: the caller keeps TS). */
  constructor(options: Fmp4RemuxerOptions) {
    if (options.tracks.length === 0) throw new RangeError('the remuxer needs at least one track');
    assertFmp4Codecs(options.tracks);
    const forward = options.discontinuityTicks ?? JUMP_FORWARD_TICKS;
    if (!(forward > 0)) throw new RangeError(`discontinuityTicks must be > 0, got ${options.discontinuityTicks}`);
    const timeline = () => new TrackTimeline(forward, Math.min(forward, JUMP_BACK_TICKS));
    this.#tracks = options.tracks.map((k, i) =>
      k === 'aac' ? new AudioTrack(i + 1, this.#clock, timeline()) : new VideoTrack(i + 1, k as 'h264' | 'h265', this.#clock, timeline()),
    );
    this.#warn = options.warn ?? (() => {});
    this.#fragmentBytes = options.fragmentBytes ?? FRAGMENT_BYTES;
    if (!(this.#fragmentBytes > 0)) throw new RangeError(`fragmentBytes must be > 0, got ${options.fragmentBytes}`);
  }

  /** The init of the last segment emitted, null before the first. */
  get init(): InitSegment | null {
    return this.#init;
  }

  /** Adds one access unit (video) or PES of ADTS frames (audio) of track `index`. */
  push(index: number, au: TimedAccessUnit): RemuxOutput[] {
    const track = this.#tracks[index];
    if (!track) throw new RangeError(`no track ${index}: the remuxer has ${this.#tracks.length}`);
    if (au.dts < 0 || au.pts < 0) {
      this.#warn('access unit without a timestamp skipped', { track: track.id, bytes: au.data.length });
      return [];
    }
    const out: RemuxOutput[] = [];
    if (track instanceof VideoTrack) {
      const { parts, newConfig, unreadable } = track.split(au);
      if (parts.next >= 0) return this.#pushSeveral(index, track, au, parts.next, parts.irap);
      if (unreadable) this.#warn('keyframe with unreadable parameter sets; previous configuration kept', { track: track.id, dts: au.dts });
      if (newConfig) {
        if (track.pendingSamples > 0 || this.#open) out.push(...this.flush(new Map([[index, au.dts]])));
        track.config = newConfig;
      } else if (this.#fragmentDue(track)) {
        out.push(...this.#fragment(new Map([[index, au.dts]])));
      }
      const starting = !this.#videoStarted();
      track.add(au, parts);
      if (starting && this.#videoStarted()) this.#trimEarlyAudio(this.#videoStartTime());
    } else {
      const { frames, skipped, newConfig } = track.split(au);
      if (skipped > 0) this.#warn('bytes that are not ADTS frames skipped', { track: track.id, skipped, pts: au.pts });
      if (newConfig) {
        if (track.pendingSamples > 0 || this.#open) out.push(...this.flush());
        track.reset(newConfig);
      }
      track.add(au, frames);
      if (!this.#videoStarted()) this.#trimEarlyAudio(Number.NEGATIVE_INFINITY, EARLY_AUDIO_FRAMES);
    }
    return out;
  }

  /**
   * A PES that carries more than one picture (ISO/IEC 13818-1 allows it; most muxers put one in
   * each): every picture becomes a sample of its own. The PES has one PTS/DTS, the first
   * picture's; the later ones are timed a frame apart (the track's last DTS step, else the SPS
   * frame rate), keyframe or not by their own NAL types. The segment cut stays at PES starts, as
   * the TS core's does.
   */
  #pushSeveral(index: number, track: VideoTrack, au: TimedAccessUnit, next: number, firstIsKey: boolean): RemuxOutput[] {
    const first = au.parts ? { ...au.parts, next: -1 } : undefined; // the parts describe the first picture already
    const out = this.push(index, { ...au, keyframe: firstIsKey, data: au.data.subarray(0, next), parts: first });
    const step = track.frameTicks; // the first picture's DTS counts in it
    const rest = au.data.subarray(next);
    const later: TimedAccessUnit = {
      pts: (au.pts + step) % TIMESTAMP_WRAP,
      dts: (au.dts + step) % TIMESTAMP_WRAP,
      keyframe: splitVideoAccessUnit(track.codec, rest).irap,
      data: rest,
    };
    return [...out, ...this.push(index, later)];
  }

  /**
   * Audio that arrives before every video track has started is held, at most EARLY_AUDIO_FRAMES
   * of it; once video starts, what precedes its first decode time is dropped, so the first
   * segment opens on the video's sync sample with the audio that belongs to it.
   */
  #trimEarlyAudio(before: number, keep = Number.POSITIVE_INFINITY): void {
    for (const t of this.#tracks) if (t instanceof AudioTrack) t.trimBefore(before, keep);
  }

  #videoStartTime(): number {
    return Math.max(...this.#tracks.map((t) => (t instanceof VideoTrack ? t.firstDecodeTime : Number.NEGATIVE_INFINITY)));
  }

  /**
   * Enough is queued to write a fragment before this video unit joins the queue (whose DTS sizes
   * the last sample). Only with one video track (another's last sample would have no successor)
   * and every track configured (a track configured later needs a new init, so a new segment).
   */
  #fragmentDue(track: VideoTrack): boolean {
    if (!track.started || track.pendingSamples === 0) return false;
    let bytes = 0;
    for (const t of this.#tracks) {
      if (t !== track && (t instanceof VideoTrack || t.config === null)) return false;
      bytes += t.pendingBytes;
    }
    return bytes >= this.#fragmentBytes;
  }

  /**
   * Closes the open segment: what is queued becomes its last `moof`/`mdat` (preceded by an init
   * output when the configuration changed and the segment has no fragment yet), then the segment
   * output. `nextDts` maps a track index to the raw DTS of its next unit (the first of the next
   * segment), which sizes its last sample.
   */
  flush(nextDts: ReadonlyMap<number, number> = new Map()): RemuxOutput[] {
    const out = this.#tracks.some((t) => t.pendingSamples > 0) ? this.#fragment(nextDts) : [];
    const open = this.#open;
    if (!open) return out;
    this.#open = null;
    const tracks = open.tracks.filter((t): t is SegmentTrackSummary => t !== undefined);
    const clock = open.tracks.find((t, i) => t && this.#tracks[i] instanceof VideoTrack) ?? tracks[0];
    out.push({
      type: 'segment',
      segment: {
        size: open.size,
        fragments: open.fragments,
        sequence: open.sequence,
        init: open.init,
        startTime: clock.baseDecodeTime / clock.timescale,
        duration: clock.duration / clock.timescale,
        tracks,
      },
    });
    return out;
  }

  /** Writes what is queued as one fragment of the open segment (opening it, and an init before it, when none is open). */
  #fragment(nextDts: ReadonlyMap<number, number>): RemuxOutput[] {
    const out: RemuxOutput[] = [];
    if (!this.#open) {
      // The same configuration objects as at the last init: the same init, no digest to compute.
      if (!this.#init || this.#tracks.some((t, i) => t.config !== this.#initConfigs[i])) {
        const initTracks = this.#tracks.filter((t) => t.config !== null).map((t) => ({ id: t.id, config: t.config as TrackConfig }));
        this.#initConfigs = this.#tracks.map((t) => t.config);
        if (!this.#init || initIdentity(initTracks) !== this.#init.identity) {
          this.#init = buildInitSegment(initTracks);
          out.push({ type: 'init', init: this.#init });
        }
      }
      this.#open = { init: this.#init, sequence: this.#sequence + 1, fragments: 0, size: 0, tracks: [] };
    }
    const open = this.#open;
    const fragments: FragmentTrack[] = [];
    const tracks = this.#tracks;
    for (let i = 0; i < tracks.length; i++) {
      const t = tracks[i];
      const f = t instanceof VideoTrack ? t.fragment(nextDts.get(i)) : t.fragment();
      if (!f) continue;
      fragments.push(f);
      const summary = open.tracks[i];
      if (summary) {
        summary.samples += f.count;
        summary.duration += f.duration;
      } else {
        open.tracks[i] = { id: f.id, timescale: timescaleOf(t.config as TrackConfig), baseDecodeTime: f.baseDecodeTime, samples: f.count, duration: f.duration };
      }
    }
    const parts = buildFragment(++this.#sequence, fragments, open.fragments === 0);
    for (let k = 0; k < parts.length; k++) open.size += parts[k].length;
    out.push({ type: 'fragment', parts, opensSegment: open.fragments === 0 });
    open.fragments++;
    return out;
  }

  /** Every video track has queued its first sync sample (once true, for good: asked at every unit). */
  #videoStarted(): boolean {
    if (this.#allVideoStarted) return true;
    for (const t of this.#tracks) if (t instanceof VideoTrack && !t.started) return false;
    return (this.#allVideoStarted = true);
  }
}
