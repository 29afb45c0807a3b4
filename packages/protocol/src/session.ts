/**
 * The acknowledged session: how a new segmenter learns that an index message is safe with the
 * uploader, on the same TCP port as the 2009 one-message-per-connection exchange.
 *
 * ```
 * uploader → HLSRELAY 1 ack            greeting, sent as soon as a connection is accepted
 * segmenter → HLSRELAY 1               "I speak it": the connection becomes a session
 * segmenter → <index message>          newline-framed, one per line …
 * uploader → OK 1                      … each answered in order, numbered from 1 after the hello:
 * segmenter → <index message>          OK once the message is durably recorded,
 * uploader → ERR 2 <reason>            ERR when it is refused (resending it will not help)
 * ```
 *
 * Compatibility, both ways:
 * - the original segmenter never reads: it sends its message without a newline and closes;
 *   the greeting is simply never read and the message is handled as before (no OK is sent;
 *   an ERR without a number is, as before);
 * - a new segmenter that sees no greeting within a short time (an original uploader never
 *   speaks) falls back to one message per connection.
 *
 * Room to grow, without a new version: the greeting lists features after the version (`ack`
 * always; e.g. `auth` when the uploader wants `AUTH <token>` as the first session line,
 * `payload` for segment bytes on the connection). A session line without a comma whose first
 * word is upper case is a command, never an index message (those have at least nine commas);
 * commands are answered with OK/ERR and numbered like messages.
 */
import { ProtocolError } from './index-message';

export const SESSION_MAGIC = 'HLSRELAY';
export const SESSION_VERSION = 1;
/** Every version-1 uploader acknowledges. */
export const FEATURE_ACK = 'ack';

export interface Greeting {
  version: number;
  /** Lower-case feature words, e.g. `['ack']`. */
  features: string[];
}

/** The uploader's first line. */
export function formatGreeting(features: readonly string[] = [FEATURE_ACK]): string {
  for (const f of features) {
    if (!/^[a-z][a-z0-9-]*$/.test(f)) throw new ProtocolError(`feature "${f}" must be a lower-case word`);
  }
  return [SESSION_MAGIC, String(SESSION_VERSION), ...features].join(' ');
}

/** Parses a greeting; undefined when the line is not one (the peer speaks something else). */
export function parseGreeting(line: string): Greeting | undefined {
  const words = line.trim().split(/ +/);
  if (words[0] !== SESSION_MAGIC || !/^\d{1,6}$/.test(words[1] ?? '')) return undefined;
  return { version: Number(words[1]), features: words.slice(2) };
}

/** The segmenter's answer to a greeting: it speaks version 1. */
export function formatHello(): string {
  return `${SESSION_MAGIC} ${SESSION_VERSION}`;
}

/** True when the line is a segmenter's hello (any version it claims ≥ 1 is held to version 1). */
export function isHello(line: string): boolean {
  const g = parseGreeting(line);
  return g !== undefined && g.version >= 1;
}

export type SessionLine =
  | { kind: 'message'; line: string }
  /** `verb` upper case, `args` the rest of the line split on spaces. */
  | { kind: 'command'; verb: string; args: string[] };

/** Tells a command (`AUTH <token>`, …) from an index message. */
export function classifySessionLine(line: string): SessionLine {
  const m = /^([A-Z][A-Z0-9_-]*)(?: +(.*))?$/.exec(line.trim());
  if (m && !line.includes(',')) return { kind: 'command', verb: m[1], args: m[2] ? m[2].split(/ +/) : [] };
  return { kind: 'message', line };
}

export type Ack =
  | { ok: true; seq: number }
  | { ok: false; seq: number; reason: string };

/** `OK <seq>` or `ERR <seq> <reason>`; the reason is kept on one line. */
export function formatAck(ack: Ack): string {
  if (!Number.isSafeInteger(ack.seq) || ack.seq < 0) throw new ProtocolError(`ack sequence must be a whole number, got ${ack.seq}`);
  return ack.ok ? `OK ${ack.seq}` : `ERR ${ack.seq} ${ack.reason.replace(/[\r\n]+/g, ' ').trim() || 'refused'}`;
}

/**
 * `ERR <reason>`: the unnumbered refusal a connection gets outside a session (an original
 * segmenter, or a connection refused before it could answer the greeting); kept on one line.
 */
export function formatRefusal(reason: string): string {
  return `ERR ${reason.replace(/[\r\n]+/g, ' ')}`;
}

/** Parses an answer line; throws ProtocolError when it is neither form. */
export function parseAck(line: string): Ack {
  const m = /^(OK|ERR) (\d{1,15})(?: (.*))?$/.exec(line.trim());
  if (!m) throw new ProtocolError(`expected "OK <seq>" or "ERR <seq> <reason>", got "${line}"`);
  const seq = Number(m[2]);
  return m[1] === 'OK' ? { ok: true, seq } : { ok: false, seq, reason: m[3] ?? '' };
}
