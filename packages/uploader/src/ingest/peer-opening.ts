/**
 * The first and last moments of a connection, as the 2009 segmenter needs them (protocol
 * session.ts): the greeting waits GREETING_DELAY_MS and goes only to a peer that has not spoken
 * (or whose first line is a hello) — an unread greeting at the 2009 sender's close() would make
 * its kernel reset the connection and destroy the message it sent; and a reset that comes
 * anyway does not throw away a message that had arrived whole.
 */
import type net from 'node:net';
import type { Logger } from '@hlsrelay/log';
import { GREETING_DELAY_MS, parseMessage, type SessionDecoder } from '@hlsrelay/protocol';

export class PeerOpening {
  readonly #socket: net.Socket;
  /** The greeting, until it is sent or can no longer be. */
  #greeting: string | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(socket: net.Socket, greeting: string, delayMs = GREETING_DELAY_MS) {
    this.#socket = socket;
    this.#greeting = greeting;
    this.#timer = setTimeout(() => this.greet(), delayMs);
  }

  /** The peer sent bytes before the greeting: it is not greeted, unless its first line is a hello. */
  spoke(): void {
    clearTimeout(this.#timer);
  }

  /** Greets now (a silent peer, or a new segmenter that sent its hello without waiting). */
  greet(): void {
    const greeting = this.#greeting;
    this.done();
    if (greeting !== undefined && this.#socket.writable) this.#socket.write(greeting);
  }

  /** No greeting any more: the peer's first line was not a hello, or it ended. */
  done(): void {
    clearTimeout(this.#timer);
    this.#greeting = undefined;
  }
}

/**
 * A connection reset (ECONNRESET, no 'end') outside a session: the unterminated message it had
 * sent, if it came whole — its sender had sent it all and closed. Logged at warn either way.
 */
export function messageBeforeReset(decoder: SessionDecoder, logger: Logger, peer: string): string | undefined {
  let last: string | undefined;
  try {
    last = decoder.end();
  } catch {
    // inside a payload: nothing that can be a message
  }
  if (last === undefined) {
    logger.debug('segmenter connection reset', { peer });
    return undefined;
  }
  try {
    parseMessage(last);
  } catch (e) {
    logger.warn('the peer reset the connection before its message was complete; its bytes cannot be used', { peer, reason: (e as Error).message });
    return undefined;
  }
  logger.warn('the peer reset the connection after a complete message; the message is handled', { peer });
  return last;
}
