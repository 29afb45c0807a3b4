/**
 * Where master timelines (playlist/master-timeline.ts) survive a restart: one record file in the
 * state directory, `master-timelines.log`, holding every master's anchors. A timeline changes
 * rarely (its first segment, a restarted encoder, every ~6.6 h of PTS), so each change replaces
 * the whole file crash-safely (protocol RecordLog) before the segment dated by it is listed: a
 * restarted uploader dates every segment exactly as the run before it did.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { RecordLog } from '@hlsrelay/protocol';
import type { TimelineSnapshot } from '../playlist/master-timeline';

export const TIMELINE_FILE = 'master-timelines.log';

export class TimelineStore {
  readonly #log: RecordLog;
  readonly #timelines = new Map<string, TimelineSnapshot>();

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.#log = new RecordLog(path.join(dir, TIMELINE_FILE));
    for (const payload of this.#log.read().payloads) {
      const r = JSON.parse(payload) as { master?: unknown; anchors?: unknown };
      if (typeof r.master === 'string' && Array.isArray(r.anchors)) this.#timelines.set(r.master, { anchors: r.anchors as TimelineSnapshot['anchors'] });
    }
  }

  /** Every master's timeline as last saved, by master id. */
  get saved(): ReadonlyMap<string, TimelineSnapshot> {
    return this.#timelines;
  }

  /** Records `snapshot` as the master's timeline; on disk when it returns. */
  save(master: string, snapshot: TimelineSnapshot): void {
    this.#timelines.set(master, structuredClone(snapshot));
    this.#log.replace([...this.#timelines].map(([id, s]) => JSON.stringify({ master: id, anchors: s.anchors })));
  }
}
