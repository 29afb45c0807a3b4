import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PTS_MODULUS } from '@hlsrelay/protocol';
import { ANCHOR_STEP_TICKS, MasterTimeline, signedPtsDelta, TIMELINE_TOLERANCE_MS } from '@hlsrelay/uploader';

const T0 = Date.parse('2026-12-02T13:00:00.000Z');

test('two renditions whose segmenters started 155 ms apart give the same PTS the same date-time', () => {
  const timeline = new MasterTimeline();
  const first = timeline.place(126_000, T0);
  assert.deepEqual(first, { ms: T0, anchored: true, concurrent: false, changed: true });
  // 2 s later on the PTS timeline; the second segmenter's clock says 155 ms later than the first's.
  const a = timeline.place(126_000 + 180_000, T0 + 2_000);
  const b = timeline.place(126_000 + 180_000, T0 + 2_155);
  assert.equal(a.ms, T0 + 2_000);
  assert.equal(b.ms, a.ms);
  assert.equal(b.anchored, false);
  // 1/3 ms of ticks (30): floor, the same for every variant.
  assert.equal(timeline.place(126_000 + 30, T0 + 400).ms, T0);
  assert.equal(timeline.place(126_000 + 90, T0).ms, T0 + 1);
});

test('PTS wrapping past 2^33 keeps counting forward', () => {
  const timeline = new MasterTimeline();
  timeline.place(PTS_MODULUS - 90_000, T0);
  assert.equal(timeline.place(90_000, T0 + 2_000).ms, T0 + 2_000);
  assert.equal(signedPtsDelta(PTS_MODULUS - 1, 1), 2);
  assert.equal(signedPtsDelta(1, PTS_MODULUS - 1), -2);
});

test('three days of segments: the anchor moves forward in whole milliseconds and no date-time moves', () => {
  const timeline = new MasterTimeline();
  const start = 8_000_000_000;
  timeline.place(start, T0);
  let moves = 0;
  // One segment every 10 minutes and 1/3 ms, across several wraps; each date-time is the exact one.
  for (let ticks = 0; ticks < 3 * 24 * 3600 * 90_000; ticks += 54_000_030) {
    const placed = timeline.place((start + ticks) % PTS_MODULUS, T0 + ticks / 90);
    assert.equal(placed.ms, T0 + Math.floor(ticks / 90), `at ${ticks} ticks`);
    assert.equal(placed.anchored, false);
    if (placed.changed) moves++;
  }
  assert.ok(moves >= Math.floor((3 * 24 * 3600 * 90_000) / ANCHOR_STEP_TICKS) - 1, `the anchor moved ${moves} times`);
  // A restored copy dates the same PTS the same.
  const restored = new MasterTimeline(timeline.snapshot());
  const pts = (start + 3 * 24 * 3600 * 90_000) % PTS_MODULUS;
  assert.equal(restored.place(pts, T0 + 3 * 24 * 3600 * 1000).ms, T0 + 3 * 24 * 3600 * 1000);
});

test('a restarted encoder (PTS from zero again) starts a new anchor; renditions finishing the old run keep the old one', () => {
  const timeline = new MasterTimeline();
  timeline.place(126_000, T0);
  timeline.place(126_000 + 60 * 90_000, T0 + 60_000);
  const restarted = timeline.place(126_000, T0 + 65_000);
  assert.equal(restarted.anchored, true);
  assert.equal(restarted.ms, T0 + 65_000);
  assert.equal(restarted.concurrent, true, 'the old anchor was in use a moment ago');
  assert.equal(restarted.offsetMs, 65_000 - 0);
  // The second rendition of the restarted ladder lands on the new anchor, 20 ms later by its own clock.
  assert.deepEqual(timeline.place(126_000 + 180_000, T0 + 67_020), { ms: T0 + 67_000, anchored: false, concurrent: false, changed: false });
  // A late segment of the old run still dates on the old anchor.
  assert.equal(timeline.place(126_000 + 62 * 90_000, T0 + 62_030).ms, T0 + 62_000);
});

test('a rendition whose PTS is off by more than the tolerance is not on the timeline', () => {
  const timeline = new MasterTimeline();
  timeline.place(126_000, T0);
  assert.equal(timeline.place(126_000 + 90 * (TIMELINE_TOLERANCE_MS - 1), T0).anchored, false);
  const off = timeline.place(126_000 + 90 * (TIMELINE_TOLERANCE_MS + 1000), T0);
  assert.equal(off.anchored, true);
  assert.equal(off.concurrent, true);
  assert.equal(off.offsetMs, -(TIMELINE_TOLERANCE_MS + 1000));
  // An anchor unused for a week is not a timeline in use.
  assert.equal(timeline.place(500, T0 + 7 * 86_400_000).concurrent, false);
});
