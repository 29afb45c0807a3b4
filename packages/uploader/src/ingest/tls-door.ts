/**
 * The TLS index port's door: it looks at a new connection's first byte before any TLS is
 * spoken, so that a mistake gets a clear answer instead of a silent failed handshake.
 * - 0x16 (a TLS handshake record, RFC 8446 §5.1): a TLS client; the handshake goes on.
 * - nothing for GREETING_DELAY_MS: a plaintext peer waiting to be greeted — a segmenter
 *   without --tls-ca. It is told TLS_REQUIRED on one line (a new segmenter says "give
 *   --tls-ca"), then the connection ends.
 * - other bytes: a plaintext sender (the 2009 segmenter cannot do TLS). Never written to before
 *   its EOF (protocol session.ts); then TLS_REQUIRED, and the connection ends.
 * Every case that is not TLS, and every failed handshake, is a warning naming the peer, the
 * reason and the likely fix, rate-limited per peer address.
 */
import type net from 'node:net';
import tls from 'node:tls';
import { RepeatFilter, type Logger } from '@hlsrelay/log';
import { formatTlsRequired, frameMessage, GREETING_DELAY_MS, startsTlsHandshake } from '@hlsrelay/protocol';

export interface TlsDoorOptions {
  secureContext: tls.SecureContext;
  /** A handshake must be done within this many ms. */
  handshakeTimeoutMs: number;
  logger: Logger;
  greetingDelayMs?: number;
  /** The clock of the warnings' rate limit. */
  now?: () => number;
}

const NO_CA_FIX = 'a segmenter without --tls-ca? give it --tls-ca FILE (the CA that signed this uploader\'s certificate)';

export class TlsDoor {
  readonly #options: TlsDoorOptions;
  readonly #repeats: RepeatFilter;

  constructor(options: TlsDoorOptions) {
    this.#options = options;
    this.#repeats = new RepeatFilter({ intervalMs: 30_000, now: options.now });
  }

  /** Takes a raw connection; calls `secure` with the TLS socket once its handshake is done. */
  open(raw: net.Socket, secure: (socket: tls.TLSSocket) => void): void {
    const peer = `${raw.remoteAddress}:${raw.remotePort}`;
    const silent = setTimeout(() => {
      raw.removeListener('data', first);
      this.#warn(raw, peer, 'a plaintext peer waited for a greeting on the TLS index port; told it this port takes TLS', NO_CA_FIX);
      raw.end(frameMessage(formatTlsRequired()));
      setTimeout(() => raw.destroy(), 2_000).unref();
    }, this.#options.greetingDelayMs ?? GREETING_DELAY_MS);
    const first = (chunk: Buffer): void => {
      clearTimeout(silent);
      if (!startsTlsHandshake(chunk)) {
        this.#warn(raw, peer, 'plaintext bytes on the TLS index port; nothing sent in plaintext is taken here', `${NO_CA_FIX} (the 2009 segmenter cannot use TLS: give it a plaintext uploader)`);
        // Its bytes are read and dropped; the answer goes after its EOF, so its close is never reset.
        raw.on('data', () => {});
        raw.once('end', () => raw.end(frameMessage(formatTlsRequired())));
        return;
      }
      raw.pause();
      raw.unshift(chunk);
      this.#handshake(raw, peer, secure);
    };
    raw.once('data', first);
    raw.on('error', () => clearTimeout(silent));
    raw.once('close', () => clearTimeout(silent));
  }

  #handshake(raw: net.Socket, peer: string, secure: (socket: tls.TLSSocket) => void): void {
    const socket = new tls.TLSSocket(raw, { isServer: true, secureContext: this.#options.secureContext });
    const timer = setTimeout(() => {
      this.#warn(raw, peer, `TLS handshake not done in ${this.#options.handshakeTimeoutMs} ms`, 'a stalled client, or a slow network');
      socket.destroy();
    }, this.#options.handshakeTimeoutMs);
    let said = false;
    const failed = (err: Error): void => {
      clearTimeout(timer);
      if (!said) this.#warn(raw, peer, `TLS handshake failed: ${err.message}`, handshakeFix(err));
      said = true;
      socket.destroy();
    };
    socket.once('error', failed);
    socket.once('secure', () => {
      clearTimeout(timer);
      socket.removeListener('error', failed);
      socket.removeListener('close', closed);
      socket.removeListener('end', closed);
      secure(socket);
    });
    // A client that rejects the certificate may just hang up (TLS 1.3: after the server's part is done).
    // Half-open sockets: its EOF is an 'end', not yet a 'close'.
    const closed = (): void => failed(new Error('the client closed the connection during the handshake'));
    socket.once('end', closed);
    socket.once('close', closed);
  }

  #warn(raw: net.Socket, peer: string, what: string, fix: string): void {
    const held = this.#repeats.pass(`${raw.remoteAddress} ${what}`);
    if (held === undefined) return;
    this.#options.logger.warn(what, { peer, fix, ...(held > 0 ? { repeated: held } : {}) });
  }
}

/** A client that does not trust the certificate closes with an alert; say which flag to check. */
function handshakeFix(err: Error): string {
  if (/unknown ca|bad certificate|certificate unknown|closed the connection during/i.test(err.message)) {
    return 'the segmenter does not trust this certificate? give it --tls-ca with the CA that signed it, and --uploader the host name it names';
  }
  return NO_CA_FIX;
}

/** A TLS ClientHello on the plaintext port: no message can come of it; said once per peer address and interval. */
export function tlsOnPlainPort(socket: net.Socket, peer: string, repeats: RepeatFilter, logger: Logger): void {
  const held = repeats.pass(`${socket.remoteAddress} tls`);
  if (held !== undefined) {
    logger.warn('a TLS client on the plaintext index port; connection closed', {
      peer,
      fix: 'a segmenter with --tls-ca? start this uploader with --tls-cert and --tls-key, or drop --tls-ca',
      ...(held > 0 ? { repeated: held } : {}),
    });
  }
  socket.destroy();
}
