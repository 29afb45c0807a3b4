/**
 * Rate-limits a log line that a fault repeats (a wrong port retried every few seconds, a scanner
 * knocking on the index port): the first occurrence of each kind is logged, then at most one per
 * interval, carrying how many were held back — so a fault is said every time it matters and
 * never floods the log.
 */
export class RepeatFilter {
  readonly #intervalMs: number;
  readonly #now: () => number;
  /** Per kind: when it was last let through, and how many were held back since. */
  readonly #kinds = new Map<string, { at: number; held: number }>();

  constructor(options: { intervalMs?: number; now?: () => number } = {}) {
    this.#intervalMs = options.intervalMs ?? 30_000;
    this.#now = options.now ?? Date.now;
    if (!(this.#intervalMs >= 0)) throw new TypeError(`intervalMs must be ≥ 0, got ${this.#intervalMs}`);
  }

  /**
   * One occurrence of `kind`. Returns undefined when it is held back; otherwise how many were
   * held back since the last one let through (0 for the first), to put on the line.
   */
  pass(kind: string): number | undefined {
    const now = this.#now();
    const k = this.#kinds.get(kind);
    if (k && now - k.at < this.#intervalMs) {
      k.held++;
      return undefined;
    }
    // Bounded: a kind is a reason or a peer address, and stale ones are dropped.
    if (this.#kinds.size >= 1024) {
      for (const [key, v] of this.#kinds) if (now - v.at >= this.#intervalMs) this.#kinds.delete(key);
    }
    this.#kinds.set(kind, { at: now, held: 0 });
    return k?.held ?? 0;
  }
}

/**
 * The kind of a reason text, for a RepeatFilter: quoted values, paths and numbers blanked, so
 * "segment file /a/s-00001.ts lies outside …" and the same for segment 2 are one kind.
 */
export function repeatKind(reason: string): string {
  return reason
    .replace(/"[^"]*"/g, '"…"')
    .replace(/\S*\/\S*/g, '…')
    .replace(/\d+/g, '#');
}
