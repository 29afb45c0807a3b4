/** shouldPublishNow: the batching decision of a stream's playlist PUT, as a table. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shouldPublishNow } from '@hlsrelay/uploader';

test('shouldPublishNow: publish when nothing more of the stream waits, or when a whole window is unpublished', () => {
  const rows: Array<[waitingInLane: number, unpublished: number, window: number, publish: boolean, why: string]> = [
    [0, 1, 5, true, 'nothing waits behind it: publish at once'],
    [0, 0, 5, true, 'nothing waits (an end of stream with nothing new)'],
    [1, 1, 5, false, 'the next segment is already queued: one PUT will publish both'],
    [10, 4, 5, false, 'still less than a window held back'],
    [10, 5, 5, true, 'a whole window unpublished: players must not wait longer'],
    [3, 7, 5, true, 'more than a window (after a refused playlist)'],
    [2, 1, 1, true, 'a window of one never batches'],
  ];
  for (const [waiting, unpublished, window, publish, why] of rows) {
    assert.equal(shouldPublishNow(waiting, unpublished, window), publish, `${waiting} waiting, ${unpublished} unpublished, window ${window}: ${why}`);
  }
});
