/**
 * A few long-lived logged-in connections shared by all streams of one FTP or SFTP target.
 *
 * Logging in per file would cost several round trips (and, for FTPS and SFTP, a key exchange)
 * for every 1–2 s segment; one connection would serialise every stream, because FTP and this
 * SFTP client run one command at a time per connection. So: up to `size` connections, each lent
 * to one operation at a time, opened lazily and replaced when they break.
 *
 * Invariants: `#count` = connections open or being opened (idle + lent + opening) ≤ `size`; a
 * connection is in `#idle` only while nobody holds it.
 */

export interface ConnectionPoolOptions<C> {
  /** Connections at most. */
  size: number;
  /** Opens and logs in a new connection. */
  open(): Promise<C>;
  /** Closes a connection; must not throw. */
  close(connection: C): Promise<void>;
  /** False once the connection is known to be dead (server closed it while idle). */
  alive(connection: C): boolean;
  /**
   * True when `err`, thrown by an operation on the connection, means the connection itself is
   * unusable (socket closed, timeout) rather than that the server refused this one command.
   */
  broken(err: unknown): boolean;
}

export class ConnectionPool<C> {
  readonly #options: ConnectionPoolOptions<C>;
  readonly #idle: C[] = [];
  readonly #waiters: Array<() => void> = [];
  #count = 0;
  #closed = false;
  #opened = 0;

  constructor(options: ConnectionPoolOptions<C>) {
    if (!Number.isInteger(options.size) || options.size < 1) {
      throw new TypeError(`connection pool size must be an integer ≥ 1, got ${options.size}`);
    }
    this.#options = options;
  }

  /** Connections opened since start (more than `size` means some were replaced). */
  get opened(): number {
    return this.#opened;
  }

  /**
   * Runs `op` with a connection of its own. A connection that was reused from the idle set and
   * turns out broken (e.g. the server dropped it while idle) is replaced and `op` runs once more
   * on a fresh one; any other error is thrown to the caller, whose retry policy decides.
   */
  async use<T>(op: (connection: C) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const { connection, fresh } = await this.#acquire();
      try {
        const result = await op(connection);
        this.#release(connection, false);
        return result;
      } catch (err) {
        const broken = this.#options.broken(err) || !this.#options.alive(connection);
        this.#release(connection, broken);
        if (!(broken && !fresh && attempt === 1)) throw err;
      }
    }
  }

  /** Closes every idle connection and refuses further use; lent ones close when returned. */
  async close(): Promise<void> {
    this.#closed = true;
    const idle = this.#idle.splice(0);
    this.#count -= idle.length;
    for (const wake of this.#waiters.splice(0)) wake();
    await Promise.all(idle.map((c) => this.#options.close(c)));
  }

  async #acquire(): Promise<{ connection: C; fresh: boolean }> {
    for (;;) {
      if (this.#closed) throw new Error('connection pool is closed');
      const idle = this.#idle.pop();
      if (idle !== undefined) {
        if (this.#options.alive(idle)) return { connection: idle, fresh: false };
        this.#count -= 1;
        void this.#options.close(idle);
        continue;
      }
      if (this.#count < this.#options.size) {
        this.#count += 1;
        try {
          const connection = await this.#options.open();
          this.#opened += 1;
          return { connection, fresh: true };
        } catch (err) {
          this.#count -= 1;
          // A waiter may now open a connection of its own (and fail or succeed on its own).
          this.#wakeOne();
          throw err;
        }
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  #release(connection: C, broken: boolean): void {
    if (broken || this.#closed) {
      this.#count -= 1;
      void this.#options.close(connection);
    } else {
      this.#idle.push(connection);
    }
    this.#wakeOne();
  }

  #wakeOne(): void {
    this.#waiters.shift()?.();
  }
}
