import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '@hlsrelay/log';
import { backoffDelay, PermanentTransferError, UploadQueue } from '@hlsrelay/uploader';

test('backoff: doubles from the initial delay, capped, jittered within [step/2, step)', () => {
  const policy = { initialDelayMs: 100, maxDelayMs: 1000 };
  assert.equal(backoffDelay(1, policy, () => 0), 50);
  assert.equal(backoffDelay(2, policy, () => 0), 100);
  assert.equal(backoffDelay(3, policy, () => 0.999999) < 400, true);
  assert.equal(backoffDelay(50, policy, () => 0), 500);
  assert.equal(backoffDelay(50, policy, () => 1), 1000);
});

test('each lane runs strictly in order; lanes run in parallel; concurrency caps transfers in flight', async () => {
  const sleeps: number[] = [];
  const q = new UploadQueue({ concurrency: 2, retry: { initialDelayMs: 1, maxDelayMs: 4 }, logger: silentLogger(), sleep: async (ms) => void sleeps.push(ms) });
  const log: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const transfer = (lane: string, i: number) =>
    q.transfer('t', {}, async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, (i * 7) % 5));
      inFlight--;
      log.push(`${lane}${i}`);
    });
  for (let i = 0; i < 10; i++) for (const lane of ['a', 'b', 'c']) q.enqueue(lane, () => transfer(lane, i));
  await q.onIdle();
  for (const lane of ['a', 'b', 'c']) {
    assert.deepEqual(log.filter((x) => x.startsWith(lane)), Array.from({ length: 10 }, (_, i) => `${lane}${i}`));
  }
  assert.equal(maxInFlight, 2);
  assert.equal(q.size, 0);
});

test('a failing transfer is retried with backoff until it succeeds; later jobs of its lane wait', async () => {
  const sleeps: number[] = [];
  const q = new UploadQueue({ concurrency: 4, retry: { initialDelayMs: 10, maxDelayMs: 40 }, logger: silentLogger(), sleep: async (ms) => void sleeps.push(ms), random: () => 0 });
  const log: string[] = [];
  let failures = 5;
  q.enqueue('a', () => q.transfer('seg', {}, async () => {
    if (failures-- > 0) throw new Error('store down');
    log.push('a1');
  }));
  q.enqueue('a', async () => void log.push('a2'));
  await q.onIdle();
  assert.deepEqual(log, ['a1', 'a2']);
  assert.deepEqual(sleeps, [5, 10, 20, 20, 20]);
  assert.equal(q.retries, 5);
});

test('a permanent error is not retried; the lane goes on', async () => {
  const q = new UploadQueue({ concurrency: 1, retry: { initialDelayMs: 1, maxDelayMs: 1 }, logger: silentLogger() });
  const log: string[] = [];
  let attempts = 0;
  q.enqueue('a', () => q.transfer('seg', {}, async () => {
    attempts++;
    throw new PermanentTransferError('no such file');
  }));
  q.enqueue('a', async () => void log.push('next'));
  await q.onIdle();
  assert.equal(attempts, 1);
  assert.deepEqual(log, ['next']);
});

test('options are validated with the value that came', () => {
  assert.throws(() => new UploadQueue({ concurrency: 0, retry: { initialDelayMs: 1, maxDelayMs: 1 }, logger: silentLogger() }), /concurrency must be an integer ≥ 1, got 0/);
  assert.throws(() => new UploadQueue({ concurrency: 1, retry: { initialDelayMs: 10, maxDelayMs: 1 }, logger: silentLogger() }), /maxDelayMs must be ≥ initialDelayMs/);
});
