import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMessage, type IndexMessage } from '@hlsrelay/protocol';
import { renderMediaPlaylist, StreamState, streamId, objectKey, streamKeyOf } from '@hlsrelay/uploader';

// The exact line the 2009 C segmenter sent.
const ORIGINAL = 'stream-128k.m3u8, /tmp/, 10, sample_128k, http://cdn.example/stream0001/, 1, 3, 0, mybucket, stream0001';

function msg(n: number, extra: Partial<IndexMessage> = {}, ext: IndexMessage['ext'] = {}): IndexMessage {
  return { ...parseMessage(ORIGINAL), lastSegment: n, ...extra, ext };
}

function run(state: StreamState, ...messages: IndexMessage[]): string[] {
  return messages.flatMap((m) => state.append(m));
}

test('keys: empty prefix has no leading slash; trailing slash not doubled; stream id names bucket and key', () => {
  assert.equal(objectKey('', 'a.m3u8'), 'a.m3u8');
  assert.equal(objectKey('stream0001', 'a.m3u8'), 'stream0001/a.m3u8');
  assert.equal(objectKey('live/stream0001/', 'a.m3u8'), 'live/stream0001/a.m3u8');
  assert.equal(streamId(streamKeyOf(parseMessage(ORIGINAL))), 's3://mybucket/stream0001/stream-128k.m3u8');
});

test('the original message: media sequence is the segment number, EXTINF from segment_duration', () => {
  const s = new StreamState(streamKeyOf(parseMessage(ORIGINAL)), { window: 5 });
  assert.deepEqual(run(s, parseMessage(ORIGINAL)), []);
  assert.equal(
    renderMediaPlaylist(s.playlist()),
    '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:3\n#EXT-X-INDEPENDENT-SEGMENTS\n' +
      '#EXTINF:10.000,\nhttp://cdn.example/stream0001/sample_128k-00003.ts\n',
  );
});

test('the window slides: at most N listed, media sequence grows by one per segment that leaves', () => {
  const s = new StreamState(streamKeyOf(msg(1)), { window: 3 });
  for (let n = 1; n <= 7; n++) {
    run(s, msg(n, {}, { duration: 9.5 }));
    const p = s.playlist();
    assert.equal(p.segments.length, Math.min(n, 3));
    assert.equal(p.mediaSequence, Math.max(1, n - 2));
    assert.equal(p.segments.at(-1)!.uri, `http://cdn.example/stream0001/sample_128k-${String(n).padStart(5, '0')}.ts`);
  }
  run(s, msg(8, { end: true }, { duration: 4.25 }));
  const text = renderMediaPlaylist(s.playlist());
  assert.match(text, /#EXT-X-MEDIA-SEQUENCE:6\n/);
  assert.match(text, /#EXTINF:4\.250,\nhttp:\/\/cdn\.example\/stream0001\/sample_128k-00008\.ts\n#EXT-X-ENDLIST\n$/);
});

test('target duration is fixed by the first segment; a longer one later is clamped with a warning', () => {
  const s = new StreamState(streamKeyOf(msg(1)), { window: 5 });
  run(s, msg(1, { segmentDuration: 2 }, { duration: 2.6 }));
  assert.equal(s.targetDuration, 3, 'first real segment already longer than configured: target raised before publishing');
  const warnings = run(s, msg(2, { segmentDuration: 2 }, { duration: 4.2 }));
  assert.equal(s.targetDuration, 3);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /longer than EXT-X-TARGETDURATION 3/);
  const p = s.playlist();
  assert.equal(p.segments[1].duration, 3.499);
  for (const seg of p.segments) assert.ok(Math.round(seg.duration) <= p.targetDuration);
  assert.match(run(s, msg(3, { segmentDuration: 4 }, { duration: 2 }))[0], /segment_duration changed from 2 to 4/);
  assert.equal(s.targetDuration, 3);
});

test('discontinuities: tagged before the segment; the sequence counts those that left the window', () => {
  const s = new StreamState(streamKeyOf(msg(1)), { window: 2 });
  run(s, msg(1), msg(2, {}, { discontinuity: true }));
  assert.equal(s.playlist().discontinuitySequence, 0);
  assert.equal(s.playlist().segments[1].discontinuity, true);
  run(s, msg(3), msg(4));
  assert.equal(s.playlist().discontinuitySequence, 1);
  assert.match(renderMediaPlaylist(s.playlist()), /#EXT-X-MEDIA-SEQUENCE:3\n#EXT-X-DISCONTINUITY-SEQUENCE:1\n/);
});

test('a segment number that goes back is a segmenter restart: discontinuity, media sequence keeps growing', () => {
  const s = new StreamState(streamKeyOf(msg(1)), { window: 3 });
  run(s, msg(40), msg(41), msg(42));
  assert.deepEqual(s.classify(msg(1)), { kind: 'new', restart: true });
  assert.match(run(s, msg(1))[0], /segmenter restart/);
  const p = s.playlist();
  assert.equal(p.mediaSequence, 41);
  assert.equal(p.segments.at(-1)!.discontinuity, true);
});

test('repeats: the last segment again is not listed twice; end=1 on it only ends the stream', () => {
  const s = new StreamState(streamKeyOf(msg(1)), { window: 5 });
  run(s, msg(1), msg(2));
  assert.deepEqual(s.classify(msg(2)), { kind: 'repeat', endsStream: false });
  assert.deepEqual(s.classify(msg(2, { end: true })), { kind: 'repeat', endsStream: true });
  s.end();
  assert.equal(s.playlist().segments.length, 2);
  assert.equal(s.playlist().endList, true);
});

test('program date-time is carried into the playlist', () => {
  const s = new StreamState(streamKeyOf(msg(1)), { window: 5 });
  const t = new Date('2026-03-04T05:06:07.089Z');
  run(s, msg(1, {}, { programDateTime: t }));
  assert.match(renderMediaPlaylist(s.playlist()), /#EXT-X-PROGRAM-DATE-TIME:2026-03-04T05:06:07\.089Z\n#EXTINF:10\.000,/);
});

test('snapshot round-trips (what a journal will store)', () => {
  const s = new StreamState(streamKeyOf(msg(1)), { window: 2 });
  run(s, msg(1), msg(2), msg(3, {}, { discontinuity: true }));
  const restored = new StreamState(s.key, { window: 2 }, s.snapshot());
  assert.equal(renderMediaPlaylist(restored.playlist()), renderMediaPlaylist(s.playlist()));
  run(restored, msg(4));
  assert.equal(restored.mediaSequence, 3);
  assert.equal(s.mediaSequence, 2, 'the snapshot is a copy');
});

test('options are validated with the value that came', () => {
  assert.throws(() => new StreamState(streamKeyOf(msg(1)), { window: 0 }), /window must be an integer ≥ 1, got 0/);
});

test('fMP4 inits: stored once per bytes, never a used name for other bytes, retired with the last segment that needs them', () => {
  const s = new StreamState(streamKeyOf(msg(1)), { window: 2 });
  const fmp4 = (n: number, init: string) => msg(n, {}, { duration: 10, format: 'fmp4', init });
  const place = (m: IndexMessage, digest: string) => {
    const p = s.initPlacement(m, digest);
    if (!p.stored) s.initStored(p);
    run2(m, p.name);
    return p;
  };
  const run2 = (m: IndexMessage, initName: string) => s.append(m, initName);
  const a = place(fmp4(1, 'sample_128k-init.mp4'), 'aa'.repeat(32));
  assert.deepEqual([a.name, a.stored], ['sample_128k-init.mp4', false]);
  assert.equal(place(fmp4(2, 'sample_128k-init.mp4'), 'aa'.repeat(32)).stored, true, 'the same bytes again: not uploaded again');
  assert.match(renderMediaPlaylist(s.playlist()), /^#EXTM3U\n#EXT-X-VERSION:6\n[\s\S]*#EXT-X-MAP:URI="http:\/\/cdn\.example\/stream0001\/sample_128k-init\.mp4"\n#EXTINF:10\.000,\n.*sample_128k-00001\.m4s\n#EXTINF/);
  assert.deepEqual(s.releaseInits(), [], 'listed segments still need it');
  // A restarted segmenter with higher numbers and other bytes under the same file name.
  const b = place(fmp4(3, 'sample_128k-init.mp4'), 'bb'.repeat(32));
  assert.deepEqual([b.name, b.stored], [`sample_128k-init-${'bb'.repeat(4)}.mp4`, false]);
  place(fmp4(4, 'sample_128k-init.mp4'), 'bb'.repeat(32));
  assert.deepEqual(s.releaseInits(), ['sample_128k-init.mp4'], 'no listed segment needs the first init any more');
  // Numbers reused (a restart from 1): the epoch's -r1- as for segments.
  const c = place(fmp4(1, 'sample_128k-init.mp4'), 'aa'.repeat(32));
  assert.equal(c.name, 'sample_128k-r1-init.mp4');
  assert.deepEqual(s.snapshot().initNames, ['sample_128k-init.mp4', `sample_128k-init-${'bb'.repeat(4)}.mp4`, 'sample_128k-r1-init.mp4']);
});

test('a new run after an end: a fresh window past the ended one, whose segments and inits stay (the ended playlist lists them)', () => {
  const s = new StreamState(streamKeyOf(msg(1)), { window: 3 });
  const fmp4 = (n: number, end = false) => msg(n, { end }, { duration: 10, format: 'fmp4', init: 'sample_128k-init.mp4' });
  const place = (m: IndexMessage) => {
    const p = s.initPlacement(m, 'aa'.repeat(32));
    if (!p.stored) s.initStored(p);
    return s.append(m, p.name);
  };
  for (let n = 1; n <= 4; n++) place(fmp4(n, n === 4));
  s.takeLeft();
  const ended = s.playlist();
  assert.equal(ended.endList, true);
  assert.equal(ended.mediaSequence, 2);
  // The segmenter starts again from 1: no warning (the uploader says it at info), a discontinuity.
  assert.deepEqual(s.classify(fmp4(1)), { kind: 'new', restart: true });
  assert.deepEqual(place(fmp4(1)).filter((w) => w.includes('segment number went')), []);
  const fresh = s.playlist();
  assert.equal(fresh.endList, false);
  assert.equal(fresh.mediaSequence, 5, 'past every segment the ended playlist lists');
  assert.deepEqual(fresh.segments.map((x) => [x.uri.replace(/.*\//, ''), x.discontinuity]), [['sample_128k-r1-00001.m4s', true]]);
  assert.deepEqual(s.takeLeft(), [], 'the ended run is never handed to retention');
  assert.deepEqual(s.releaseInits(), [], 'nor its init retired');
});

test('a new run after an end that goes on with the ended run\'s init: that init is never retired, even after a codec change', () => {
  const s = new StreamState(streamKeyOf(msg(1)), { window: 2 });
  const fmp4 = (n: number, init: string, end = false) => msg(n, { end }, { duration: 10, format: 'fmp4', init });
  const place = (m: IndexMessage, digest: string) => {
    const p = s.initPlacement(m, digest);
    if (!p.stored) s.initStored(p);
    s.append(m, p.name);
    return p;
  };
  for (let n = 1; n <= 3; n++) place(fmp4(n, 'sample_128k-init.mp4', n === 3), 'aa'.repeat(32));
  // Started again with higher numbers and the same bytes: the stored init is used again.
  assert.equal(place(fmp4(4, 'sample_128k-init.mp4'), 'aa'.repeat(32)).stored, true);
  // Then the codec configuration changes: a new init; segment 4, the last to need the first, leaves.
  for (const n of [5, 6, 7]) place(fmp4(n, 'sample_128k-init-2.mp4'), 'bb'.repeat(32));
  assert.ok(!s.playlist().segments.some((x) => x.initUri?.endsWith('/sample_128k-init.mp4')), 'no listed segment maps the first init');
  assert.deepEqual(s.releaseInits(), [], 'the kept ended playlist still maps it: not retired');
  assert.deepEqual(s.snapshot().keptInits, ['sample_128k-init.mp4']);
});
