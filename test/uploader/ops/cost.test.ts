import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimateCost, formatCostEstimate, PRICES_2009, type Audience } from '@hlsrelay/uploader';

/** The 2009 worked example: 128/256/364 kbit/s watched by 25/50/25 % of 100 clients for 5 minutes. */
const EXAMPLE: Audience = { bitrates: [128, 256, 364], shares: [25, 50, 25], minutes: 5, clients: 100, segmentSeconds: 10, originFetches: 3 };

test('reproduces the 2009 worked example line by line', () => {
  const e = estimateCost(EXAMPLE, PRICES_2009);
  assert.equal(e.segmentsPerRendition, 30);
  assert.deepEqual(e.megabytes.map((m) => +m.toFixed(2)), [4.8, 9.6, 13.65]);
  const byItem = Object.fromEntries(e.lines.map((l) => [l.item, +l.dollars.toFixed(7)]));
  assert.deepEqual(byItem, {
    'S3 PUT requests': 0.0018, // 180 PUTs
    'S3 transfer in': 0.002805,
    'S3 storage (1 month)': 0.0042075,
    'S3 transfer out to the CDN': 0.0143055,
    'S3 GET requests': 0.00309,
    // 25 × 13.65 + 50 × 9.6 + 25 × 4.8 = 941.25 MB. (The article wrote 128 MB for the last
    // term instead of 120 MB, hence its $0.1613708.)
    'CDN transfer out to players': 0.1600125,
    'CDN requests': 0.003,
  });
  assert.ok(Math.abs(e.total - 0.19) < 0.005, `about $0.19, got ${e.total}`);
});

test('cost grows with the audience where it should and not where it should not', () => {
  const small = estimateCost(EXAMPLE, PRICES_2009);
  const big = estimateCost({ ...EXAMPLE, clients: 1000 }, PRICES_2009);
  const line = (e: typeof small, item: string) => e.lines.find((l) => l.item === item)!.dollars;
  assert.equal(line(big, 'S3 PUT requests'), line(small, 'S3 PUT requests'));
  assert.ok(Math.abs(line(big, 'CDN transfer out to players') - 10 * line(small, 'CDN transfer out to players')) < 1e-12);
});

test('the breakdown names every line and the total', () => {
  const text = formatCostEstimate(EXAMPLE, estimateCost(EXAMPLE, PRICES_2009));
  assert.match(text, /30 segments per rendition/);
  assert.match(text, /S3 PUT requests\s+\$0\.001800\s+180 PUTs/);
  assert.match(text, /Total\s+\$0\.189/);
});

test('bad audiences are refused with the setting, what was expected and what came', () => {
  assert.throws(() => estimateCost({ ...EXAMPLE, shares: [50, 50] }, PRICES_2009), /shares needs one value per bitrate \(3\), got 2/);
  assert.throws(() => estimateCost({ ...EXAMPLE, shares: [25, 25, 25] }, PRICES_2009), /shares must add up to 100, got 75/);
  assert.throws(() => estimateCost({ ...EXAMPLE, minutes: 0 }, PRICES_2009), /minutes must be > 0, got 0/);
});
