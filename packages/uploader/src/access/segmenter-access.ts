/**
 * Access control, one vocabulary for the whole folder: *access* is who may connect and what a
 * message may touch; *limits* are how much. SegmenterAccess admits each new connection within
 * the ConnectionLimits (connections per peer and in all) and checks the shared token; each
 * AdmittedConnection knows whether it authenticated and carries the ConnectionGuard that holds it
 * to its limits (pace, deadlines). What a message may touch is the MessagePolicy (AllowedPaths,
 * AllowedKeys), checked again at read and write time by the ConfinedTarget wrapper.
 *
 * With a shared token (shared-token.ts in the protocol) the greeting offers `auth` and a session
 * must open with `AUTH <token>`; anything else first, or a wrong token, ends the connection with
 * ERR. Connections that never open a session — the 2009 segmenter — cannot authenticate, so they
 * are only served without a token.
 */
import { repeatKind, type Logger, type RepeatFilter } from '@hlsrelay/log';
import { authArgument, FEATURE_AUTH, ProtocolError, tokenMatches } from '@hlsrelay/protocol';
import { ConnectionGuard, type IntakeRoom, type PausableSource } from './connection-guard';
import { PeerConnections, type ConnectionLimits } from './connection-limits';

/** A refusal after which the connection is closed (its peer cannot be served at all). */
export class ConnectionRefusal extends ProtocolError {
  readonly endsConnection = true;
}

export interface SegmenterAccessOptions {
  limits: ConnectionLimits;
  /** The shared token; undefined serves everyone who reaches the port (as in 2009). */
  token?: string;
  logger: Logger;
  /** Rate limit of the warnings a misconfigured or hostile peer repeats (refusals, failed logins). */
  repeats: RepeatFilter;
  /** While it says the uploader is full, every connection's lines wait unread (backlog-limit.ts). */
  room?: IntakeRoom;
}

export class SegmenterAccess {
  readonly limits: ConnectionLimits;
  readonly #token: string | undefined;
  readonly #logger: Logger;
  readonly #repeats: RepeatFilter;
  readonly #peers: PeerConnections;
  readonly #room: IntakeRoom | undefined;
  #refusedConnections = 0;
  #failedAuth = 0;
  #paced = 0;

  constructor(options: SegmenterAccessOptions) {
    this.limits = options.limits;
    this.#token = options.token;
    this.#logger = options.logger;
    this.#repeats = options.repeats;
    this.#peers = new PeerConnections(options.limits);
    this.#room = options.room;
  }

  /** Feature words the greeting adds. */
  get features(): string[] {
    return this.#token === undefined ? [] : [FEATURE_AUTH];
  }

  /**
   * Since start: connections refused at the admitted (limits), sessions that failed to authenticate,
   * and times a line waited for the message rate.
   */
  get stats(): { refusedConnections: number; failedAuthentications: number; pacedLines: number } {
    return { refusedConnections: this.#refusedConnections, failedAuthentications: this.#failedAuth, pacedLines: this.#paced };
  }

  /**
   * A new connection from `address`: a AdmittedConnection, or the reason it is refused (the caller answers it
   * with ERR and closes; nothing was counted).
   */
  admit(address: string, peer: string, socket: PausableSource, onExpired: (reason: string) => void): AdmittedConnection | string {
    const refusal = this.#peers.admit(address);
    if (refusal) {
      this.#refusedConnections += 1;
      this.#warn(`${address} refused ${repeatKind(refusal)}`, 'connection refused', { peer, reason: refusal });
      return refusal;
    }
    const guard = new ConnectionGuard({ limits: this.limits, socket, onExpired, onThrottled: () => (this.#paced += 1), room: this.#room });
    return new AdmittedConnection(this, address, peer, guard, this.#token === undefined);
  }

  /** Checks an AUTH command; throws ConnectionRefusal (logged) when it fails. */
  authenticate(admitted: AdmittedConnection, args: readonly string[]): void {
    let offered: string;
    try {
      offered = authArgument(args);
    } catch (err) {
      this.#authFailed(admitted, (err as Error).message);
    }
    if (this.#token === undefined) return; // nothing asked: accepted, harmlessly
    if (!tokenMatches(offered, this.#token)) this.#authFailed(admitted, 'wrong token');
    admitted.authenticated = true;
    this.#logger.debug('segmenter authenticated', { peer: admitted.peer });
  }

  /** A line before (or without) authenticating; throws ConnectionRefusal when a token is required. */
  requireAuthenticated(admitted: AdmittedConnection, inSession: boolean): void {
    if (admitted.authenticated) return;
    this.#authFailed(
      admitted,
      inSession
        ? 'authentication required: send AUTH <token> first'
        : 'authentication required: this uploader serves only segmenters that present its token (--token-file)',
    );
  }

  release(admitted: AdmittedConnection): void {
    this.#peers.release(admitted.address);
  }

  /** A warning a peer may repeat many times a second: the first, then one per interval with the count held back. */
  #warn(kind: string, message: string, fields: Record<string, unknown>): void {
    const held = this.#repeats.pass(kind);
    if (held !== undefined) this.#logger.warn(message, held > 0 ? { ...fields, repeated: held } : fields);
  }

  #authFailed(admitted: AdmittedConnection, reason: string): never {
    this.#failedAuth += 1;
    this.#warn(`${admitted.address} auth ${repeatKind(reason)}`, 'authentication failed', { peer: admitted.peer, reason });
    throw new ConnectionRefusal(reason);
  }
}

/** One admitted connection. */
export class AdmittedConnection {
  authenticated: boolean;
  #closed = false;

  constructor(
    readonly access: SegmenterAccess,
    readonly address: string,
    readonly peer: string,
    readonly guard: ConnectionGuard,
    authenticated: boolean,
  ) {
    this.authenticated = authenticated;
  }

  /** The connection closed: its slot is free again and lines already received are handed over. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.guard.close();
    this.access.release(this);
  }
}
