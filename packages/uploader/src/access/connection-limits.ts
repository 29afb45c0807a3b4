/**
 * How much of the uploader one peer may take: connections at once, time to finish a line, time
 * idle, messages per second. The 2009 uploader had no limits, so one misbehaving or hostile host
 * could hold every socket and file descriptor (a flood of connections), or keep threads and
 * memory busy with connections that trickle a byte now and then and never finish a message
 * (slowloris). Each limit here ends or slows only the connection that breaks it.
 *
 * Defaults are generous for honest segmenters: the classic deployment runs every rendition on the
 * uploader's own machine, so hundreds of connections from 127.0.0.1 are normal, and a segmenter
 * back from an outage delivers its queued messages in a burst (they are slowed, never dropped).
 */

export interface ConnectionLimits {
  /** Connections open at once, all peers together. */
  maxConnections: number;
  /** Connections open at once from one IP address. */
  maxConnectionsPerPeer: number;
  /**
   * A line (a message or a session command) must be complete within this many ms of its first
   * byte — and a new connection's first line within this many ms of connecting. Trickling bytes
   * does not extend it.
   */
  lineTimeoutMs: number;
  /** A connection that sends nothing at all for this long is closed (sessions idle between segments). */
  idleTimeoutMs: number;
  /** Sustained messages per second on one connection; faster ones wait (reading pauses), never dropped. */
  messagesPerSecond: number;
  /** Messages one connection may send at once before the rate applies. */
  messageBurst: number;
  /** Bytes of answers waiting for a peer that does not read them, before its connection is closed. */
  maxUnreadReplyBytes: number;
}

export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = Object.freeze({
  maxConnections: 4096,
  maxConnectionsPerPeer: 1024,
  lineTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
  messagesPerSecond: 100,
  messageBurst: 500,
  maxUnreadReplyBytes: 64 * 1024,
});

/** Fills in defaults and validates; throws a TypeError that names the limit, what was expected and what came. */
export function connectionLimits(given: Partial<ConnectionLimits> = {}): ConnectionLimits {
  const limits = { ...DEFAULT_CONNECTION_LIMITS };
  for (const [name, value] of Object.entries(given) as Array<[keyof ConnectionLimits, number | undefined]>) {
    if (value === undefined) continue;
    if (!(name in DEFAULT_CONNECTION_LIMITS)) throw new TypeError(`unknown connection limit "${name}"`);
    const whole = name !== 'messagesPerSecond';
    if (!(value > 0) || !Number.isFinite(value) || (whole && !Number.isInteger(value))) {
      throw new TypeError(`${name} must be ${whole ? 'a whole number' : 'a number'} > 0, got ${value}`);
    }
    limits[name] = value;
  }
  return limits;
}

/** Counts open connections per peer address, to admit or refuse a new one. */
export class PeerConnections {
  readonly #limits: ConnectionLimits;
  readonly #open = new Map<string, number>();
  #total = 0;

  constructor(limits: ConnectionLimits) {
    this.#limits = limits;
  }

  /** Counts the connection in and returns undefined, or returns why it is refused (nothing counted). */
  admit(address: string): string | undefined {
    if (this.#total >= this.#limits.maxConnections) return `the uploader has ${this.#total} connections open, its limit`;
    const n = this.#open.get(address) ?? 0;
    if (n >= this.#limits.maxConnectionsPerPeer) return `too many connections from ${address} (limit ${this.#limits.maxConnectionsPerPeer})`;
    this.#open.set(address, n + 1);
    this.#total += 1;
    return undefined;
  }

  /** A connection admitted earlier closed. */
  release(address: string): void {
    const n = this.#open.get(address) ?? 0;
    if (n <= 1) this.#open.delete(address);
    else this.#open.set(address, n - 1);
    if (n > 0) this.#total -= 1;
  }

  get total(): number {
    return this.#total;
  }

  /** Open connections from one address. */
  from(address: string): number {
    return this.#open.get(address) ?? 0;
  }
}
