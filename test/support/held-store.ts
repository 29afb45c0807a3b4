/**
 * s3rver on a port of its own behind a HeldPort: the uploader keeps one endpoint while the
 * store stops and starts again on its directory (an outage), and no port is freed and hoped
 * for in between.
 */
import { startEmbeddedStore, type EmbeddedStore } from '@hlsrelay/embedded-store';
import { HeldPort } from './ports';

export class HeldStore implements EmbeddedStore {
  readonly #gate: HeldPort;
  readonly #directory: string;
  readonly #buckets: string[];
  #running: EmbeddedStore | undefined;

  private constructor(gate: HeldPort, directory: string, buckets: string[]) {
    this.#gate = gate;
    this.#directory = directory;
    this.#buckets = buckets;
  }

  static async start(directory: string, buckets: string[]): Promise<HeldStore> {
    const held = new HeldStore(await HeldPort.open(), directory, buckets);
    await held.start();
    return held;
  }

  /** The held address: the same across stops and starts. */
  get port(): number {
    return this.#gate.port;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  url(bucket: string, key: string): string {
    return `${this.endpoint}/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  /** Starts s3rver again on the same directory (a no-op while it runs). */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = await startEmbeddedStore({ directory: this.#directory, buckets: this.#buckets });
    this.#gate.forwardTo(this.#running.port);
  }

  /** Stops s3rver: connections to the endpoint are reset until start(). */
  async close(): Promise<void> {
    const running = this.#running;
    this.#running = undefined;
    this.#gate.forwardTo(undefined);
    await running?.close();
  }

  /** Stops s3rver and gives the held port back: the end of the test. */
  async release(): Promise<void> {
    await this.close();
    await this.#gate.close();
  }
}
