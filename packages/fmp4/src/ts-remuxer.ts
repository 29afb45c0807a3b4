/**
 * MPEG-TS bytes to fMP4 outputs: the PES demuxer (@hlsrelay/mpegts) feeds the remuxer, and a
 * segment ends at the first keyframe of the clock track (video, else the first audio stream)
 * for which the caller's cut rule says yes. A new program (PMT) closes the open segment and
 * starts a new remuxer, whose first output is a new init.
 *
 * A fragment's `parts` are views of the demuxer's PES buffers, valid while the `output` call
 * lasts: once a fragment is out, every unit before the current one is written, and their buffers
 * go back to the demuxer for the next PES (no new memory per PES, so memory stays flat).
 */
import { isVideoKind, PesDemuxer, ptsDelta, type ElementaryStream, type PesUnit } from '@hlsrelay/mpegts';
import { splitVideoAccessUnit } from './access-unit';
import { Fmp4Remuxer, type RemuxOutput } from './remuxer';

export interface TsRemuxerOptions {
  /**
   * Cut before this random access unit? Given the 90 kHz ticks since the open segment started
   * and the unit's own (33-bit) PTS, so a caller can cut exactly where another segmenter did.
   */
  wantsCut: (ticksSinceStart: number, pts: number) => boolean;
  output: (o: RemuxOutput) => void;
  warn?: (message: string, context: Record<string, unknown>) => void;
  /** See Fmp4RemuxerOptions. */
  fragmentBytes?: number;
  discontinuityTicks?: number;
}

export class TsRemuxer {
  readonly #options: TsRemuxerOptions;
  readonly #demuxer: PesDemuxer;
  #remuxer: Fmp4Remuxer | null = null;
  /** PIDs of the remuxer's tracks, by track index. */
  #pids: number[] = [];
  #clockIndex = 0;
  /** PTS of the open segment's first unit on the clock track; -1 when none is open. */
  #segmentStart = -1;
  /** Bytes of the units given to the remuxer since the last fragment went out. */
  #held: Uint8Array[] = [];
  /** Access units handed to the remuxer, per track index of the current program. */
  units: number[] = [];
  streams: ElementaryStream[] = [];

  /**
   * PTS of the first clock-track unit of the open segment, -1 when none is open. Inside an
   * `output` callback for a segment, the start of that segment.
   */
  get openSegmentPts(): number {
    return this.#segmentStart;
  }

  /**
   * What the demuxer found in the chunk being pushed, in order, handled once it returns: the
   * packet loop then stays a small function of its own (called from the demuxer's completion of
   * each PES, the whole remuxer was compiled into it, again at each deoptimisation — about a
   * second of compiler time on a 260 MB input).
   */
  readonly #found: Array<PesUnit | ElementaryStream[]> = [];

  /** Throws UnsupportedCodecError from push() when a program has a stream fMP4 cannot carry. */
  constructor(options: TsRemuxerOptions) {
    this.#options = options;
    // Units as they are, a program's streams as their array: no wrapper object per PES.
    this.#demuxer = new PesDemuxer({ program: (streams) => this.#found.push(streams), unit: (unit) => this.#found.push(unit) });
  }

  push(chunk: Uint8Array): void {
    this.#demuxer.push(chunk);
    this.#handleFound();
  }

  /** Whole, synced packets (a TS segmenter's output): see PesDemuxer.pushPackets. */
  pushPackets(packets: Uint8Array): void {
    this.#demuxer.pushPackets(packets);
    this.#handleFound();
  }

  /** Input ended: the open segment is emitted (its last video sample lasts as long as the one before). */
  finish(): void {
    this.#demuxer.finish();
    this.#handleFound();
    this.#emit(this.#remuxer?.flush() ?? []);
  }

  #handleFound(): void {
    const found = this.#found;
    for (let i = 0; i < found.length; i++) {
      const f = found[i];
      if (Array.isArray(f)) this.#onProgram(f);
      else this.#onUnit(f);
    }
    found.length = 0;
  }

  #onProgram(streams: ElementaryStream[]): void {
    this.#emit(this.#remuxer?.flush() ?? []);
    this.#releaseHeld();
    // Streams of other types (SCTE-35, ID3 timed metadata, AC-3 …) are left out, as the TS segmenter leaves them unread.
    const media = streams.filter((s) => s.kind !== 'other');
    const ignored = streams.filter((s) => s.kind === 'other').map((s) => `${s.pid}:0x${s.streamType.toString(16)}`);
    if (ignored.length > 0) this.#options.warn?.('streams fMP4 does not carry are left out', { streams: ignored.join(' ') });
    this.streams = streams;
    this.#pids = media.map((s) => s.pid);
    this.units = media.map(() => 0);
    this.#segmentStart = -1;
    if (media.length === 0) {
      this.#remuxer = null;
      this.#options.warn?.('the program has no H.264, H.265 or AAC stream: nothing to remux', {});
      return;
    }
    const { warn, fragmentBytes, discontinuityTicks } = this.#options;
    this.#remuxer = new Fmp4Remuxer({ tracks: media.map((s) => s.kind), warn, fragmentBytes, discontinuityTicks });
    this.#clockIndex = Math.max(0, media.findIndex((s) => isVideoKind(s.kind)));
  }

  #onUnit(u: PesUnit): void {
    const index = this.#pids.indexOf(u.pid);
    const remuxer = this.#remuxer;
    if (!remuxer || index < 0 || u.pts < 0) return this.#demuxer.release(u.data);
    // Video: one scan of the start codes gives both the keyframe and the sample's NAL units.
    const parts = u.kind === 'h264' || u.kind === 'h265' ? splitVideoAccessUnit(u.kind, u.data) : undefined;
    const keyframe = parts ? parts.irap : true;
    if (index === this.#clockIndex && keyframe) {
      if (this.#segmentStart >= 0 && this.#options.wantsCut(ptsDelta(this.#segmentStart, u.pts), u.pts)) {
        this.#emit(remuxer.flush(new Map([[index, u.dts]])));
        this.#segmentStart = -1;
      }
      if (this.#segmentStart < 0) this.#segmentStart = u.pts;
    }
    this.units[index]++;
    this.#emit(remuxer.push(index, { pts: u.pts, dts: u.dts, keyframe, data: u.data, parts }));
    this.#held.push(u.data);
    // No fragment for a long while (video that never starts): the oldest are left to the garbage
    // collector instead of the pool, so this list stays bounded.
    if (this.#held.length > MAX_HELD_UNITS) this.#held.shift();
  }

  /** Passes outputs on; after a fragment, the units before the current one are written: their buffers go back. */
  #emit(outputs: RemuxOutput[]): void {
    let wrote = false;
    for (let i = 0; i < outputs.length; i++) {
      const o = outputs[i];
      this.#options.output(o);
      wrote ||= o.type === 'fragment';
    }
    if (wrote) this.#releaseHeld();
  }

  #releaseHeld(): void {
    const held = this.#held;
    for (let i = 0; i < held.length; i++) this.#demuxer.release(held[i]);
    this.#held = [];
  }
}

/** Units remembered for release at the next fragment: a few segments' worth at 60 fps plus audio. */
const MAX_HELD_UNITS = 4096;
