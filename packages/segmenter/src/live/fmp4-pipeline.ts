/**
 * `--format fmp4`: the TS core still decides every cut (core/cut-rule.ts, through its
 * SegmentSink), and its segment bytes are remuxed by @hlsrelay/fmp4 into an init section and one
 * `.m4s` per TS segment. The remuxer cuts exactly where the core began a segment (by the start
 * PTS), so both formats of a stream have the same segment boundaries.
 *
 * The two sides finish a segment at different moments — the core when the next keyframe's PES
 * starts, the remuxer when that keyframe's access unit is complete (or at once, on a new
 * program) — so each side's segments wait in a queue and are paired by start PTS. The remuxed
 * bytes do not wait in memory: each piece (a remuxed segment) is written to a file of its own as
 * its fragments come, and only named when it is paired.
 */
import type { Logger } from '@hlsrelay/log';
import { TsRemuxer, type InitSegment, type MediaSegment } from '@hlsrelay/fmp4';
import { ptsAdd, ptsDelta, secondsToTicks } from '@hlsrelay/mpegts';
import type { CompletedSegment, SegmentSink, SegmentStart } from '../core/ts-segmenter';

/** A remuxed segment with the core's facts about it. */
export interface PairedSegment {
  /** Timing (program date-time, discontinuity), stream facts and `final` from the core. */
  core: CompletedSegment;
  /** PTS (90 kHz, 33-bit) where this piece starts: the core's start, or later for a piece cut at a codec change. */
  pts: number;
  media: MediaSegment;
  /** The piece whose fragments hold its bytes. */
  piece: number;
  /** The init section these samples need, and whether it differs from the last segment's. */
  init: InitSegment;
  initChanged: boolean;
}

export interface Fmp4PipelineEvents {
  /** An init section the remuxer made; written before any segment that needs it is announced. */
  init(init: InitSegment): void;
  /**
   * Bytes of piece `piece` (1, 2, … in order; the first fragment opens it), as views to be
   * written now and in order: they are the input's bytes.
   */
  fragment(piece: number, parts: Uint8Array[], opensPiece: boolean): void;
  /** Piece `piece` is complete (its file can be closed); it is paired and announced later, or dropped. */
  pieceEnd(piece: number): void;
  segment(paired: PairedSegment): void;
  /** A complete piece that will never be announced. */
  dropped(piece: number): void;
}

interface Remuxed {
  startPts: number;
  media: MediaSegment;
  piece: number;
}

export class Fmp4Pipeline implements SegmentSink {
  readonly #events: Fmp4PipelineEvents;
  readonly #logger?: Logger;
  readonly #remuxer: TsRemuxer;
  /** Start PTS of every segment the core began that the remuxer has not cut at yet. */
  readonly #cuts = new Set<number>();
  /** Completed on each side, in order, not yet paired. */
  readonly #core: CompletedSegment[] = [];
  readonly #remuxed: Remuxed[] = [];
  /** Identity of the init the last announced segment used. */
  #lastInit = '';
  /** The core segment paired last, and the seconds of remuxed pieces announced for it. */
  #last: { core: CompletedSegment; elapsed: number } | null = null;
  #finalSeen = false;
  #piece = 0;

  /** `discontinuityTicks`: the core's threshold, so the remuxer splices out the same jumps (TrackTimeline). */
  constructor(events: Fmp4PipelineEvents, logger?: Logger, discontinuityTicks?: number) {
    this.#events = events;
    this.#logger = logger;
    this.#remuxer = new TsRemuxer({
      discontinuityTicks,
      wantsCut: (_ticks, pts) => this.#cuts.delete(pts),
      output: (o) => {
        if (o.type === 'init') return this.#events.init(o.init);
        if (o.type === 'fragment') return this.#events.fragment(o.opensSegment ? ++this.#piece : this.#piece, o.parts, o.opensSegment);
        this.#events.pieceEnd(this.#piece);
        this.#remuxed.push({ startPts: this.#remuxer.openSegmentPts, media: o.segment, piece: this.#piece });
        // While finishing, every piece is out before any is paired: only the last may end the stream.
        if (!this.#finalSeen) this.#pair();
      },
      warn: (message, context) => this.#logger?.warn(message, context),
    });
  }

  // ---- SegmentSink (the core's side) ----

  begin(segment: SegmentStart): void {
    this.#cuts.add(segment.startPts);
  }

  /** Throws UnsupportedCodecError (MP3) when the program names a stream fMP4 cannot carry. */
  write(bytes: Uint8Array): void {
    // The core passes on whole packets it has synced already: not searched for sync again.
    this.#remuxer.pushPackets(bytes);
  }

  end(segment: CompletedSegment): void {
    this.#core.push(segment);
    if (segment.final) {
      // The core finished: so does the remuxer, whose last segment is the one the core just closed.
      this.#finalSeen = true;
      this.#remuxer.finish();
    }
    this.#pair();
  }

  /** Input ended with no segment open in the core: whatever the remuxer holds is emitted. */
  finish(): void {
    if (!this.#finalSeen) this.#remuxer.finish();
    this.#pair();
    for (const c of this.#core.splice(0)) this.#logger?.error('segment could not be remuxed to fMP4: lost', { startPts: c.startPts });
    for (const m of this.#remuxed.splice(0)) {
      this.#logger?.error('fMP4 segment with no TS segment to time it: dropped', { startPts: m.startPts, sequence: m.media.sequence });
      this.#events.dropped(m.piece);
    }
  }

  /**
   * Pairs the two queues in order. The remuxer may also close a segment where the core did not
   * cut: a codec change at a keyframe inside a segment ends the samples of the old init there. That
   * piece has the same start PTS as the one before it and is announced as a segment of its own,
   * after a discontinuity, timed on from its predecessor.
   */
  #pair(): void {
    for (;;) {
      const made = this.#remuxed[0];
      const last = this.#last;
      if (made && last && made.startPts === last.core.startPts) {
        this.#remuxed.shift();
        const core = { ...last.core, programDateTime: new Date(last.core.programDateTime.getTime() + last.elapsed * 1000), discontinuity: true };
        this.#announce(core, made);
        continue;
      }
      const core = this.#core[0];
      if (!made || !core) return;
      const d = ptsDelta(core.startPts, made.startPts);
      if (d > 0) {
        // The core cut where the remuxer saw no keyframe: that stretch is inside the remuxed
        // segment before it, already announced, so nothing is lost.
        this.#core.shift();
        this.#logger?.warn('the remuxer found no keyframe where the TS segment starts; it stays in the previous fMP4 segment', { startPts: core.startPts });
        continue;
      }
      if (d < 0) {
        this.#remuxed.shift();
        this.#logger?.error('fMP4 segment with no TS segment to time it: dropped', { startPts: made.startPts, sequence: made.media.sequence });
        this.#events.dropped(made.piece);
        continue;
      }
      this.#core.shift();
      this.#cuts.delete(core.startPts);
      this.#last = { core, elapsed: 0 };
      this.#remuxed.shift();
      this.#announce(core, made);
    }
  }

  #announce(core: CompletedSegment, made: Remuxed): void {
    // Pieces of one core segment are all out once the input ended: only the last one ends the stream.
    const final = core.final && this.#remuxed[0]?.startPts !== core.startPts;
    const pts = ptsAdd(core.startPts, secondsToTicks(this.#last!.elapsed));
    this.#last!.elapsed += made.media.duration;
    const init = made.media.init;
    const initChanged = this.#lastInit !== '' && this.#lastInit !== init.identity;
    this.#lastInit = init.identity;
    this.#events.segment({ core: { ...core, final }, pts, media: made.media, piece: made.piece, init, initChanged });
  }
}
