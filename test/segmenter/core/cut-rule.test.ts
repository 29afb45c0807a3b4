import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shouldCut, type CutPoint } from '@hlsrelay/segmenter';

const TARGET = 90_000; // one second at 90 kHz

test('the cut rule: a random access point opens the first segment, follows a discontinuity, or ends a segment of at least the target', () => {
  const table: Array<[Partial<CutPoint>, boolean, string]> = [
    [{ ticksSinceStart: 90_000 }, true, 'keyframe exactly at the target'],
    [{ ticksSinceStart: 89_999 }, false, 'keyframe one tick short of the target'],
    [{ randomAccess: false, ticksSinceStart: 900_000 }, false, 'no random access, however long the segment'],
    [{ ticksSinceStart: 180_000 }, true, 'keyframe past the target'],
    [{ inSegment: false, ticksSinceStart: 0 }, true, 'first keyframe opens the first segment'],
    [{ inSegment: false, randomAccess: false }, false, 'nothing opens before a random access point'],
    [{ discontinuityPending: true, ticksSinceStart: 1 }, true, 'a broken timeline cuts at the next keyframe'],
    [{ discontinuityPending: true, randomAccess: false }, false, 'a broken timeline still waits for random access'],
    [{ ticksSinceStart: -90_000 }, false, 'PTS went back within the segment (reordering): not a cut'],
  ];
  for (const [overrides, cut, why] of table) {
    const point: CutPoint = { randomAccess: true, inSegment: true, discontinuityPending: false, ticksSinceStart: 0, ...overrides };
    assert.equal(shouldCut(point, TARGET), cut, why);
  }
});
