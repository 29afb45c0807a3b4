/**
 * One TCP connection to the uploader, and what the peer on it turns out to be (protocol
 * session.ts):
 * - a new uploader greets us (after its short wait): we answer the hello and keep the
 *   connection as an acknowledged session;
 * - an original uploader says nothing: only after `greetingTimeoutMs` of positive silence
 *   (connected, no byte, not closed) does the connection carry one message the 2009 way;
 * - anything else — TLS records, `HTTP/`, a banner, an ERR, a close at once — is a WrongPeer or
 *   Refused error that names what was reached and the fix; the message stays undelivered.
 */
import net from 'node:net';
import tls from 'node:tls';
import {
  FEATURE_ACK,
  FEATURE_AUTH,
  isTlsRecord,
  MessageDecoder,
  parseGreeting,
  recogniseForeignPeer,
  type HostPort,
} from '@hlsrelay/protocol';
import { UploaderSession } from './uploader-session';

export interface ConnectOptions {
  /** How long to wait for a greeting before treating the uploader as an original one. */
  greetingTimeoutMs: number;
  /** No progress for this long ends the connection with an error. */
  timeoutMs: number;
  /** Do not wait for a greeting (the uploader was just seen not to send one). */
  assumeOriginal?: boolean;
  /** The shared token, presented when the uploader's greeting asks for it (`auth`). */
  token?: string;
  /** Connect over TLS, trusting this CA (PEM) for the uploader's certificate. */
  tls?: { ca: Buffer };
}

/**
 * The peer is not an uploader this segmenter can talk to: retrying the same address will meet
 * the same peer, so it is an error for the operator (wrong port, missing --tls-ca), not an outage.
 */
export class WrongPeerError extends Error {
  override readonly name = 'WrongPeerError';
  constructor(
    message: string,
    /** What to change, for the log line. */
    readonly fix: string,
  ) {
    super(message);
  }
}

/** The uploader answered and said no (a wrong token, too many connections): its reason, verbatim. */
export class RefusedError extends Error {
  override readonly name = 'RefusedError';
  constructor(
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }
}

export type Connected =
  | { kind: 'session'; session: UploaderSession }
  /** `spoiled()` says why the silent peer can no longer be trusted to be an original uploader (it spoke or closed since). */
  | { kind: 'original'; socket: net.Socket; spoiled: () => Error | undefined };

const TOKEN_FIX = 'give this segmenter the uploader\'s token (--token-file FILE or $HLSRELAY_TOKEN, the same on both)';

/** Connects and finds out what the peer is. Rejects when it cannot connect or is not an uploader. */
export function connectToUploader(address: HostPort, options: ConnectOptions): Promise<Connected> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let connected = false;
    const socket = options.tls
      ? tls.connect({ host: address.host, port: address.port, ca: options.tls.ca, servername: net.isIP(address.host) ? undefined : address.host })
      : net.connect({ host: address.host, port: address.port });
    const decoder = new MessageDecoder();
    /** The peer's first bytes, kept to say what it is. */
    let heard = Buffer.alloc(0);
    let greetingTimer: NodeJS.Timeout | undefined;
    const settle = (result: Connected | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(greetingTimer);
      socket.removeListener('data', onData);
      if (result instanceof Error) {
        socket.destroy();
        reject(result);
      } else {
        resolve(result);
      }
    };
    const original = (): void => {
      // Watched from here on: bytes or a close before the message goes mean the silence was not an original uploader's.
      let spoiled: Error | undefined;
      // Idle until a message comes: an original uploader never closes a connection it was given.
      socket.setTimeout(0);
      socket.on('data', (chunk: Buffer) => (spoiled ??= foreign(chunk)));
      socket.on('close', () => (spoiled ??= new Error('the uploader closed an idle connection')));
      socket.on('error', (e) => (spoiled ??= e));
      settle({ kind: 'original', socket, spoiled: () => spoiled });
    };
    const onData = (chunk: Buffer): void => {
      heard = Buffer.concat([heard, chunk]).subarray(0, 256);
      let lines: string[];
      try {
        lines = decoder.push(chunk);
      } catch {
        settle(foreign(heard));
        return;
      }
      // A TLS record has no line end to wait for.
      if (lines.length === 0) {
        if (!options.tls && isTlsRecord(heard)) settle(foreign(heard));
        return;
      }
      const greeting = parseGreeting(lines[0]);
      if (!greeting || greeting.version < 1 || !greeting.features.includes(FEATURE_ACK)) {
        settle(/^ERR\b/.test(lines[0]) ? refusedBeforeGreeting(lines[0]) : foreign(heard));
        return;
      }
      const session = new UploaderSession(socket, options.timeoutMs, greeting.features);
      // The token goes only to an uploader that asks for it.
      if (!greeting.features.includes(FEATURE_AUTH)) {
        settle({ kind: 'session', session });
      } else if (options.token === undefined) {
        session.close();
        settle(new RefusedError('the uploader wants a token and this segmenter has none', TOKEN_FIX));
      } else {
        // From here on the session reads the answers (the OK to AUTH is not a greeting).
        clearTimeout(greetingTimer);
        socket.removeListener('data', onData);
        session.authenticate(options.token).then(
          (ack) => settle(ack.ok ? { kind: 'session', session } : new RefusedError(`the uploader refused the token: ${ack.reason}`, TOKEN_FIX)),
          (e: Error) => settle(e),
        );
      }
    };
    socket.setTimeout(options.timeoutMs, () =>
      settle(
        connected || !options.tls
          ? new Error(`no progress for ${options.timeoutMs} ms`)
          : new WrongPeerError(`no answer to the TLS handshake in ${options.timeoutMs} ms: a plaintext uploader, or an original one?`, 'drop --tls-ca, or start the uploader with --tls-cert and --tls-key'),
      ),
    );
    socket.on('data', onData);
    socket.once('error', (e: NodeJS.ErrnoException) => settle(options.tls && !connected ? tlsFailure(e) : e));
    socket.once('close', () => settle(connected ? closedWithoutGreeting(heard) : new Error('connection closed before it was established')));
    // Over TLS the greeting can only come once the handshake is done.
    socket.once(options.tls ? 'secureConnect' : 'connect', () => {
      connected = true;
      if (options.assumeOriginal) original();
      else greetingTimer = setTimeout(original, options.greetingTimeoutMs);
    });
  });
}

/** What a 2009-form send came to: handed over, or refused by an uploader that answers ERR after EOF. */
export type OriginalOutcome = { ok: true } | { ok: false; reason: string };

/**
 * Sends one message the 2009 way on a connection: the message, FIN, then a short look at the
 * answer. An original uploader never writes: its close (or `answerWindowMs` of silence) means it
 * has the message. A newer uploader answers a bad one with `ERR <reason>`; any other bytes mean
 * the peer was not an uploader (an HTTP server's 400), and the message is not delivered.
 */
export function sendOriginal(
  c: Extract<Connected, { kind: 'original' }>,
  message: string,
  { answerWindowMs, timeoutMs }: { answerWindowMs: number; timeoutMs: number },
): Promise<OriginalOutcome> {
  const { socket } = c;
  const spoiled = c.spoiled();
  if (spoiled) {
    socket.destroy();
    return Promise.reject(spoiled);
  }
  return new Promise((resolve, reject) => {
    let answer = Buffer.alloc(0);
    let timer: NodeJS.Timeout | undefined;
    const done = (result: OriginalOutcome | Error): void => {
      clearTimeout(timer);
      socket.destroy();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    socket.removeAllListeners('data');
    socket.removeAllListeners('close');
    socket.removeAllListeners('error');
    socket.on('data', (chunk: Buffer) => (answer = Buffer.concat([answer, chunk]).subarray(0, 4096)));
    socket.once('error', (e) => done(e));
    socket.once('close', () => done(answerOf(answer)));
    socket.setTimeout(timeoutMs, () => done(new Error(`the message could not be handed over in ${timeoutMs} ms`)));
    socket.end(message, () => {
      timer = setTimeout(() => done(answerOf(answer)), answerWindowMs);
    });
  });
}

/** The peer's answer to a 2009-form message: nothing (delivered), an uploader's ERR, or proof it was no uploader. */
function answerOf(bytes: Buffer): OriginalOutcome | Error {
  if (bytes.length === 0) return { ok: true };
  const text = bytes.toString('utf8');
  const err = /^ERR (.*)/.exec(text);
  if (err) return { ok: false, reason: err[1].trim() };
  return foreign(bytes);
}

function foreign(bytes: Uint8Array): WrongPeerError {
  const peer = recogniseForeignPeer(bytes);
  return new WrongPeerError(`--uploader reached ${peer.what}`, peer.fix);
}

/** An uploader refuses before its greeting only for the connection itself (too many, from this address). */
function refusedBeforeGreeting(line: string): RefusedError {
  return new RefusedError(`the uploader refused the connection: ${line.replace(/^ERR\s*/, '')}`, 'see the uploader\'s log and its connection limits');
}

/** Connected, then closed before a greeting or the greeting timeout: no uploader does that (unless full). */
function closedWithoutGreeting(heard: Buffer): Error {
  if (heard.length > 0) return foreign(heard);
  return new WrongPeerError(
    'the peer on --uploader closed the connection at once, without a greeting: no uploader does that (unless at its connection limit)',
    'check --uploader (host and index port) and the uploader\'s log',
  );
}

/** A TLS connection that never became one: say which side is wrong. */
function tlsFailure(e: NodeJS.ErrnoException): Error {
  const code = e.code ?? '';
  if (/CERT|SELF_SIGNED|UNABLE_TO_|ALTNAME|SIGNATURE/.test(code)) {
    return new WrongPeerError(`the uploader's certificate is not trusted (${code}: ${e.message})`, 'give --tls-ca the CA that signed it, and --uploader the host name it names');
  }
  if (/wrong version number|packet length too long|unexpected eof|disconnected before secure/i.test(e.message) || code === 'ECONNRESET') {
    return new WrongPeerError(`the TLS handshake failed (${e.message}): a plaintext uploader on this port?`, 'drop --tls-ca, or start the uploader with --tls-cert and --tls-key');
  }
  return e;
}
