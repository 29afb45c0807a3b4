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
  isAudioKind,
  isVideoKind,
  mediaKind,
  PacketReader,
  parsePat,
  parsePesHeader,
  parsePmt,
  payloadOffset,
  NULL_PID,
  PAT_PID,
  PesAssembler,
  type PesHead,
  probeAccessUnit,
  ptsDelta,
  randomAccessIndicator,
  SectionAssembler,
  secondsToTicks,
  TS_PACKET_SIZE,
  ticksToSeconds,
  type MediaKind,
  type Pmt,
} from '@hlsrelay/mpegts';
import type { Logger } from '@hlsrelay/log';
import { shouldCut } from './cut-rule';
import { StreamFactsCollector, type StreamFacts } from './stream-facts';

export interface SegmentStart {
  /** PTS (90 kHz, 33-bit) of the segment's first keyframe or audio PES. */
  startPts: number;
  /** Wall-clock time of the first frame: start-up wall time plus PTS elapsed since. */
  programDateTime: Date;
  /** Timestamps jumped (or went back) before this segment: players need EXT-X-DISCONTINUITY. */
  discontinuity: boolean;
}

export interface CompletedSegment extends SegmentStart {
  /** Seconds, from PTS: up to the next segment's first keyframe, or estimated for the last one. */
  duration: number;
  /** Bytes handed to the sink for this segment. */
  bytes: number;
  stream: StreamFacts;
  /** The input ended with this segment. */
  final: boolean;
}

/** Where segments go. `write` views are only valid during the call. */
export interface SegmentSink {
  begin(segment: SegmentStart): void;
  write(bytes: Uint8Array): void;
  end(segment: CompletedSegment): void;
}

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

// What a PID is to the segmenter. A typed array indexed by PID keeps the per-packet test cheap.
const ROLE_NONE = 0;
const ROLE_PAT = 1;
const ROLE_PMT = 2;
const ROLE_VIDEO = 3;
const ROLE_AUDIO = 4;

/** B-frame reordering moves PTS back by a few frames, never by this much. */
const REORDER_TOLERANCE_TICKS = 90_000;

/** Bytes of each PES head kept while looking for its first slice and SPS. */
const PROBE_LIMIT = 32 * 1024;

/**
 * Most bytes held back while a video access unit is probed. A real unit shows its first slice
 * within PROBE_LIMIT bytes of video, so this is only reached when the video PID falls silent
 * mid-unit while other PIDs go on (a broken or hostile input): the unit is then resolved by its
 * random-access flag rather than holding the whole stream in memory.
 */
export const MAX_HELD_BYTES = 8 * 1024 * 1024;

interface PsiCopy {
  assembler: SectionAssembler;
  /** Packets of the section being collected (copies). */
  collecting: Uint8Array[];
  /** Packets of the last complete section, written at the start of every segment. */
  packets: Uint8Array[];
  /** CRC bytes of the last section parsed, to skip re-parsing a repeated table. */
  crc: number;
  /** Offset of the CRC inside the single packet of the last section; -1 when it spans packets. */
  crcAt: number;
}

export class TsSegmenter {
  readonly #sink: SegmentSink;
  readonly #targetTicks: number;
  readonly #discontinuityTicks: number;
  readonly #now: () => number;
  readonly #logger?: Logger;

  readonly #reader = new PacketReader();
  readonly #roles = new Uint8Array(8192);
  readonly #kinds = new Map<number, MediaKind>();
  readonly #psi = new Map<number, PsiCopy>();
  readonly #pes = new PesAssembler(PROBE_LIMIT);
  readonly #facts = new StreamFactsCollector();
  #pmtPid = -1;
  #pmt: Pmt | null = null;
  #videoPid = -1;
  #videoKind: 'h264' | 'h265' = 'h264';
  /** PID whose PTS drives cuts and durations: the video, else the first audio stream. */
  #clockPid = -1;

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
  #held: Uint8Array[] = [];
  #heldBytes = 0;
  #probePts = -1;
  #probeHint = false;

  #inSegment = false;
  #segStartPts = 0;
  #segMaxPts = 0;
  #segBytes = 0;
  #segDiscontinuity = false;
  #segPdt = new Date(0);
  #segFrames = 0;
  /** The clock jumped inside this segment: its duration is estimated from before the jump. */
  #segBroken = false;
  #discontinuityPending = false;
  /** The program changed: the stream facts are reset when the old segment has been closed. */
  #factsStale = false;

  #lastClockPts = -1;
  /** Smallest step between consecutive clock PTS: one video frame (or the shortest audio PES). */
  #frameTicks = 0;
  /** Payload bytes of the current audio PES on the clock PID, and the ticks one byte lasted before. */
  #clockPesBytes = 0;
  #ticksPerByte = 0;
  #anchorPts = -1;
  #anchorWallMs = 0;

  /** Input bytes seen. */
  inputBytes = 0;
  #finished = false;

  constructor(sink: SegmentSink, options: TsSegmenterOptions) {
    if (!(options.targetDuration > 0) || !Number.isFinite(options.targetDuration)) {
      throw new TypeError(`targetDuration must be seconds > 0, got ${options.targetDuration}`);
    }
    const threshold = options.discontinuityThreshold ?? 10;
    if (!(threshold > 0)) throw new TypeError(`discontinuityThreshold must be seconds > 0, got ${threshold}`);
    this.#sink = sink;
    this.#targetTicks = secondsToTicks(options.targetDuration);
    this.#discontinuityTicks = secondsToTicks(threshold);
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
    this.#roles[PAT_PID] = ROLE_PAT;
  }

  /** Bytes copied aside while a video access unit is probed; never above MAX_HELD_BYTES after push returns. */
  get heldBytes(): number {
    return this.#heldBytes;
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
    if (this.#heldBytes > MAX_HELD_BYTES) {
      this.#logger?.warn('video access unit unfinished while other streams went on; released on its random-access flag', {
        pid: this.#videoPid,
        heldBytes: this.#heldBytes,
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
    if (this.#inSegment) this.#endSegment(-1, true);
    else if (this.#anchorPts < 0) this.#logger?.warn('input ended before any segment could start', { reason: this.#whyNoSegment() });
  }

  /** What was missing when the input ended without a single segment, for the operator. */
  #whyNoSegment(): string {
    if (this.inputBytes === 0) return 'no input at all';
    if (this.#reader.skippedBytes >= this.inputBytes - TS_PACKET_SIZE) return 'no MPEG-TS packets found (is the input MPEG-TS?)';
    if (this.#pmtPid < 0) return 'no PAT (program association table) seen';
    if (!this.#pmt) return `no usable PMT seen on PID ${this.#pmtPid}`;
    if (this.#clockPid < 0) return 'the program has no H.264, H.265, AAC or MP3 stream';
    return this.#videoPid >= 0 ? `no keyframe with a timestamp on video PID ${this.#videoPid}` : `no timestamped audio on PID ${this.#clockPid}`;
  }

  readonly #onRun = (buf: Uint8Array, start: number, end: number): void => {
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
    const roles = this.#roles;
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
        else if (p === this.#clockPid) this.#countClockPayload(buf, off);
      } else {
        this.#onPsi(buf, off, p, role);
      }
    }
  };

  // ---- output runs ----

  #emit(bytes: Uint8Array): void {
    if (!this.#inSegment || bytes.length === 0) return; // before the first keyframe: dropped
    this.#segBytes += bytes.length;
    this.#sink.write(bytes);
  }

  /** Hands the run to the sink; pending bytes are copied aside instead (the chunk may be reused). */
  #flushRun(): void {
    const buf = this.#runBuf;
    if (!buf) return;
    if (this.#probing) {
      this.#emit(buf.subarray(this.#runStart, this.#pendingAt));
      if (this.#runEnd > this.#pendingAt) {
        this.#held.push(buf.slice(this.#pendingAt, this.#runEnd));
        this.#heldBytes += this.#runEnd - this.#pendingAt;
      }
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
    this.#segFrames++;
    this.#probing = true;
    this.#pendingAt = off;
    this.#probePts = pts >= 0 ? pts : this.#lastClockPts;
    this.#probeHint = randomAccessIndicator(buf, off);
    if (pts >= 0 && p === this.#clockPid) this.#observeClock(pts);
    this.#probe(head);
  }

  #probe(head: PesHead | null): void {
    if (!head || !head.header) {
      this.#resolve(this.#probeHint);
      return;
    }
    const result = probeAccessUnit(this.#videoKind, head.bytes.subarray(head.header.dataOffset, head.length), false);
    if (result.kind === 'unknown' && !head.truncated) return; // wait for the next packet of the unit
    // No slice in the first PROBE_LIMIT bytes: trust the random-access flag.
    this.#resolve(result.kind === 'unknown' ? this.#probeHint : result.kind === 'key');
    // After the cut: new parameters describe the segment this unit opens, not the one it closed.
    if (result.sps && this.#facts.observeSps(this.#videoKind, result.sps)) {
      this.#logger?.info('video parameters', this.#facts.snapshot());
    }
  }

  /** The held-back access unit is (or is not) a keyframe: cut before it or let it through. */
  #resolve(keyframe: boolean): void {
    this.#probing = false;
    const pts = this.#probePts;
    const cut = keyframe && pts >= 0 && this.#wantsCut(pts);
    if (cut && this.#held.length === 0 && this.#runBuf) {
      // Bytes before the unit still belong to the segment that ends here.
      this.#emit(this.#runBuf!.subarray(this.#runStart, this.#pendingAt));
      this.#runStart = this.#pendingAt;
    }
    if (cut) this.#cut(pts);
    for (const bytes of this.#held) this.#emit(bytes);
    this.#held = [];
    this.#heldBytes = 0;
  }

  // ---- audio ----

  #onAudioStart(buf: Uint8Array, off: number, p: number): void {
    const start = payloadOffset(buf, off);
    if (start < 0) return;
    const end = off + TS_PACKET_SIZE;
    const header = parsePesHeader(buf, start, end);
    if (!header) return;
    if (!this.#facts.hasAudioCodec) {
      const kind = this.#kinds.get(p);
      if (kind === 'aac' || kind === 'mp3') this.#facts.observeAudio(kind, buf.subarray(start + header.dataOffset, end));
    }
    if (p !== this.#clockPid || header.pts < 0) return;
    // Audio PES carry a varying number of frames: remember ticks per byte to size the last one.
    if (this.#lastClockPts >= 0 && this.#clockPesBytes > 0) {
      const step = ptsDelta(this.#lastClockPts, header.pts);
      if (step > 0 && step <= this.#discontinuityTicks) this.#ticksPerByte = step / this.#clockPesBytes;
    }
    this.#clockPesBytes = end - start - header.dataOffset;
    this.#observeClock(header.pts);
    // Audio-only: every PES start is a random access point.
    if (this.#wantsCut(header.pts)) {
      this.#emit(this.#runBuf!.subarray(this.#runStart, off));
      this.#runStart = off;
      this.#cut(header.pts);
    }
  }

  #countClockPayload(buf: Uint8Array, off: number): void {
    const start = payloadOffset(buf, off);
    if (start >= 0) this.#clockPesBytes += off + TS_PACKET_SIZE - start;
  }

  // ---- timing and cuts ----

  #wantsCut(pts: number): boolean {
    if (!this.#inSegment || this.#discontinuityPending) return true;
    return shouldCut(true, ptsDelta(this.#segStartPts, pts), this.#targetTicks);
  }

  #observeClock(pts: number): void {
    if (this.#lastClockPts >= 0) {
      const step = ptsDelta(this.#lastClockPts, pts);
      // Forward beyond the threshold, or backward beyond what frame reordering can explain.
      if (step > this.#discontinuityTicks || step < -Math.min(this.#discontinuityTicks, REORDER_TOLERANCE_TICKS)) {
        this.#logger?.warn('timestamp discontinuity', {
          pid: this.#clockPid,
          from: this.#lastClockPts,
          to: pts,
          seconds: ticksToSeconds(step),
        });
        this.#discontinuityPending = true;
        if (this.#inSegment) this.#segBroken = true;
      } else if (step !== 0 && (this.#frameTicks === 0 || Math.abs(step) < this.#frameTicks)) {
        // Smallest step either way: with B-frames, decode order moves PTS back by single frames.
        this.#frameTicks = Math.abs(step);
      }
    }
    this.#lastClockPts = pts;
    if (this.#inSegment && !this.#segBroken && ptsDelta(this.#segMaxPts, pts) > 0) this.#segMaxPts = pts;
  }

  /** How long the last unit seen lasts: a frame for video, bytes × ticks-per-byte for audio. */
  #lastUnitTicks(): number {
    if (this.#clockPid !== this.#videoPid && this.#ticksPerByte > 0 && this.#clockPesBytes > 0) {
      return Math.round(this.#clockPesBytes * this.#ticksPerByte);
    }
    return this.#frameTicks;
  }

  #cut(pts: number): void {
    if (this.#inSegment) this.#endSegment(pts, false);
    if (this.#factsStale) {
      this.#facts.reset();
      this.#factsStale = false;
    }
    const discontinuity = this.#discontinuityPending;
    if (this.#anchorPts < 0 || discontinuity) {
      this.#anchorPts = pts;
      this.#anchorWallMs = this.#now();
    }
    this.#discontinuityPending = false;
    this.#inSegment = true;
    this.#segStartPts = pts;
    this.#segMaxPts = pts;
    this.#segBytes = 0;
    this.#segBroken = false;
    this.#segFrames = 1; // the unit that opens the segment
    this.#segDiscontinuity = discontinuity;
    this.#segPdt = new Date(this.#anchorWallMs + ticksToSeconds(ptsDelta(this.#anchorPts, pts)) * 1000);
    this.#sink.begin({ startPts: pts, programDateTime: this.#segPdt, discontinuity });
    // Every segment opens with the current PAT and PMT so it decodes on its own.
    for (const pkt of this.#psi.get(PAT_PID)?.packets ?? []) this.#emit(pkt);
    for (const pkt of this.#psi.get(this.#pmtPid)?.packets ?? []) this.#emit(pkt);
  }

  /** nextPts < 0: no next segment (input ended), so the end is estimated from the last frame. */
  #endSegment(nextPts: number, final: boolean): void {
    const ticks =
      nextPts >= 0 && !this.#segBroken
        ? ptsDelta(this.#segStartPts, nextPts)
        : ptsDelta(this.#segStartPts, this.#segMaxPts) + this.#lastUnitTicks();
    const duration = Math.max(0, ticksToSeconds(ticks));
    const frames = this.#clockPid === this.#videoPid ? this.#segFrames - (nextPts >= 0 ? 1 : 0) : 0;
    const measuredFps = frames > 1 && duration > 0 ? Math.round((frames / duration) * 1000) / 1000 : undefined;
    this.#inSegment = false;
    this.#sink.end({
      startPts: this.#segStartPts,
      programDateTime: this.#segPdt,
      discontinuity: this.#segDiscontinuity,
      duration,
      bytes: this.#segBytes,
      stream: this.#facts.snapshot(measuredFps),
      final,
    });
  }

  // ---- PSI ----

  #onPsi(buf: Uint8Array, off: number, p: number, role: number): void {
    let psi = this.#psi.get(p);
    if (!psi) {
      psi = { assembler: new SectionAssembler(), collecting: [], packets: [], crc: -1, crcAt: -1 };
      this.#psi.set(p, psi);
    }
    // Tables repeat every few packets: a copy of the last one (bar its counter) needs no work.
    if (psi.crcAt > 0 && psi.collecting.length === 0 && sameTable(psi.packets[0], psi.crcAt, buf, off)) return;
    if (payloadUnitStart(buf, off)) psi.collecting = [];
    else if (psi.collecting.length === 0 || psi.collecting.length > 8) return; // no start, or longer than any table
    psi.collecting.push(buf.slice(off, off + TS_PACKET_SIZE));
    const section = psi.assembler.push(buf, off);
    if (!section) return;
    psi.packets = psi.collecting;
    psi.collecting = [];
    psi.crcAt = psi.packets.length === 1 ? crcOffset(psi.packets[0]) : -1;
    const n = section.length;
    const crc = ((section[n - 4] << 24) | (section[n - 3] << 16) | (section[n - 2] << 8) | section[n - 1]) >>> 0;
    if (crc === psi.crc) return; // the same table repeated
    if (role === ROLE_PAT) {
      const programs = parsePat(section);
      if (!programs || programs.length === 0) return;
      const pmtPid = programs[0].pmtPid;
      if (pmtPid === PAT_PID || pmtPid === NULL_PID) {
        this.#logger?.warn('PAT names an impossible PMT PID; skipped', { pmtPid });
        return;
      }
      psi.crc = crc;
      if (pmtPid !== this.#pmtPid) {
        if (this.#pmtPid >= 0) {
          this.#roles[this.#pmtPid] = ROLE_NONE;
          this.#psi.delete(this.#pmtPid);
        }
        // A PID the old program used for media is a table now.
        if (this.#kinds.delete(pmtPid)) this.#pes.drop(pmtPid);
        this.#pmtPid = pmtPid;
        this.#roles[pmtPid] = ROLE_PMT;
      }
    } else {
      const pmt = parsePmt(section);
      if (!pmt) {
        this.#logger?.warn('unusable PMT skipped', { pid: p });
        return;
      }
      psi.crc = crc;
      this.#applyPmt(pmt, p);
    }
  }

  #applyPmt(pmt: Pmt, p: number): void {
    const previous = this.#pmt;
    this.#pmt = pmt;
    for (const pidOf of this.#kinds.keys()) {
      this.#roles[pidOf] = ROLE_NONE;
      this.#pes.drop(pidOf);
    }
    this.#kinds.clear();
    let videoPid = -1;
    let audioPid = -1;
    for (const s of pmt.streams) {
      // A stream on the PAT, PMT or null PID would take over a table's role: a broken PMT.
      if (s.pid === PAT_PID || s.pid === p || s.pid === NULL_PID) continue;
      const kind = mediaKind(s.streamType);
      if (isVideoKind(kind) && videoPid < 0) {
        videoPid = s.pid;
        this.#videoKind = kind;
        this.#roles[s.pid] = ROLE_VIDEO;
        this.#kinds.set(s.pid, kind);
      } else if (isAudioKind(kind)) {
        if (audioPid < 0) audioPid = s.pid;
        this.#roles[s.pid] = ROLE_AUDIO;
        this.#kinds.set(s.pid, kind);
      }
    }
    if (this.#probing && videoPid !== this.#videoPid) this.#resolve(false);
    this.#videoPid = videoPid;
    this.#clockPid = videoPid >= 0 ? videoPid : audioPid;
    const streams = pmt.streams.map((s) => `${s.pid}:0x${s.streamType.toString(16)}`).join(' ');
    if (previous) {
      // New streams may mean a new encoder or codec: players need a discontinuity, and the
      // next segment must start at the new program's first keyframe.
      this.#factsStale = true;
      this.#discontinuityPending = true;
      this.#logger?.info('program changed (new PMT)', { pid: p, version: pmt.version, streams });
    } else {
      this.#logger?.info('program found', { pid: p, version: pmt.version, streams });
    }
    if (this.#clockPid < 0) this.#logger?.warn('no H.264, H.265, AAC or MP3 stream in the program: nothing to cut on', { streams });
  }
}

/**
 * The packet at buf[off] repeats the single-packet table `stored`: same header bar the
 * continuity counter, same pointer and section header, same CRC-32 — a cheaper test than
 * comparing all 188 bytes on every repetition.
 */
function sameTable(stored: Uint8Array, crcAt: number, buf: Uint8Array, off: number): boolean {
  if (stored[1] !== buf[off + 1] || stored[2] !== buf[off + 2] || (stored[3] & 0xf0) !== (buf[off + 3] & 0xf0)) return false;
  for (let i = 4; i < 12; i++) if (stored[i] !== buf[off + i]) return false;
  for (let i = crcAt; i < crcAt + 4; i++) if (stored[i] !== buf[off + i]) return false;
  return true;
}

/** Where the CRC-32 of the section in this single PSI packet sits, or -1 if it does not fit. */
function crcOffset(packet: Uint8Array): number {
  const start = payloadOffset(packet, 0);
  if (start < 0) return -1;
  const section = start + 1 + packet[start]; // after pointer_field
  if (section + 3 > TS_PACKET_SIZE) return -1;
  const end = section + 3 + (((packet[section + 1] & 0x0f) << 8) | packet[section + 2]);
  return end <= TS_PACKET_SIZE && end - 4 >= 12 ? end - 4 : -1;
}
