/**
 * One TCP connection to the uploader, in whichever form it speaks (protocol session.ts):
 * - a new uploader greets at once: we answer the hello and keep the connection, sending one
 *   newline-framed message at a time and waiting for its numbered OK/ERR;
 * - an original uploader says nothing: after `greetingTimeoutMs` the connection carries one
 *   message the 2009 way (no newline, then close) and is done.
 */
import net from 'node:net';
import tls from 'node:tls';
import {
  FEATURE_AUTH,
  formatAuth,
  formatHello,
  formatPayloadCommand,
  frameMessage,
  MessageDecoder,
  parseAck,
  parseGreeting,
  FEATURE_ACK,
  type Ack,
  type HostPort,
} from '@hlsrelay/protocol';
import { streamFile } from './payload-sender';

export interface ConnectOptions {
  /** How long to wait for a greeting before treating the uploader as an original one. */
  greetingTimeoutMs: number;
  /** No progress for this long ends the connection with an error. */
  timeoutMs: number;
  /** Do not wait for a greeting (the uploader was seen not to send one). */
  assumeOriginal?: boolean;
  /** The shared token, presented when the uploader's greeting asks for it (`auth`). */
  token?: string;
  /** Connect over TLS, trusting this CA (PEM) for the uploader's certificate. */
  tls?: { ca: Buffer };
}

export type Connected = { kind: 'session'; session: UploaderSession } | { kind: 'original'; socket: net.Socket };

/** Connects and finds out which form the uploader speaks. Rejects when it cannot connect. */
export function connectToUploader(address: HostPort, options: ConnectOptions): Promise<Connected> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const socket = options.tls
      ? tls.connect({ host: address.host, port: address.port, ca: options.tls.ca, servername: net.isIP(address.host) ? undefined : address.host })
      : net.connect({ host: address.host, port: address.port });
    const decoder = new MessageDecoder();
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
    const original = (): void => settle({ kind: 'original', socket });
    const onData = (chunk: Buffer): void => {
      let lines: string[];
      try {
        lines = decoder.push(chunk);
      } catch {
        original();
        return;
      }
      if (lines.length === 0) return;
      const greeting = parseGreeting(lines[0]);
      if (greeting && greeting.version >= 1 && greeting.features.includes(FEATURE_ACK)) {
        const session = new UploaderSession(socket, options.timeoutMs, greeting.features);
        // The token goes only to an uploader that asks for it.
        if (!greeting.features.includes(FEATURE_AUTH)) {
          settle({ kind: 'session', session });
        } else if (options.token === undefined) {
          session.close();
          settle(new Error('the uploader wants a token: give this segmenter the same one (--token-file FILE or $HLSRELAY_TOKEN)'));
        } else {
          // From here on the session reads the answers (the OK to AUTH is not a greeting).
          clearTimeout(greetingTimer);
          socket.removeListener('data', onData);
          session.authenticate(options.token).then(
            (ack) => settle(ack.ok ? { kind: 'session', session } : new Error(`the uploader refused the token: ${ack.reason}`)),
            (e: Error) => settle(e),
          );
        }
      } else {
        original();
      }
    };
    socket.setTimeout(options.timeoutMs, () => settle(new Error(`no progress for ${options.timeoutMs} ms`)));
    socket.on('data', onData);
    socket.once('error', (e) => settle(e));
    socket.once('close', () => settle(new Error('connection closed before the uploader answered')));
    // Over TLS the greeting can only come once the handshake is done.
    socket.once(options.tls ? 'secureConnect' : 'connect', () => {
      if (options.assumeOriginal) original();
      else greetingTimer = setTimeout(original, options.greetingTimeoutMs);
    });
  });
}

/**
 * Sends one message the 2009 way on a fresh connection: the message, FIN, done once both are
 * handed to the kernel (the original uploader never answers nor closes its side).
 */
export function sendOriginal(socket: net.Socket, message: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('connection closed before the message was sent')));
    // A newer uploader may answer; nothing it says is needed here.
    socket.on('data', () => {});
    socket.end(message, () => {
      resolve();
      socket.destroy();
    });
  });
}

/** An acknowledged session: `send` resolves with the uploader's answer to that message. */
export class UploaderSession {
  readonly #socket: net.Socket;
  readonly #decoder = new MessageDecoder();
  #seq = 0;
  /**
   * Lines awaiting their answers, in order: one message at a time keeps replay and dedupe simple
   * (a message with its segment bytes is two lines, PAYLOAD and the message).
   */
  #waiting: Array<{ seq: number; resolve: (a: Ack) => void; reject: (e: Error) => void }> = [];
  #error: Error | undefined;
  readonly #timeoutMs: number;
  /** What the uploader's greeting offered (`ack`, `auth`, `payload` …). */
  readonly features: readonly string[];

  constructor(socket: net.Socket, timeoutMs: number, features: readonly string[] = []) {
    this.#socket = socket;
    this.#timeoutMs = timeoutMs;
    this.features = features;
    // Idle between segments is normal; only a message waiting for its answer has a deadline.
    socket.removeAllListeners('timeout');
    socket.setTimeout(0);
    socket.on('timeout', () => this.#fail(new Error(`no answer for ${timeoutMs} ms`)));
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const line of this.#decoder.push(chunk)) this.#answer(parseAck(line));
      } catch (e) {
        this.#fail(e as Error);
      }
    });
    socket.on('error', (e) => this.#fail(e));
    socket.on('close', () => this.#fail(new Error('the uploader closed the connection')));
    socket.write(frameMessage(formatHello()));
  }

  get closed(): boolean {
    return this.#error !== undefined;
  }

  /** Presents the shared token (the first line after the hello); resolves with its OK or ERR. */
  authenticate(token: string): Promise<Ack> {
    const answer = this.#expect();
    this.#socket.write(frameMessage(formatAuth(token)));
    return answer;
  }

  /** Sends one message; resolves with its OK or ERR, rejects if the connection fails first. */
  send(message: string): Promise<Ack> {
    if (this.#error) return Promise.reject(this.#error);
    if (this.#waiting.length > 0) return Promise.reject(new Error('a message is already awaiting its answer'));
    const answer = this.#expect();
    this.#socket.write(frameMessage(message));
    return answer;
  }

  /**
   * Sends a message with its segment bytes (`--ship-bytes`): `PAYLOAD <length>`, the file
   * streamed with backpressure, then the message. Resolves with the message's answer (an ERR
   * for refused bytes says why); rejects, ending the session, when the connection or the file
   * fails midway.
   */
  async sendWithPayload(message: string, file: string, length: number, init?: { file: string; length: number }): Promise<Ack> {
    if (this.#error) throw this.#error;
    if (this.#waiting.length > 0) throw new Error('a message is already awaiting its answer');
    // With `init` (FEATURE_PAYLOAD_INIT): the init section's payload first, then the segment's.
    const answers: Array<Promise<Ack>> = [];
    for (const p of [...(init ? [init] : []), { file, length }]) {
      const payloadAnswer = this.#expect();
      // Answered early when the bytes are refused; awaited below with the message's answer.
      payloadAnswer.catch(() => {});
      answers.push(payloadAnswer);
      this.#socket.write(frameMessage(formatPayloadCommand(p.length)));
      try {
        await streamFile(this.#socket, p.file, p.length);
      } catch (e) {
        // The uploader counts bytes: after a short payload nothing more on this connection can be understood.
        this.#fail(e as Error);
        throw e;
      }
    }
    const answer = this.#expect();
    this.#socket.write(frameMessage(message));
    const [ack] = await Promise.all([answer, ...answers]);
    return ack;
  }

  /** Numbers the next line and waits for its answer, with the no-answer deadline running. */
  #expect(): Promise<Ack> {
    if (this.#error) return Promise.reject(this.#error);
    const seq = ++this.#seq;
    return new Promise((resolve, reject) => {
      this.#waiting.push({ seq, resolve, reject });
      this.#socket.setTimeout(this.#timeoutMs);
    });
  }

  close(): void {
    this.#fail(new Error('session closed'));
  }

  #answer(ack: Ack): void {
    const w = this.#waiting[0];
    if (!w || ack.seq !== w.seq) throw new Error(`answer for message ${ack.seq} while waiting for ${w?.seq ?? 'none'}`);
    this.#waiting.shift();
    if (this.#waiting.length === 0) this.#socket.setTimeout(0);
    w.resolve(ack);
  }

  #fail(error: Error): void {
    if (this.#error) return;
    this.#error = error;
    this.#socket.destroy();
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const w of waiting) w.reject(error);
  }
}
