/**
 * The notifier's way to the uploader: the open session, or the next connection — opened ahead
 * (at start-up, and after each 2009-form send) so that learning the peer's form, which against
 * an original uploader takes the whole greeting timeout, happens while a segment is being cut.
 */
import type { HostPort } from '@hlsrelay/protocol';
import { connectToUploader, type ConnectOptions, type Connected } from './uploader-connection';
import type { UploaderSession } from './uploader-session';

export class UploaderLink {
  readonly #address: HostPort;
  readonly #options: Omit<ConnectOptions, 'assumeOriginal'>;
  /** A connection opened ahead failed (no uploader there, or none at all): said at once, before any segment is cut. */
  readonly #onAheadTrouble: (e: Error) => void;
  /** A connection opened ahead of the next message, its form being learned meanwhile. */
  #ahead: Promise<Connected | Error> | undefined;
  /** The last connection was seen positively silent: the next ones send at once, until a failure. */
  #original = false;
  #closed = false;
  /** The open acknowledged session, if the uploader speaks it. */
  session: UploaderSession | undefined;

  constructor(address: HostPort, options: Omit<ConnectOptions, 'assumeOriginal'>, onAheadTrouble: (e: Error) => void) {
    this.#address = address;
    this.#options = options;
    this.#onAheadTrouble = onAheadTrouble;
  }

  /** True once an original uploader has been seen (for the one info line that says so). */
  get original(): boolean {
    return this.#original;
  }

  /** The open session, else the connection opened ahead if it is still good, else a new one. */
  async connect(): Promise<Connected> {
    if (this.session && !this.session.closed) return { kind: 'session', session: this.session };
    this.session = undefined;
    const ahead = this.#ahead;
    this.#ahead = undefined;
    const c = ahead ? await ahead : undefined;
    if (c && !(c instanceof Error)) {
      const stale = c.kind === 'session' ? c.session.closed : c.spoiled() !== undefined;
      if (!stale) return this.#keep(c);
      if (c.kind === 'original') c.socket.destroy();
    }
    return this.#keep(await connectToUploader(this.#address, { ...this.#options, assumeOriginal: this.#original }));
  }

  /** The peer took a 2009-form message as an original uploader does. */
  sentOriginal(): void {
    this.#original = true;
  }

  /** An attempt failed: the session is gone, and the next connection learns the peer's form again. */
  failed(): void {
    this.session?.close();
    this.session = undefined;
    this.#original = false;
  }

  /**
   * Opens the next connection now and learns its form, always waiting for the greeting: this is
   * how an original uploader is seen positively silent, and how an upgraded one is noticed.
   */
  connectAhead(): void {
    if (this.#ahead || this.#closed || this.session) return;
    const ahead = connectToUploader(this.#address, this.#options).then(
      (c) => {
        if (this.#closed) drop(c);
        return c;
      },
      (e: Error) => {
        // The first message connects anew (the uploader may be up by then).
        if (this.#ahead === ahead) this.#ahead = undefined;
        if (!this.#closed) this.#onAheadTrouble(e);
        return e;
      },
    );
    this.#ahead = ahead;
  }

  close(): void {
    this.#closed = true;
    this.session?.close();
    this.session = undefined;
    void this.#ahead?.then((c) => c instanceof Error || drop(c));
    this.#ahead = undefined;
  }

  #keep(c: Connected): Connected {
    if (c.kind === 'session') this.session = c.session;
    return c;
  }
}

function drop(c: Connected): void {
  if (c.kind === 'session') c.session.close();
  else c.socket.destroy();
}
