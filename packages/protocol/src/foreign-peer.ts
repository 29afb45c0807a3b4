/**
 * What a peer on the index port said that is not part of this protocol, recognised from its
 * first bytes — so a segmenter pointed at the wrong port (or the right port without TLS) says
 * what it reached and how to fix it, instead of sending messages into the void.
 */
import { TLS_REQUIRED } from './session';

/** TLS record content types (RFC 8446 §5.1): alert, handshake; then the record's major version 3. */
const TLS_ALERT = 0x15;
const TLS_HANDSHAKE = 0x16;
const TLS_MAJOR_VERSION = 0x03;

/** A TLS record header: what a TLS client sends first (a handshake) or a TLS server answers (often an alert). */
export function isTlsRecord(bytes: Uint8Array): boolean {
  return bytes.length >= 1 && (bytes[0] === TLS_HANDSHAKE || bytes[0] === TLS_ALERT) && (bytes.length < 2 || bytes[1] === TLS_MAJOR_VERSION);
}

/** A TLS client's first byte: a handshake record. */
export function startsTlsHandshake(bytes: Uint8Array): boolean {
  return bytes.length >= 1 && bytes[0] === TLS_HANDSHAKE;
}

export interface ForeignPeer {
  /** What the peer seems to be. */
  what: string;
  /** What to change. */
  fix: string;
}

const INDEX_PORT_FIX = '--uploader takes the uploader\'s index port (10234 unless its --port says otherwise), not its status port or the store';

/** Recognises a peer from what it sent in place of a greeting (or in answer to a 2009-form message). */
export function recogniseForeignPeer(bytes: Uint8Array): ForeignPeer {
  const text = Buffer.from(bytes.subarray(0, 64)).toString('latin1');
  if (isTlsRecord(bytes)) {
    return { what: 'a TLS server (an uploader started with --tls-cert?)', fix: 'give this segmenter --tls-ca FILE, the CA that signed the uploader\'s certificate' };
  }
  if (text.startsWith(`${TLS_REQUIRED}`)) {
    return { what: 'an uploader that takes TLS only on this port', fix: 'give this segmenter --tls-ca FILE, the CA that signed the uploader\'s certificate' };
  }
  if (text.startsWith('HTTP/')) return { what: `an HTTP server ("${firstLine(text)}": the uploader's status port, or the S3 endpoint?)`, fix: INDEX_PORT_FIX };
  if (text.startsWith('SSH-')) return { what: `an SSH server ("${firstLine(text)}")`, fix: INDEX_PORT_FIX };
  if (/^220[ -]/.test(text)) return { what: `an FTP or SMTP server ("${firstLine(text)}")`, fix: INDEX_PORT_FIX };
  return { what: `a peer that is not an uploader (it sent "${firstLine(text)}")`, fix: INDEX_PORT_FIX };
}

/** The first line, printable, short: safe to log whatever the peer sent. */
function firstLine(text: string): string {
  const line = text.split(/\r?\n/)[0];
  // eslint-disable-next-line no-control-regex
  return line.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`).slice(0, 48);
}
