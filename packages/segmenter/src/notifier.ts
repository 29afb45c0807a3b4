/**
 * Sends index messages to the uploader the way the 2009 segmenter did: one TCP connection per
 * message, the message without a newline, then the connection is closed. Unlike the original,
 * an unreachable uploader does not end notification: messages wait in order (in memory) and
 * are delivered once it is back, retried with capped exponential backoff.
 */
import net from 'node:net';
import type { Logger } from '@hlsrelay/log';
import type { HostPort } from '@hlsrelay/protocol';

export interface NotifierOptions {
  uploader: HostPort;
  logger?: Logger;
  /** First retry delay in ms; doubles up to maxRetryMs. Default 200. */
  initialRetryMs?: number;
  /** Default 5000. */
  maxRetryMs?: number;
  /** Give up on one attempt after this many ms without progress. Default 10000. */
  socketTimeoutMs?: number;
}

export class Notifier {
  readonly #uploader: HostPort;
  readonly #logger?: Logger;
  readonly #initialRetryMs: number;
  readonly #maxRetryMs: number;
  readonly #socketTimeoutMs: number;
  /** Messages not yet delivered, oldest first; the head is the one being sent. */
  readonly #queue: string[] = [];
  #sending = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  #closed = false;
  #idleWaiters: Array<() => void> = [];
  /** Messages delivered since start. */
  delivered = 0;

  constructor(options: NotifierOptions) {
    this.#uploader = options.uploader;
    this.#logger = options.logger;
    this.#initialRetryMs = options.initialRetryMs ?? 200;
    this.#maxRetryMs = options.maxRetryMs ?? 5000;
    this.#socketTimeoutMs = options.socketTimeoutMs ?? 10_000;
    if (!(this.#initialRetryMs > 0) || !(this.#maxRetryMs >= this.#initialRetryMs)) {
      throw new TypeError(`retry delays must satisfy 0 < initial ≤ max, got ${this.#initialRetryMs} and ${this.#maxRetryMs}`);
    }
  }

  /** Messages waiting to be delivered. */
  get pending(): number {
    return this.#queue.length;
  }

  send(message: string): void {
    if (this.#closed) throw new Error('notifier is closed');
    this.#queue.push(message);
    this.#pump();
  }

  /** Resolves when every message handed over so far has been delivered. */
  onIdle(): Promise<void> {
    if (this.#queue.length === 0 && !this.#sending) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops retrying; returns the messages that were never delivered, in order. */
  close(): string[] {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    return [...this.#queue];
  }

  #pump(): void {
    if (this.#sending || this.#retryTimer || this.#closed || this.#queue.length === 0) {
      if (this.#queue.length === 0 && !this.#sending) this.#wakeIdle();
      return;
    }
    this.#sending = true;
    const message = this.#queue[0];
    void this.#deliver(message).then((error) => {
      this.#sending = false;
      if (this.#closed) return;
      if (!error) {
        this.#queue.shift();
        this.delivered++;
        if (this.#failures > 0) {
          this.#logger?.info('uploader reachable again; delivering queued index messages in order', {
            uploader: this.#address(),
            queued: this.#queue.length + 1,
          });
          this.#failures = 0;
        }
        this.#pump();
        return;
      }
      this.#failures++;
      const delay = Math.min(this.#maxRetryMs, this.#initialRetryMs * 2 ** Math.min(this.#failures - 1, 20));
      if (this.#failures === 1 || this.#failures % 20 === 0) {
        this.#logger?.warn('uploader unreachable; segmenting goes on, index messages are kept in order and retried', {
          uploader: this.#address(),
          error: error.message,
          queued: this.#queue.length,
          retryMs: delay,
          attempts: this.#failures,
        });
      }
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        this.#pump();
      }, delay);
    });
  }

  /**
   * One connection, one message, then FIN. Resolves with null once the message and FIN are
   * handed to the kernel — the original uploader never answers nor closes its side, so waiting
   * for its close would stall — or with the error that stopped it.
   */
  #deliver(message: string): Promise<Error | null> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (error: Error | null): void => {
        if (settled) return;
        settled = true;
        resolve(error);
      };
      const socket = net.connect({ host: this.#uploader.host, port: this.#uploader.port });
      socket.setTimeout(this.#socketTimeoutMs, () => socket.destroy(new Error(`no progress for ${this.#socketTimeoutMs} ms`)));
      socket.on('connect', () => {
        socket.end(message, () => {
          settle(null);
          socket.destroy();
        });
      });
      // A newer uploader may talk; nothing it says is needed here.
      socket.on('data', () => {});
      socket.on('error', (e) => settle(e));
      socket.on('close', () => settle(new Error('connection closed before the message was sent')));
    });
  }

  #wakeIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  #address(): string {
    return `${this.#uploader.host}:${this.#uploader.port}`;
  }
}
