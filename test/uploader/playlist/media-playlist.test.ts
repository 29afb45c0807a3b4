import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderMediaPlaylist, type MediaPlaylist } from '@hlsrelay/uploader';

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
