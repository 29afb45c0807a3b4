/**
 * The segmenter core: MPEG-TS chunks in, keyframe-aligned segments out through a SegmentSink.
 * It never touches files, sockets or the process, so it can be driven by tests byte by byte.
 *
 * Bytes are passed on as views of the input chunk in runs of contiguous packets: a run is only
 * split where a segment ends, so a 1 MB chunk usually leaves as one write. The only copies are
 * PSI packets (kept to start each segment), packets split across chunks, and the packets of a
 * video access unit whose keyframe status is still open when a chunk ends.
 */
import {
  payloadUnitStart as readPayloadUnitStart,
  pid as readPid,
  transportError as readTransportError,
  PacketReader,
  parsePesHeader,
  payloadOffset,
  PesAssembler,
  type PesHead,
  probeAccessUnit,
  randomAccessIndicator,
  secondsToTicks,
  TS_PACKET_SIZE,
} from '@hlsrelay/mpegts';
import type { Logger } from '@hlsrelay/log';
import { shouldCut } from './cut-rule';
import { HeldBytes } from './held-bytes';
import { ProgramTracker, ROLE_AUDIO, ROLE_NONE, ROLE_VIDEO } from './program-tracker';
import { SegmentClock, type SegmentStart } from './segment-clock';
import { StreamFactsCollector, type StreamFacts } from './stream-facts';

export type { SegmentStart } from './segment-clock';
export { MAX_HELD_BYTES } from './held-bytes';

export interface CompletedSegment extends SegmentStart {
  /** Seconds, from PTS: up to the next segment's first keyframe, or estimated for the last one. */
  duration: number;
  /** Bytes handed to the sink for this segment. */
  bytes: number;
  stream: StreamFacts;
  /** The input ended with this segment. */
  final: boolean;
}

/** Where segments go. `write` views are only valid during the call; each holds whole TS packets, back to back. */
export interface SegmentSink {
  begin(segment: SegmentStart): void;
  write(bytes: Uint8Array): void;
  end(segment: CompletedSegment): void;
}

/** Default of TsSegmenterOptions.discontinuityThreshold (seconds). */
export const DEFAULT_DISCONTINUITY_SECONDS = 10;

export interface TsSegmenterOptions {
  /** Target segment duration in seconds (cut at the first keyframe at or after it). */
  targetDuration: number;
  /** A PTS step (forward or back) larger than this, in seconds, is a discontinuity. Default 10. */
  discontinuityThreshold?: number;
  /** Wall clock in ms (injected so tests control program date-time). Default Date.now. */
  now?: () => number;
  logger?: Logger;
}

// Bound once: each use of a re-exported name goes through a getter that V8 sees as megamorphic
// (one getter function shared by every name), a lookup per packet in the hot loop.
const packetPid = readPid;
const payloadUnitStart = readPayloadUnitStart;
const transportError = readTransportError;
const PACKET_SIZE = TS_PACKET_SIZE;

/** Bytes of each PES head kept while looking for its first slice and SPS. */
const PROBE_LIMIT = 32 * 1024;

export class TsSegmenter {
  readonly #sink: SegmentSink;
  readonly #targetTicks: number;
  readonly #logger?: Logger;

  readonly #reader = new PacketReader();
  readonly #pes = new PesAssembler(PROBE_LIMIT);
  readonly #program: ProgramTracker;
  readonly #clock: SegmentClock;
  readonly #facts = new StreamFactsCollector();

  // The current run: packets [#runStart, #runEnd) of #runBuf not yet handed to the sink.
  #runBuf: Uint8Array | null = null;
  #runStart = 0;
  #runEnd = 0;
  /**
   * While a video access unit is being probed, its bytes are held back: from #pendingAt in the
   * run, preceded by #held (copies from earlier chunks). Invariant: #held is non-empty only
   * when #pendingAt === #runStart (everything in the run is pending too).
   */
  #probing = false;
  #pendingAt = 0;
  readonly #held = new HeldBytes();
  #probePts = -1;
  #probeHint = false;

  /** Bytes handed to the sink for the open segment. */
  #segBytes = 0;
  /** The program changed: the stream facts are reset when the old segment has been closed. */
  #factsStale = false;

  /** Input bytes seen. */
  inputBytes = 0;
  /** Input bytes that were whole, synced TS packets (the rest was skipped or is still held). */
  packetBytes = 0;
  #finished = false;

  constructor(sink: SegmentSink, options: TsSegmenterOptions) {
    if (!(options.targetDuration > 0) || !Number.isFinite(options.targetDuration)) {
      throw new TypeError(`targetDuration must be seconds > 0, got ${options.targetDuration}`);
    }
    const threshold = options.discontinuityThreshold ?? DEFAULT_DISCONTINUITY_SECONDS;
    if (!(threshold > 0)) throw new TypeError(`discontinuityThreshold must be seconds > 0, got ${threshold}`);
    this.#sink = sink;
    this.#targetTicks = secondsToTicks(options.targetDuration);
    this.#logger = options.logger;
    this.#program = new ProgramTracker((pid) => this.#pes.drop(pid), options.logger);
    this.#clock = new SegmentClock({ discontinuityTicks: secondsToTicks(threshold), now: options.now ?? Date.now, logger: options.logger });
  }

  /** Bytes copied aside while a video access unit is probed; never above MAX_HELD_BYTES after push returns. */
  get heldBytes(): number {
    return this.#held.bytes;
  }

  /** Bytes skipped to regain sync so far. */
  get skippedBytes(): number {
    return this.#reader.skippedBytes;
  }

  /** Feeds a chunk cut anywhere. Every byte destined for output is handed to the sink before it returns. */
  push(chunk: Uint8Array): void {
    if (this.#finished) throw new Error('push() after finish()');
    this.inputBytes += chunk.length;
    this.#reader.pushRuns(chunk, this.#onRun);
    this.#flushRun();
    if (this.#held.overLimit) {
      this.#logger?.warn('video access unit unfinished while other streams went on; released on its random-access flag', {
        pid: this.#program.videoPid,
        heldBytes: this.#held.bytes,
      });
      this.#resolve(this.#probeHint);
    }
  }

  /** Input ended: the open segment is completed and marked final. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#reader.endRuns(this.#onRun);
    if (this.#probing) this.#resolve(false);
    this.#flushRun();
    if (this.#clock.inSegment) this.#endSegment(-1, true);
    else if (!this.#clock.started) this.#logger?.warn('input ended before any segment could start', { reason: this.#whyNoSegment() });
  }

  /** Why no segment has started yet, for the operator; undefined once one has. */
  noSegmentReason(): string | undefined {
    return this.#clock.started ? undefined : this.#whyNoSegment();
  }

  /** What was missing when the input ended without a single segment, for the operator. */
  #whyNoSegment(): string {
    const program = this.#program;
    if (this.inputBytes === 0) return 'no input at all';
    // Random bytes sync by chance now and then; TS, even damaged, is nearly all packets.
    if (this.packetBytes < this.inputBytes / 2) return 'no MPEG-TS packets found (is the input MPEG-TS?)';
    if (program.pmtPid < 0) return 'no PAT (program association table) seen';
    if (!program.pmt) return `no usable PMT seen on PID ${program.pmtPid}`;
    if (program.clockPid < 0) return 'the program has no H.264, H.265, AAC or MP3 stream';
    return program.videoPid >= 0 ? `no keyframe with a timestamp on video PID ${program.videoPid}` : `no timestamped audio on PID ${program.clockPid}`;
  }

  readonly #onRun = (buf: Uint8Array, start: number, end: number): void => {
    this.packetBytes += end - start;
    if (buf === this.#runBuf && start === this.#runEnd) {
      this.#runEnd = end;
    } else {
      this.#flushRun();
      this.#runBuf = buf;
      this.#runStart = start;
      this.#runEnd = end;
      if (this.#probing) this.#pendingAt = start;
    }
    // The hot loop: most packets belong to a PID with nothing to do beyond passing them on.
    const roles = this.#program.roles;
    for (let off = start; off < end; off += PACKET_SIZE) {
      const p = packetPid(buf, off);
      const role = roles[p];
      if (role === ROLE_NONE) continue;
      if (role === ROLE_VIDEO) {
        if (payloadUnitStart(buf, off)) this.#onVideoStart(buf, off, p);
        else if (this.#probing) this.#probe(this.#pes.push(p, buf, off));
      } else if (transportError(buf, off)) {
        continue;
      } else if (role === ROLE_AUDIO) {
        if (payloadUnitStart(buf, off)) this.#onAudioStart(buf, off, p);
        else if (p === this.#program.clockPid) this.#countClockPayload(buf, off);
      } else {
        this.#onPsi(buf, off, p, role);
      }
    }
  };

  // ---- output runs ----

  #emit(bytes: Uint8Array): void {
    if (!this.#clock.inSegment || bytes.length === 0) return; // before the first keyframe: dropped
    this.#segBytes += bytes.length;
    this.#sink.write(bytes);
  }

  /** Hands the run to the sink; pending bytes are copied aside instead (the chunk may be reused). */
  #flushRun(): void {
    const buf = this.#runBuf;
    if (!buf) return;
    if (this.#probing) {
      this.#emit(buf.subarray(this.#runStart, this.#pendingAt));
      this.#held.hold(buf, this.#pendingAt, this.#runEnd);
    } else {
      this.#emit(buf.subarray(this.#runStart, this.#runEnd));
    }
    this.#runBuf = null;
  }

  // ---- video ----

  #onVideoStart(buf: Uint8Array, off: number, p: number): void {
    if (this.#probing) this.#resolve(false); // the previous unit never showed a slice
    const head = this.#pes.push(p, buf, off);
    const pts = head?.header?.pts ?? -1;
    this.#clock.countFrame();
    this.#probing = true;
    this.#pendingAt = off;
    this.#probePts = pts >= 0 ? pts : this.#clock.lastPts;
    this.#probeHint = randomAccessIndicator(buf, off);
    if (pts >= 0 && p === this.#program.clockPid) this.#clock.observe(p, pts);
    this.#probe(head);
  }

  #probe(head: PesHead | null): void {
    if (!head || !head.header) {
      this.#resolve(this.#probeHint);
      return;
    }
    const videoKind = this.#program.videoKind;
    const result = probeAccessUnit(videoKind, head.bytes.subarray(head.header.dataOffset, head.length), false);
    if (result.kind === 'unknown' && !head.truncated) return; // wait for the next packet of the unit
    // No slice in the first PROBE_LIMIT bytes: trust the random-access flag.
    this.#resolve(result.kind === 'unknown' ? this.#probeHint : result.kind === 'key');
    // After the cut: new parameters describe the segment this unit opens, not the one it closed.
    if (result.sps && this.#facts.observeSps(videoKind, result.sps)) {
      this.#logger?.info('video parameters', this.#facts.snapshot());
    }
  }

  /** The held-back access unit is (or is not) a keyframe: cut before it or let it through. */
  #resolve(keyframe: boolean): void {
    this.#probing = false;
    const pts = this.#probePts;
    const cut = pts >= 0 && shouldCut(this.#clock.cutPoint(keyframe, pts), this.#targetTicks);
    if (cut && this.#held.empty && this.#runBuf) {
      // Bytes before the unit still belong to the segment that ends here.
      this.#emit(this.#runBuf.subarray(this.#runStart, this.#pendingAt));
      this.#runStart = this.#pendingAt;
    }
    if (cut) this.#cut(pts);
    for (const bytes of this.#held.take()) this.#emit(bytes);
  }

  // ---- audio ----

  #onAudioStart(buf: Uint8Array, off: number, p: number): void {
    const start = payloadOffset(buf, off);
    if (start < 0) return;
    const end = off + TS_PACKET_SIZE;
    const header = parsePesHeader(buf, start, end);
    if (!header) return;
    if (!this.#facts.hasAudioCodec) {
      const kind = this.#program.kindOf(p);
      if (kind === 'aac' || kind === 'mp3') this.#facts.observeAudio(kind, buf.subarray(start + header.dataOffset, end));
    }
    if (p !== this.#program.clockPid || header.pts < 0) return;
    this.#clock.observeAudioPes(p, header.pts, end - start - header.dataOffset);
    // Audio-only: every PES start is a random access point.
    if (shouldCut(this.#clock.cutPoint(true, header.pts), this.#targetTicks)) {
      this.#emit(this.#runBuf!.subarray(this.#runStart, off));
      this.#runStart = off;
      this.#cut(header.pts);
    }
  }

  #countClockPayload(buf: Uint8Array, off: number): void {
    const start = payloadOffset(buf, off);
    if (start >= 0) this.#clock.countPayload(off + TS_PACKET_SIZE - start);
  }

  // ---- segments ----

  #cut(pts: number): void {
    if (this.#clock.inSegment) this.#endSegment(pts, false);
    if (this.#factsStale) {
      this.#facts.reset();
      this.#factsStale = false;
    }
    this.#segBytes = 0;
    this.#sink.begin(this.#clock.open(pts));
    // Every segment opens with the current PAT and PMT so it decodes on its own.
    for (const pkt of this.#program.patPackets) this.#emit(pkt);
    for (const pkt of this.#program.pmtPackets) this.#emit(pkt);
  }

  /** nextPts < 0: no next segment (input ended), so the end is estimated from the last frame. */
  #endSegment(nextPts: number, final: boolean): void {
    const { measuredFps, ...timing } = this.#clock.close(nextPts, this.#program.videoClock);
    this.#sink.end({ ...timing, bytes: this.#segBytes, stream: this.#facts.snapshot(measuredFps), final });
  }

  // ---- PSI ----

  #onPsi(buf: Uint8Array, off: number, p: number, role: number): void {
    const change = this.#program.push(buf, off, p, role);
    if (!change) return;
    if (this.#probing && change.videoChanged) this.#resolve(false);
    if (change.replaced) {
      // New streams may mean a new encoder or codec: players need a discontinuity, and the
      // next segment must start at the new program's first keyframe.
      this.#factsStale = true;
      this.#clock.breakTimeline();
    }
  }
}
