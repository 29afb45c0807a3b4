/**
 * An acknowledged session with the uploader (protocol session.ts): one message at a time, each
 * answered OK or ERR with its number; the connection stays open between segments.
 */
import type net from 'node:net';
import { formatAuth, formatHello, formatPayloadCommand, frameMessage, MessageDecoder, parseAck, type Ack } from '@hlsrelay/protocol';
import { streamFile } from './payload-sender';

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
