/**
 * Every master's timeline (playlist/master-timeline.ts): the program date-time each rendition
 * segment is listed with. A segment of a stream that names a master and carries its first PTS
 * (`pts=`) and its segmenter's clock (`pdt=`) is dated on the master's shared timeline; any other
 * segment keeps the date-time its segmenter sent (streams without a master, 2009 messages).
 *
 * A rendition whose PTS is not on the timeline the master's other renditions are using at the
 * same time (encoders that do not share timestamps) gets an anchor of its own — its date-times are
 * its segmenter's clock, as without a master — and is warned about once per stream.
 */
import type { Logger } from '@hlsrelay/log';
import type { IndexMessage } from '@hlsrelay/protocol';
import { MasterTimeline } from '../playlist/master-timeline';
import { TimelineStore } from '../state/timeline-store';
import { masterIdOf } from './master-publisher';

export interface MasterTimelinesOptions {
  logger: Logger;
  /** The state directory: timelines continue across restarts. In memory without it. */
  stateDir?: string;
}

export class MasterTimelines {
  readonly #logger: Logger;
  readonly #store: TimelineStore | undefined;
  /** By master id. */
  readonly #timelines = new Map<string, MasterTimeline>();
  /** Streams already warned about being off their master's timeline. */
  readonly #warned = new Set<string>();

  constructor(options: MasterTimelinesOptions) {
    this.#logger = options.logger;
    this.#store = options.stateDir === undefined ? undefined : new TimelineStore(options.stateDir);
    for (const [id, snapshot] of this.#store?.saved ?? []) this.#timelines.set(id, new MasterTimeline(snapshot));
  }

  /**
   * The program date-time to list the segment `m` announces with (call once it is stored, just
   * before it is listed). `breaks`: the stream's timestamps broke before it (a discontinuity or a
   * segmenter restart), so a new anchor is expected rather than warned about.
   */
  programDateTime(m: IndexMessage, stream: string, breaks: boolean): Date | undefined {
    const guess = m.ext.programDateTime;
    if (m.ext.master === undefined || m.ext.pts === undefined || guess === undefined) return guess;
    const master = masterIdOf(m, m.ext.master);
    let timeline = this.#timelines.get(master);
    if (!timeline) {
      timeline = new MasterTimeline();
      this.#timelines.set(master, timeline);
    }
    const placed = timeline.place(m.ext.pts, guess.getTime());
    if (placed.changed) this.#save(master, timeline, stream);
    const programDateTime = new Date(placed.ms);
    if (placed.anchored) {
      const context = { stream, master, segment: m.lastSegment, pts: m.ext.pts, programDateTime: programDateTime.toISOString() };
      const offset = placed.offsetMs === undefined ? {} : { offsetSeconds: placed.offsetMs / 1000 };
      if (placed.concurrent && !breaks && !this.#warned.has(stream)) {
        this.#warned.add(stream);
        this.#logger.warn(
          "rendition's timestamps are not on the timeline its master's other renditions use (encoders that do not share PTS); " +
            'its EXT-X-PROGRAM-DATE-TIME comes from its own segmenter clock, so players that align variants by date-time may jump on a switch',
          { ...context, ...offset },
        );
      } else {
        this.#logger.info('master timeline anchored: program date-times count from this segment', { ...context, ...offset });
      }
    }
    return programDateTime;
  }

  #save(master: string, timeline: MasterTimeline, stream: string): void {
    try {
      this.#store?.save(master, timeline.snapshot());
    } catch (err) {
      // Not worth stopping the stream for: only the dates after a restart could move.
      this.#logger.error('master timeline could not be saved; after a restart its renditions may be dated anew', { master, stream, error: (err as Error).message });
    }
  }
}
