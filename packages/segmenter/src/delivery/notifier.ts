/**
 * Sends index messages to the uploader, in order. An uploader that greets (protocol session.ts)
 * gets one persistent connection and acknowledges each message once it is durably recorded;
 * an original one gets the 2009 form: one TCP connection per message, no newline, then close —
 * only once it has been seen positively silent; any other peer is an error (delivery-trouble.ts).
 * A connection is opened ahead — at start-up, and after a 2009-form send — so that learning
 * the peer's form (up to the greeting timeout) happens while the next segment is being cut.
 * Unlike the original, an unreachable uploader does not end notification: messages wait in
 * order — in memory, or on disk with a spool (spool.ts), which also survives a restart of this
 * segmenter — and are delivered once it is back, retried with capped exponential backoff.
 */
import type { Logger } from '@hlsrelay/log';
import { FEATURE_PAYLOAD, FEATURE_PAYLOAD_INIT, GREETING_TIMEOUT_MS, parseMessage, type Ack, type HostPort } from '@hlsrelay/protocol';
import { DeliveryTrouble } from './delivery-trouble';
import { shippedSegment } from './payload-sender';
import type { Spool } from './spool';
import { sendOriginal } from './uploader-connection';
import { UploaderLink } from './uploader-link';
import type { UploaderSession } from './uploader-session';

export interface NotifierOptions {
  uploader: HostPort;
  logger?: Logger;
  /** First retry delay in ms; doubles up to maxRetryMs. Default 200. */
  initialRetryMs?: number;
  /** Default 5000. */
  maxRetryMs?: number;
  /** Give up on one attempt after this many ms without progress. Default 10000. */
  socketTimeoutMs?: number;
  /** How long a new connection waits for the uploader's greeting before speaking the 2009 form. Default 1000. */
  greetingTimeoutMs?: number;
  /** After a 2009-form send, how long the peer has to answer (an ERR, or proof it is no uploader). Default 250. */
  answerWindowMs?: number;
  /** Open a connection at once to learn the uploader's form before the first message. Default true. */
  connectAhead?: boolean;
  /** The clock of the rate limit on repeated error lines. */
  now?: () => number;
  /** Keeps unacknowledged messages on disk; its pending messages (an earlier run's) go first. */
  spool?: Spool;
  /**
   * `--ship-bytes`: each message goes with its segment file's bytes, for an uploader that cannot
   * read this machine's disk. Needs an uploader that offers `payload`; until one does, messages
   * wait (and are retried) as in an outage.
   */
  shipBytes?: boolean;
  /** Called with each message the uploader acknowledged (`--ship-bytes` removes its segment file then). */
  onAcknowledged?: (message: string) => void;
  /** The shared token (`--token-file`, `$HLSRELAY_TOKEN`) for an uploader that asks for one. */
  token?: string;
  /** TLS to the uploader, trusting this CA (`--tls-ca`). */
  tls?: { ca: Buffer };
}

interface Queued {
  line: string;
  spoolId?: number;
  /** Until its spool record is on disk: resolves with the error if the disk failed it (never rejects). */
  durable?: Promise<Error | undefined>;
}

export class Notifier {
  readonly #uploader: HostPort;
  readonly #logger?: Logger;
  readonly #initialRetryMs: number;
  readonly #maxRetryMs: number;
  readonly #socketTimeoutMs: number;
  readonly #greetingTimeoutMs: number;
  readonly #answerWindowMs: number;
  readonly #trouble: DeliveryTrouble;
  readonly #link: UploaderLink;
  readonly #spool: Spool | undefined;
  readonly #shipBytes: boolean;
  readonly #onAcknowledged: ((message: string) => void) | undefined;
  /** Attempts the uploader could not take segment bytes, since it last could (for the error log). */
  #cannotShip = 0;
  /** Messages not yet delivered, oldest first; the head is the one being sent. */
  #queue: Queued[] = [];
  /** fMP4 init sections shipped on each session: each goes once per session, before the first message naming it. */
  readonly #shippedInits = new WeakMap<UploaderSession, Set<string>>();
  #sending = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  #closed = false;
  #idleWaiters: Array<() => void> = [];
  /** Messages delivered since start. */
  delivered = 0;
  /** Messages the uploader acknowledged (the rest went the 2009 way, unanswered). */
  acknowledged = 0;
  /** Messages the uploader refused with ERR (never sent again). */
  refused = 0;

  constructor(options: NotifierOptions) {
    this.#uploader = options.uploader;
    this.#logger = options.logger;
    this.#initialRetryMs = options.initialRetryMs ?? 200;
    this.#maxRetryMs = options.maxRetryMs ?? 5000;
    this.#socketTimeoutMs = options.socketTimeoutMs ?? 10_000;
    this.#greetingTimeoutMs = options.greetingTimeoutMs ?? GREETING_TIMEOUT_MS;
    this.#answerWindowMs = options.answerWindowMs ?? 250;
    this.#trouble = new DeliveryTrouble(options.logger, this.#address(), { now: options.now });
    const access = { token: options.token, tls: options.tls };
    this.#link = new UploaderLink(this.#uploader, { greetingTimeoutMs: this.#greetingTimeoutMs, timeoutMs: this.#socketTimeoutMs, ...access }, (e) => {
      // Counted as a failed attempt, so that its recovery is said too.
      this.#failures++;
      this.#trouble.failed(e, { queued: this.#queue.length, attempts: this.#failures });
    });
    this.#spool = options.spool;
    this.#shipBytes = options.shipBytes ?? false;
    this.#onAcknowledged = options.onAcknowledged;
    for (const m of this.#spool?.messages() ?? []) this.#queue.push({ line: m.line, spoolId: m.id });
    if (!(this.#initialRetryMs > 0) || !(this.#maxRetryMs >= this.#initialRetryMs)) {
      throw new TypeError(`retry delays must satisfy 0 < initial ≤ max, got ${this.#initialRetryMs} and ${this.#maxRetryMs}`);
    }
    if (this.#queue.length > 0) {
      this.#logger?.info('index messages from an earlier run are delivered first', { count: this.#queue.length });
      this.#pump();
    } else if (options.connectAhead ?? true) {
      this.#link.connectAhead();
    }
  }

  /** Why messages were not delivered (for the line at exit). */
  get trouble(): string {
    return this.#trouble.summary();
  }

  /** Messages waiting to be delivered. */
  get pending(): number {
    return this.#queue.length;
  }

  send(message: string): void {
    if (this.#closed) throw new Error('notifier is closed');
    if (this.#spool) {
      let spooled: ReturnType<Spool['add']> | undefined;
      try {
        spooled = this.#spool.add(message);
      } catch (err) {
        // A full or failing spool disk must not end the live stream: the message is still
        // delivered from memory, it only would not survive a restart of this segmenter.
        this.#logger?.error('spool write failed; the index message is kept in memory only and still delivered', {
          ...streamOf(message),
          error: (err as Error).message,
        });
      }
      // A full spool dropped its oldest message: unless it is on the wire now, it is not sent.
      const dropped = spooled?.dropped;
      if (dropped) this.#queue = this.#queue.filter((q, i) => q.spoolId !== dropped.id || (i === 0 && this.#sending));
      const durable = spooled?.durable.then(
        () => undefined,
        (err: Error) => err,
      );
      this.#queue.push({ line: message, spoolId: spooled?.id, durable });
    } else {
      this.#queue.push({ line: message });
    }
    this.#pump();
  }

  /** Resolves when every message handed over so far has been delivered. */
  onIdle(): Promise<void> {
    if (this.#queue.length === 0 && !this.#sending) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops retrying; returns the messages that were never delivered, in order (a spool keeps them for the next run). */
  close(): string[] {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#link.close();
    return this.#queue.map((q) => q.line);
  }

  #pump(): void {
    if (this.#sending || this.#retryTimer || this.#closed || this.#queue.length === 0) {
      if (this.#queue.length === 0 && !this.#sending) this.#wakeIdle();
      return;
    }
    this.#sending = true;
    const head = this.#queue[0];
    void this.#spooled(head)
      // Closed while the record was being synced: nothing more goes on the wire.
      .then(() => (this.#closed ? new Error('the notifier is closed') : this.#deliver(head.line)))
      .then((error) => {
        this.#sending = false;
        if (this.#closed) return;
        if (!error) {
          this.#queue.shift();
          if (head.spoolId !== undefined) this.#unspool(head);
          this.delivered++;
          if (this.#failures > 0) {
            this.#trouble.recovered(this.#queue.length + 1);
            this.#failures = 0;
          }
          // Against an original uploader, the next message's connection is learned meanwhile.
          if (this.#queue.length === 0) this.#link.connectAhead();
          this.#pump();
          return;
        }
        this.#failures++;
        const delay = Math.min(this.#maxRetryMs, this.#initialRetryMs * 2 ** Math.min(this.#failures - 1, 20));
        this.#trouble.failed(error, { queued: this.#queue.length, retryMs: delay, attempts: this.#failures });
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = undefined;
          this.#pump();
        }, delay);
      });
  }

  /**
   * Delivers one message: on the open session (waiting for its answer), or on a new connection
   * that finds out which form the uploader speaks. Resolves with null once the uploader has it —
   * acknowledged, or for an original uploader handed to the kernel with FIN (it never answers) —
   * or with the error that stopped it (the message is then sent again).
   */
  async #deliver(message: string): Promise<Error | null> {
    try {
      const c = await this.#link.connect();
      if (this.#shipBytes && (c.kind === 'original' || !c.session.features.includes(FEATURE_PAYLOAD))) {
        this.#link.failed();
        if (c.kind === 'original') c.socket.destroy();
        return this.#uploaderTakesNoBytes();
      }
      if (c.kind === 'original') {
        if (!this.#link.original) this.#logger?.info('the uploader does not acknowledge: one connection per message, as in 2009', { uploader: this.#address() });
        const outcome = await sendOriginal(c, message, { answerWindowMs: this.#answerWindowMs, timeoutMs: this.#socketTimeoutMs });
        // Seen silent and closing like an original uploader: the next connections send at once.
        this.#link.sentOriginal();
        if (!outcome.ok) this.#refuse(outcome.reason, message);
        return null;
      }
      const ack = this.#shipBytes ? await this.#ship(c.session, message) : await c.session.send(message);
      if (ack.ok) {
        this.acknowledged++;
        this.#onAcknowledged?.(message);
      } else {
        this.#refuse(ack.reason, message);
      }
      return null;
    } catch (e) {
      this.#link.failed();
      return e as Error;
    }
  }

  #refuse(reason: string, message: string): void {
    this.refused++;
    this.#trouble.refusedMessage(reason, message);
  }

  /** Sends a message with its segment file's bytes; a file that is gone cannot be shipped and is refused here. */
  async #ship(session: UploaderSession, message: string): Promise<Ack> {
    this.#cannotShip = 0;
    let segment: ReturnType<typeof shippedSegment>;
    try {
      segment = shippedSegment(message);
    } catch (e) {
      return { ok: false, seq: 0, reason: `its segment or init file cannot be read to ship its bytes (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
    }
    let shipped = this.#shippedInits.get(session);
    if (!shipped) this.#shippedInits.set(session, (shipped = new Set()));
    const init = segment.init && !shipped.has(segment.init.file) ? segment.init : undefined;
    if (init && !session.features.includes(FEATURE_PAYLOAD_INIT)) {
      throw new Error(`the uploader at ${this.#address()} takes no fMP4 init sections (its greeting offers no "${FEATURE_PAYLOAD_INIT}"): --format fmp4 --ship-bytes needs a newer uploader`);
    }
    const ack = await session.sendWithPayload(message, segment.file, segment.length, init);
    if (init && ack.ok) shipped.add(init.file);
    return ack;
  }

  /** The uploader does not take segment bytes: said loudly (it needs an operator), the message waits. */
  #uploaderTakesNoBytes(): Error {
    const error = new Error(`the uploader at ${this.#address()} takes no segment bytes (its greeting offers no "payload"): --ship-bytes needs an uploader with a state directory (not --state-dir none)`);
    if (this.#cannotShip++ % 20 === 0) {
      this.#logger?.error('--ship-bytes: the uploader does not accept segment bytes; index messages are kept and retried until it does', {
        uploader: this.#address(),
        hint: 'start the uploader with --state-dir (it spools shipped bytes there), or drop --ship-bytes where the uploader can read this output directory',
        queued: this.#queue.length,
      });
    }
    return error;
  }

  /**
   * A message goes on the wire only once its spool record is on disk, so that a power cut never
   * loses one the uploader has not acknowledged. A failed sync is said, and the message still goes.
   */
  async #spooled(q: Queued): Promise<void> {
    if (!q.durable) return;
    const error = await q.durable;
    q.durable = undefined;
    if (error && !this.#closed) {
      this.#logger?.error('spool write failed; the index message is kept in memory only and still delivered', {
        ...streamOf(q.line),
        error: error.message,
      });
    }
  }

  /** A delivered message leaves the spool; a failing spool disk is logged, not thrown (this runs in a promise callback). */
  #unspool(q: Queued): void {
    try {
      this.#spool?.remove(q.spoolId!);
    } catch (err) {
      // Still listed in the spool file: a restart sends it again, and the uploader recognises the repeat.
      this.#logger?.error('spool write failed while removing a delivered index message; delivery goes on', {
        ...streamOf(q.line),
        error: (err as Error).message,
      });
    }
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

/** Which stream and segment a message is about, for an operator reading the log. */
function streamOf(line: string): { stream?: string; segment?: number; message?: string } {
  try {
    const m = parseMessage(line);
    return { stream: m.index, segment: m.lastSegment };
  } catch {
    return { message: line };
  }
}
