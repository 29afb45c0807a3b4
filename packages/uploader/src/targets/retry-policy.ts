/**
 * How long to wait before retrying a failed upload: capped exponential backoff with "equal
 * jitter" — half the step fixed, half random — so many streams failing together do not retry in
 * lockstep against a store that is coming back, yet each still waits a known minimum.
 */

export interface RetryPolicy {
  /** First delay, ms. */
  initialDelayMs: number;
  /** No delay is longer than this, ms. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { initialDelayMs: 250, maxDelayMs: 10_000 };

export function validateRetryPolicy(p: RetryPolicy): RetryPolicy {
  if (!(p.initialDelayMs > 0) || !Number.isFinite(p.initialDelayMs)) {
    throw new TypeError(`retry initialDelayMs must be a number > 0, got ${p.initialDelayMs}`);
  }
  if (!(p.maxDelayMs >= p.initialDelayMs) || !Number.isFinite(p.maxDelayMs)) {
    throw new TypeError(`retry maxDelayMs must be ≥ initialDelayMs (${p.initialDelayMs}), got ${p.maxDelayMs}`);
  }
  return p;
}

/**
 * Delay before retry number `attempt` (1 = the first retry). `random` returns [0, 1).
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  // 2 ** 30 keeps the product finite; the cap applies long before.
  const step = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(attempt - 1, 30));
  return step / 2 + random() * (step / 2);
}
