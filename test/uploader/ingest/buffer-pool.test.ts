import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool } from '@hlsrelay/uploader';

test('buffers are reused when large enough, and the pool keeps at most maxBuffers', () => {
  const pool = new BufferPool(2, 1024);
  const a = pool.acquire(1500);
  assert.equal(a.length, 2048, 'rounded up to the granule');
  pool.release(a);
  assert.equal(pool.acquire(2000), a, 'reused');
  pool.release(a);
  const big = pool.acquire(5000);
  assert.notEqual(big, a, 'too small a free buffer is not handed out');
  assert.equal(big.length, 5120);
  pool.release(big);
  pool.release(Buffer.alloc(1024));
  assert.equal(pool.size, 2, 'the third release is dropped');
  assert.throws(() => new BufferPool(-1), /maxBuffers must be an integer ≥ 0, got -1/);
});
