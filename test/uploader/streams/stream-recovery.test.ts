/** recoverStream(): a stream continued from its stored playlist never moves back and never reuses a name. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMessage, parseMessage, type IndexMessage } from '@hlsrelay/protocol';
import { highestRun, parseMediaPlaylist, recoverStream, StreamState } from '@hlsrelay/uploader';

const message = (n: number): IndexMessage =>
  parseMessage(
    formatMessage({
      segmentDuration: 2, outputDirectory: '/tmp', outputPrefix: 'cam', index: 'cam.m3u8', httpPrefix: 'https://cdn.example/live/',
      bucketName: 'b', keyPrefix: 'live', firstSegment: 1, lastSegment: n, end: false, ext: { duration: 2 },
    }),
  );

const stored = parseMediaPlaylist(
  [
    '#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:21', '#EXT-X-DISCONTINUITY-SEQUENCE:2',
    '#EXTINF:2.000,', 'https://cdn.example/live/cam-r2-00021.ts',
    '#EXTINF:2.000,', 'https://cdn.example/live/cam-r2-00022.ts',
    '#EXTINF:2.000,', 'https://cdn.example/live/cam-r2-00023.ts',
    '',
  ].join('\n'),
)!;

test('the stored window stays listed, the sequence goes on, this run is stored under a new run of names', () => {
  const { snapshot, epoch } = recoverStream(stored, 'cam');
  assert.equal(epoch, 3);
  const state = new StreamState({ bucket: 'b', keyPrefix: 'live', index: 'cam.m3u8' }, { window: 3 }, snapshot);
  // The segmenter restarted too: its numbers start at 1 again.
  const m = message(1);
  assert.equal(state.classify(m).kind, 'new');
  assert.equal(state.objectName(m), 'cam-r3-00001.ts');
  state.append({ ...m, ext: { ...m.ext, discontinuity: true } });
  const p = state.playlist();
  assert.equal(p.mediaSequence, 22, 'one stored segment slid out: 21 → 22, never back');
  assert.equal(p.discontinuitySequence, 2);
  assert.deepEqual(p.segments.map((s) => s.uri.split('/').pop()), ['cam-r2-00022.ts', 'cam-r2-00023.ts', 'cam-r3-00001.ts']);
  assert.equal(p.segments[2].discontinuity, true);
  assert.equal(p.targetDuration, 2);
  // Numbers continue within the run; a later restart of the segmenter takes the next run.
  state.append(message(2));
  assert.equal(state.objectName(message(1)), 'cam-r4-00001.ts');
});

test('highestRun: first-run names are run 0; other prefixes do not count', () => {
  assert.equal(highestRun(['cam-00001.ts', 'cam-00002.ts'], 'cam'), 0);
  assert.equal(highestRun(['cam-r7-00001.ts', 'cam-r12-00003.ts', 'other-r40-00001.ts'], 'cam'), 12);
  assert.equal(highestRun(['c.m-r2-00001.ts', 'cxm-r9-00001.ts'], 'c.m'), 2, 'the prefix is matched literally');
});

test('fMP4: EXT-X-MAP read back per segment; .m4s and init names count for the run; an init beside the segments is named so it can be retired', () => {
  const p = parseMediaPlaylist(
    [
      '#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:7',
      '#EXT-X-MAP:URI="https://cdn.example/live/cam-r1-init.mp4"',
      '#EXTINF:2.000,', 'https://cdn.example/live/cam-r1-00007.m4s',
      '#EXT-X-DISCONTINUITY', '#EXT-X-MAP:URI="https://cdn.example/live/cam-r2-init.mp4"',
      '#EXTINF:2.000,', 'https://cdn.example/live/cam-00008.m4s',
      '#EXT-X-MAP:URI="https://other.example/shared-init.mp4"',
      '#EXTINF:2.000,', 'https://cdn.example/live/cam-00009.m4s',
      '',
    ].join('\n'),
  )!;
  assert.deepEqual(p.segments.map((s) => s.initUri), ['https://cdn.example/live/cam-r1-init.mp4', 'https://cdn.example/live/cam-r2-init.mp4', 'https://other.example/shared-init.mp4']);
  const { snapshot, epoch } = recoverStream(p, 'cam');
  assert.equal(epoch, 3, 'run 2 shows only in an init name: still taken');
  assert.deepEqual(snapshot.window.map((s) => [s.number, s.initName]), [[7, 'cam-r1-init.mp4'], [8, 'cam-r2-init.mp4'], [9, undefined]], 'an init elsewhere is not this stream\'s to retire');
  assert.deepEqual(snapshot.initNames, ['cam-r1-init.mp4', 'cam-r2-init.mp4']);
  assert.equal(highestRun(['cam-r4-00001.m4s', 'r6-init.mp4', 'cam-init.mp4'], 'cam'), 6);
});
