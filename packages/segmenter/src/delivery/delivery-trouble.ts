/**
 * What the notifier says when delivery does not go well, sorted by whose move it is:
 * - the uploader is down or the network is (an outage): a warning on the first failure and
 *   every 20th, since it heals by itself and messages wait in order;
 * - the peer is not an uploader, or the uploader refuses us (wrong port, TLS without --tls-ca,
 *   a wrong token): an error every time it happens, rate-limited, with the fix — retrying meets
 *   the same peer, so only the operator can end it;
 * - one message refused (ERR): an error with the uploader's reason.
 */
import { RepeatFilter, type Logger } from '@hlsrelay/log';
import { RefusedError, WrongPeerError } from './uploader-connection';

export interface FailureContext {
  queued: number;
  /** Absent for the connection opened ahead at start-up. */
  retryMs?: number;
  attempts?: number;
}

export class DeliveryTrouble {
  readonly #logger: Logger | undefined;
  readonly #uploader: string;
  readonly #repeats: RepeatFilter;
  /** The last failure, for the summary at exit. */
  lastError: Error | undefined;

  constructor(logger: Logger | undefined, uploader: string, options: { repeatMs?: number; now?: () => number } = {}) {
    this.#logger = logger;
    this.#uploader = uploader;
    this.#repeats = new RepeatFilter({ intervalMs: options.repeatMs ?? 10_000, now: options.now });
  }

  /** One failed attempt to deliver, or the connection opened ahead (no `attempts`). */
  failed(error: Error, context: FailureContext): void {
    this.lastError = error;
    if (error instanceof WrongPeerError || error instanceof RefusedError) {
      const held = this.#repeats.pass(error.message);
      if (held === undefined) return;
      const what = error instanceof RefusedError ? 'the uploader refused this segmenter' : '--uploader is not an uploader this segmenter can talk to';
      this.#logger?.error(`${what}; index messages are kept and retried, none is counted delivered`, {
        uploader: this.#uploader,
        error: error.message,
        fix: error.fix,
        ...context,
        ...(held > 0 ? { repeated: held } : {}),
      });
      return;
    }
    const attempts = context.attempts ?? 1;
    if (attempts <= 1 || attempts % 20 === 0) {
      this.#logger?.warn('uploader unreachable; segmenting goes on, index messages are kept in order and retried', {
        uploader: this.#uploader,
        error: error.message,
        ...context,
      });
    }
  }

  recovered(queued: number): void {
    this.lastError = undefined;
    this.#logger?.info('uploader reachable again; delivering queued index messages in order', { uploader: this.#uploader, queued });
  }

  /** The uploader refused one message: sending it again would get the same answer. */
  refusedMessage(reason: string, message: string): void {
    this.#logger?.error('the uploader refused an index message; it is not sent again', { uploader: this.#uploader, reason, message });
  }

  /** Why messages are still undelivered, for the line at exit. */
  summary(): string {
    const e = this.lastError;
    if (!e) return 'the uploader was unreachable';
    return e instanceof WrongPeerError || e instanceof RefusedError ? `${e.message} (${e.fix})` : `the uploader was unreachable (${e.message})`;
  }
}
