/**
 * UploaderMetrics' series on a clock the test moves: an ended stream's stream-labelled series
 * leave /metrics once the retention has passed (bounded cardinality over a day of short
 * streams), a live stream's stay; the last-segment series is a Unix time from the wall clock.
 * The uploader is stood in for by its event source and stream list, the two things metrics read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { ENDED_STREAM_RETENTION_MS, UploaderMetrics, type Uploader } from '@hlsrelay/uploader';

class StreamsSource extends EventEmitter {
  readonly ended = new Set<string>();
  readonly known: string[] = [];
  readonly stats = { queued: 0 };
  streams() {
    return this.known.map((stream) => ({ stream, bucket: 'b', keyPrefix: 'k', index: 'i', lastSegment: 1, mediaSequence: 1, ended: this.ended.has(stream), queued: 0 }));
  }
  segment(stream: string, at: number) {
    if (!this.known.includes(stream)) this.known.push(stream);
    this.emit('message-accepted', { stream, peer: '127.0.0.1', segment: 1, arrivedAt: at });
    this.emit('segment-stored', { stream, segment: 1, key: 'k/1.ts', storedAt: at });
  }
}

const series = (text: string, stream: string) => text.split('\n').filter((l) => !l.startsWith('#') && l.includes(`stream="${stream}"`));

test('an ended stream leaves the stream-labelled series after the retention; a live one stays', async () => {
  let now = 1_000;
  let wall = Date.UTC(2026, 0, 1);
  const metrics = new UploaderMetrics({ clock: () => now, wallClock: () => wall, processMetrics: false });
  const source = new StreamsSource();
  metrics.watch(source as unknown as Uploader);
  source.segment('s3://b/k/live.m3u8', now);
  source.segment('s3://b/k/short.m3u8', now);
  wall += 1_500;
  source.segment('s3://b/k/live.m3u8', now);

  let text = await metrics.metrics();
  assert.deepEqual(series(text, 's3://b/k/live.m3u8').sort(), [
    'hlsrelay_messages_total{stream="s3://b/k/live.m3u8"} 2',
    'hlsrelay_segments_stored_total{stream="s3://b/k/live.m3u8"} 2',
    'hlsrelay_stream_last_segment_timestamp_seconds{stream="s3://b/k/live.m3u8"} 1767225601.5',
    'hlsrelay_stream_queue_depth{stream="s3://b/k/live.m3u8"} 0',
  ]);

  source.ended.add('s3://b/k/short.m3u8');
  text = await metrics.metrics();
  // Ended: no longer live (no queue or last-segment series), but its counters are still scraped.
  assert.deepEqual(series(text, 's3://b/k/short.m3u8').sort(), [
    'hlsrelay_messages_total{stream="s3://b/k/short.m3u8"} 1',
    'hlsrelay_segments_stored_total{stream="s3://b/k/short.m3u8"} 1',
  ]);
  now += ENDED_STREAM_RETENTION_MS - 1;
  assert.equal(series(await metrics.metrics(), 's3://b/k/short.m3u8').length, 2, 'kept until the retention has passed');
  now += 1;
  text = await metrics.metrics();
  assert.deepEqual(series(text, 's3://b/k/short.m3u8'), [], 'gone after it');
  assert.equal(series(text, 's3://b/k/live.m3u8').length, 4, 'the live stream keeps its series');
});
