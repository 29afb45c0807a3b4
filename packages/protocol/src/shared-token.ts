/**
 * The shared secret that lets a segmenter talk to an uploader (`--token-file FILE` or
 * `HLSRELAY_TOKEN`, the same on both daemons). An uploader with a token offers the `auth` feature
 * in its greeting and wants `AUTH <token>` as the first line of a session (session.ts); it
 * answers OK, or ERR and closes. Connections that never open a session — the 2009 segmenter's
 * one message per connection — cannot authenticate, so they are only served by an uploader
 * without a token.
 *
 * The token crosses the network as it is: on a network others can watch, use TLS as well.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ProtocolError } from './index-message';

export const FEATURE_AUTH = 'auth';
export const AUTH_VERB = 'AUTH';
/** Short tokens can be guessed; 16 characters from a random generator cannot. */
export const MIN_TOKEN_LENGTH = 16;
export const MAX_TOKEN_LENGTH = 1024;
/** Printable ASCII without spaces: it travels as one word of a line. */
const TOKEN_SHAPE = /^[\x21-\x7e]+$/;

/**
 * Checks a token read from a file or the environment (one trailing line end is dropped, as
 * editors and `echo` add one). Throws a TypeError naming where it came from, never the token.
 */
export function checkToken(raw: string, source: string): string {
  const token = raw.replace(/\r?\n$/, '');
  if (token.length < MIN_TOKEN_LENGTH || token.length > MAX_TOKEN_LENGTH) {
    throw new TypeError(
      `${source}: the token must be ${MIN_TOKEN_LENGTH} to ${MAX_TOKEN_LENGTH} characters, got ${token.length} (e.g. openssl rand -hex 32)`,
    );
  }
  if (!TOKEN_SHAPE.test(token)) throw new TypeError(`${source}: the token must be printable ASCII without spaces or line breaks`);
  return token;
}

/** The session line a segmenter sends after its hello. */
export function formatAuth(token: string): string {
  return `${AUTH_VERB} ${token}`;
}

/**
 * Compares what a peer sent with the configured token in constant time: both are hashed first,
 * so neither the content nor the length of the token leaks through the time a refusal takes.
 */
export function tokenMatches(offered: string, expected: string): boolean {
  const a = createHash('sha256').update(offered, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** The token of an `AUTH <token>` command's arguments; throws ProtocolError when there is not exactly one. */
export function authArgument(args: readonly string[]): string {
  if (args.length !== 1 || args[0] === '') throw new ProtocolError('AUTH takes exactly one token');
  return args[0];
}
