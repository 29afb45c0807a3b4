/**
 * The acknowledged session: how a new segmenter learns that an index message is safe with the
 * uploader, on the same TCP port as the 2009 one-message-per-connection exchange.
 *
 * ```
 * segmenter connects, says nothing     the uploader waits GREETING_DELAY_MS for a first byte …
 * uploader → HLSRELAY 1 ack            … and greets only a peer that has not spoken first
 * segmenter → HLSRELAY 1               "I speak it": the connection becomes a session
 * segmenter → <index message>          newline-framed, one per line …
 * uploader → OK 1                      … each answered in order, numbered from 1 after the hello:
 * segmenter → <index message>          OK once the message is durably recorded,
 * uploader → ERR 2 <reason>            ERR when it is refused (resending it will not help)
 * ```
 *
 * Why the uploader waits before it greets: the 2009 segmenter (`live_upload`) connects, sends its
 * message without a newline and closes without ever reading. Had the uploader written a greeting
 * that is still unread at that close(), the segmenter's kernel would answer with RST instead of
 * FIN, and the uploader's kernel may throw away the message it had already received (Node sees
 * ECONNRESET, no 'end'). So a peer that speaks first is a 2009 connection and is never written to
 * before its EOF; a new segmenter waits to be greeted, and a 150 ms wait costs it nothing (it
 * connects ahead, while the segment is still being cut). A peer whose first line is a hello is
 * new all the same and gets the greeting then.
 *
 * Compatibility, both ways, and what is not an uploader:
 * - the original segmenter never reads: its message is handled at EOF as before (no OK is sent;
 *   an ERR without a number is, after its EOF); a start-up message (`last_segment` 0, which
 *   s3server.rb skips with `if last_segment.to_i > 0`) is accepted and ignored (OK in a session);
 * - a new segmenter falls back to one message per connection only when the peer is positively
 *   silent: connected, not closed, no byte for GREETING_TIMEOUT_MS — as the original uploader is.
 *   A peer that says anything else first (a TLS record, `HTTP/`, `SSH-`, TLS_REQUIRED …) or
 *   closes at once is not an uploader: an error naming what it is (foreign-peer.ts), the message
 *   stays undelivered. After a 2009-form send, a peer that answers with bytes was not an uploader
 *   either (an original uploader never writes);
 * - a TLS uploader tells a silent plaintext peer TLS_REQUIRED on one line, then closes.
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
/** How long the uploader waits for a new connection's first byte before it greets (see above). */
export const GREETING_DELAY_MS = 150;
/** How long a segmenter waits for the greeting before it calls the peer an original uploader. */
export const GREETING_TIMEOUT_MS = 1000;
/** The one line a TLS uploader sends a plaintext peer that waits to be greeted. */
export const TLS_REQUIRED = `${SESSION_MAGIC} TLS`;

/** TLS_REQUIRED with its reason, as the uploader writes it. */
export function formatTlsRequired(): string {
  return `${TLS_REQUIRED} this port takes TLS only: give the segmenter --tls-ca FILE`;
}

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
