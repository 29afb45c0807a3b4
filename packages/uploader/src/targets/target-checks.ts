/**
 * Running the targets' checks (target-check.ts): at start-up, where a failure stops the uploader
 * before it accepts anything it could not store, and at the first sight of a bucket a message
 * names (buckets come from messages, so without `--allow-bucket` they are unknown at start),
 * where a failure is logged as an error with the stream and the store's code — the daemon keeps
 * serving the other streams, and that stream's uploads keep being retried.
 */
import type { Logger } from '@hlsrelay/log';
import { errorText, storeAnswered, TargetCheckError } from './target-check';
import type { TransferTarget } from './transfer-target';

/** A bucket and the key prefix segments go under (`--allow-bucket NAME/PREFIX`, or a message's). */
export interface BucketPlace {
  bucket: string;
  prefix: string;
}

/**
 * Each target's access check, then each bucket's; logs what every target is ready with (how it
 * replaces playlists, its file mode). Throws the first TargetCheckError.
 */
export async function checkTargetsAtStart(targets: readonly TransferTarget[], buckets: readonly BucketPlace[], logger: Logger): Promise<void> {
  for (const target of targets) {
    const facts = (await target.checkAccess?.()) ?? {};
    for (const { bucket, prefix } of buckets) {
      const warning = await target.checkBucket?.(bucket, prefix);
      if (warning !== undefined) logger.warn(warning, { target: target.name });
    }
    logger.info('target checked: writable', { target: target.name, buckets: buckets.map((b) => `${b.bucket}/${b.prefix}`).join(' ') || 'from messages (checked on first sight)', ...facts });
  }
}

/**
 * First-sight checks run at most this many at a time. Each is three store requests (sent directly
 * now, ~1 ms of CPU each; through the SDK they were ~4 ms each): when 200 new streams start within
 * one segment, 200 at once took the uploader's core for seconds and their uploads waited behind
 * them (first messages' p50 ~750 ms). Queued, they take longer to finish — a wrong bucket is
 * still reported within seconds — and the segments go first.
 */
const CONCURRENT_CHECKS = 2;

/** Checks each bucket (and prefix) once, the first time a message names it. */
export class BucketSightings {
  readonly #targets: readonly TransferTarget[];
  readonly #logger: Logger;
  /** Places checked or being checked; a place whose check could not reach the store is forgotten, to be checked again. */
  readonly #seen = new Set<string>();
  /** Checks running (at most CONCURRENT_CHECKS), and those waiting for a turn, oldest first. */
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(targets: readonly TransferTarget[], logger: Logger, alreadyChecked: readonly BucketPlace[] = []) {
    this.#targets = targets;
    this.#logger = logger;
    for (const p of alreadyChecked) this.#seen.add(placeId(p));
  }

  /** Starts the check of `place` if it is new; never throws, never delays the message. */
  sight(place: BucketPlace, context: Record<string, unknown>): void {
    const id = placeId(place);
    if (this.#seen.has(id) || this.#seen.has(placeId({ bucket: place.bucket, prefix: '' }))) return;
    this.#seen.add(id);
    void this.#check(place, context).catch((err: unknown) => {
      if (!(err instanceof TargetCheckError)) {
        this.#logger.error('bucket check failed', { ...context, bucket: place.bucket, error: errorText(err) });
      } else if (storeAnswered(err.failure.cause)) {
        this.#logger.error(`bucket check failed: ${err.message}`, { ...context, ...err.fields() });
      } else {
        // An outage, not a verdict on the bucket: the uploads retry on their own; look again next time.
        this.#seen.delete(id);
        this.#logger.warn(`bucket check could not reach the store; checked again with the next message: ${err.message}`, { ...context, ...err.fields() });
      }
    });
  }

  async #check(place: BucketPlace, context: Record<string, unknown>): Promise<void> {
    // A finishing check hands its turn straight to the oldest waiting one.
    if (this.#running < CONCURRENT_CHECKS) this.#running++;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      for (const target of this.#targets) {
        const warning = await target.checkBucket?.(place.bucket, place.prefix);
        if (warning !== undefined) this.#logger.warn(warning, { ...context, target: target.name });
      }
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}

const placeId = (p: BucketPlace): string => `${p.bucket}/${p.prefix.replace(/\/+$/, '')}`;
