import { test } from 'node:test';
import assert from 'node:assert/strict';
import { playlistVersion, renderMediaPlaylist, type MediaPlaylist } from '@hlsrelay/uploader';

const base: MediaPlaylist = {
  version: 3,
  targetDuration: 10,
  mediaSequence: 1,
  independentSegments: true,
  segments: [
    { uri: 'http://cdn.example/stream0001/sample_128k-00001.ts', duration: 10 },
    { uri: 'http://cdn.example/stream0001/sample_128k-00002.ts', duration: 9.976 },
  ],
  endList: false,
};

test('live window: header tags in order, decimal EXTINF with the comma, no ENDLIST', () => {
  assert.equal(
    renderMediaPlaylist(base),
    [
      '#EXTM3U',
      '#EXT-X-VERSION:3',
      '#EXT-X-TARGETDURATION:10',
      '#EXT-X-MEDIA-SEQUENCE:1',
      '#EXT-X-INDEPENDENT-SEGMENTS',
      '#EXTINF:10.000,',
      'http://cdn.example/stream0001/sample_128k-00001.ts',
      '#EXTINF:9.976,',
      'http://cdn.example/stream0001/sample_128k-00002.ts',
      '',
    ].join('\n'),
  );
});

test('ended stream with program date-time, discontinuity and its sequence', () => {
  const text = renderMediaPlaylist({
    ...base,
    targetDuration: 2,
    mediaSequence: 57,
    discontinuitySequence: 1,
    independentSegments: false,
    segments: [
      { uri: 'a-00057.ts', duration: 2.002, programDateTime: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)) },
      { uri: 'a-00001.ts', duration: 1.5, discontinuity: true, programDateTime: new Date(Date.UTC(2026, 0, 2, 3, 4, 9, 0)) },
    ],
    endList: true,
  });
  assert.equal(
    text,
    [
      '#EXTM3U',
      '#EXT-X-VERSION:3',
      '#EXT-X-TARGETDURATION:2',
      '#EXT-X-MEDIA-SEQUENCE:57',
      '#EXT-X-DISCONTINUITY-SEQUENCE:1',
      '#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:05.006Z',
      '#EXTINF:2.002,',
      'a-00057.ts',
      '#EXT-X-DISCONTINUITY',
      '#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:09.000Z',
      '#EXTINF:1.500,',
      'a-00001.ts',
      '#EXT-X-ENDLIST',
      '',
    ].join('\n'),
  );
});

test('the renderer is pure: same model, same text; the model is not modified', () => {
  const copy = structuredClone(base);
  assert.equal(renderMediaPlaylist(base), renderMediaPlaylist(base));
  assert.deepEqual(base, copy);
});

test('fMP4: EXT-X-MAP before the first segment and again after a discontinuity with a new init; version 6 only with EXT-X-MAP', () => {
  const segments = [
    { uri: 'cam-00007.m4s', duration: 2, initUri: 'cam-init.mp4' },
    { uri: 'cam-00008.m4s', duration: 2, initUri: 'cam-init.mp4' },
    { uri: 'cam-00009.m4s', duration: 2, discontinuity: true, initUri: 'cam-init-2.mp4' },
  ];
  assert.equal(playlistVersion(segments), 6);
  assert.equal(playlistVersion(base.segments), 3, 'TS playlists keep version 3');
  assert.equal(
    renderMediaPlaylist({ ...base, version: playlistVersion(segments), targetDuration: 2, mediaSequence: 7, segments }),
    [
      '#EXTM3U',
      '#EXT-X-VERSION:6',
      '#EXT-X-TARGETDURATION:2',
      '#EXT-X-MEDIA-SEQUENCE:7',
      '#EXT-X-INDEPENDENT-SEGMENTS',
      '#EXT-X-MAP:URI="cam-init.mp4"',
      '#EXTINF:2.000,',
      'cam-00007.m4s',
      '#EXTINF:2.000,',
      'cam-00008.m4s',
      '#EXT-X-DISCONTINUITY',
      '#EXT-X-MAP:URI="cam-init-2.mp4"',
      '#EXTINF:2.000,',
      'cam-00009.m4s',
      '',
    ].join('\n'),
  );
  // A discontinuity resets a player's decoder: the map is named again even when it is the same init.
  const again = renderMediaPlaylist({ ...base, version: 6, segments: [segments[0], { ...segments[1], discontinuity: true }] });
  assert.equal(again.match(/#EXT-X-MAP:URI="cam-init.mp4"/g)?.length, 2);
  assert.throws(() => renderMediaPlaylist({ ...base, segments: [{ uri: 'a.m4s', duration: 1, initUri: 'a"b.mp4' }] }), /EXT-X-MAP URI/);
});
