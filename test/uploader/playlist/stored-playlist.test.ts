/** parseMediaPlaylist(): a stored playlist read back is the model it was rendered from. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newestPlaylistText, nextMediaSequence, parseMediaPlaylist, renderMediaPlaylist, type MediaPlaylist } from '@hlsrelay/uploader';

const live: MediaPlaylist = {
  version: 3,
  targetDuration: 2,
  mediaSequence: 23,
  discontinuitySequence: 1,
  independentSegments: true,
  segments: [
    { uri: 'https://cdn.example/live/cam-00023.ts', duration: 2.002 },
    { uri: 'https://cdn.example/live/cam-r1-00001.ts', duration: 1.96, discontinuity: true, programDateTime: new Date('2026-12-02T06:00:00.040Z') },
    { uri: 'cam-r1-00002.ts', duration: 2 },
  ],
  endList: false,
};

test('round trip: every field renderMediaPlaylist writes comes back', () => {
  assert.deepEqual(parseMediaPlaylist(renderMediaPlaylist(live)), live);
  const { discontinuitySequence: _none, ...withoutSequence } = live;
  const ended = { ...withoutSequence, endList: true, playlistType: 'EVENT' as const };
  assert.deepEqual(parseMediaPlaylist(renderMediaPlaylist(ended)), ended);
  assert.equal(nextMediaSequence(live), 26);
});

test('not a playlist: undefined; CRLF line ends and unknown tags are read past', () => {
  assert.equal(parseMediaPlaylist('<Error><Code>AccessDenied</Code></Error>'), undefined);
  assert.equal(parseMediaPlaylist('#EXTM3U\n#EXT-X-VERSION:3\n'), undefined, 'no target duration');
  const p = parseMediaPlaylist('#EXTM3U\r\n#EXT-X-TARGETDURATION:4\r\n#EXT-X-MEDIA-SEQUENCE:7\r\n#EXT-X-FOO:bar\r\n#EXTINF:3.5,title\r\na.ts\r\n');
  assert.deepEqual(p?.segments, [{ uri: 'a.ts', duration: 3.5 }]);
  assert.equal(p?.mediaSequence, 7);
});

test('newestPlaylistText: of mirrored copies, the one furthest along', () => {
  const behind = renderMediaPlaylist({ ...live, mediaSequence: 20 });
  const ahead = renderMediaPlaylist(live);
  assert.equal(newestPlaylistText([behind, ahead]), ahead);
  assert.equal(newestPlaylistText(['garbage', behind]), behind);
});
