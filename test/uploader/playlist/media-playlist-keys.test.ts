/** EXT-X-KEY in the media playlist renderer (RFC 8216 §4.3.2.4) and read back by the stored-playlist parser. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMediaPlaylist, renderMediaPlaylist, type MediaPlaylist } from '@hlsrelay/uploader';

const KEY_A = { uri: 'https://keys.example/live/cam-0a1b2c3d-00000.key' };
const KEY_B = { uri: 'https://keys.example/live/cam-0a1b2c3d-00001.key' };
const IV = '0x000102030405060708090a0b0c0d0e0f';

const ts: MediaPlaylist = {
  version: 3,
  targetDuration: 2,
  mediaSequence: 7,
  independentSegments: true,
  segments: [
    { uri: 'cam-00007.ts', duration: 2, key: KEY_A },
    { uri: 'cam-00008.ts', duration: 2, key: KEY_A },
    { uri: 'cam-00009.ts', duration: 2, key: KEY_B },
  ],
  endList: false,
};

test('MPEG-TS: one EXT-X-KEY at the window start and one at each rotation, no IV (the media sequence is the IV)', () => {
  assert.equal(
    renderMediaPlaylist(ts),
    [
      '#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:7', '#EXT-X-INDEPENDENT-SEGMENTS',
      `#EXT-X-KEY:METHOD=AES-128,URI="${KEY_A.uri}"`,
      '#EXTINF:2.000,', 'cam-00007.ts',
      '#EXTINF:2.000,', 'cam-00008.ts',
      `#EXT-X-KEY:METHOD=AES-128,URI="${KEY_B.uri}"`,
      '#EXTINF:2.000,', 'cam-00009.ts',
      '',
    ].join('\n'),
  );
});

test('fMP4: EXT-X-KEY with its IV before EXT-X-MAP, and the map written again after each new key', () => {
  const text = renderMediaPlaylist({
    ...ts,
    version: 6,
    segments: [
      { uri: 'cam-00007.m4s', duration: 2, key: { ...KEY_A, iv: IV }, initUri: 'cam-init.mp4', discontinuity: true },
      { uri: 'cam-00008.m4s', duration: 2, key: { ...KEY_A, iv: IV }, initUri: 'cam-init.mp4' },
      { uri: 'cam-00009.m4s', duration: 2, key: { ...KEY_B, iv: IV }, initUri: 'cam-init-5d41402a.mp4' },
      { uri: 'cam-00010.m4s', duration: 2, key: { ...KEY_B, iv: IV }, initUri: 'cam-init-5d41402a.mp4' },
    ],
  });
  assert.equal(
    text.split('\n').slice(5).join('\n'),
    [
      '#EXT-X-DISCONTINUITY',
      `#EXT-X-KEY:METHOD=AES-128,URI="${KEY_A.uri}",IV=${IV}`,
      '#EXT-X-MAP:URI="cam-init.mp4"',
      '#EXTINF:2.000,', 'cam-00007.m4s',
      '#EXTINF:2.000,', 'cam-00008.m4s',
      `#EXT-X-KEY:METHOD=AES-128,URI="${KEY_B.uri}",IV=${IV}`,
      '#EXT-X-MAP:URI="cam-init-5d41402a.mp4"',
      '#EXTINF:2.000,', 'cam-00009.m4s',
      '#EXTINF:2.000,', 'cam-00010.m4s',
      '',
    ].join('\n'),
  );
});

test('clear segments after encrypted ones get METHOD=NONE; a clear playlist has no EXT-X-KEY at all', () => {
  const text = renderMediaPlaylist({ ...ts, segments: [ts.segments[0], { uri: 'cam-00008.ts', duration: 2 }] });
  assert.match(text, /cam-00007\.ts\n#EXT-X-KEY:METHOD=NONE\n#EXTINF:2\.000,\ncam-00008\.ts\n$/);
  assert.doesNotMatch(renderMediaPlaylist({ ...ts, segments: ts.segments.map(({ key: _k, ...s }) => s) }), /EXT-X-KEY/);
});

test('a key URI with a quote or line break, or an IV that is not 0x + 32 hex digits, is refused', () => {
  assert.throws(() => renderMediaPlaylist({ ...ts, segments: [{ uri: 'a.ts', duration: 2, key: { uri: 'https://k/"x' } }] }), /EXT-X-KEY URI/);
  assert.throws(() => renderMediaPlaylist({ ...ts, segments: [{ uri: 'a.ts', duration: 2, key: { uri: 'https://k/x', iv: '0x01' } }] }), /IV must be/);
});

test('read back from storage: every segment keeps the key in force above it (a recovered window is re-rendered the same)', () => {
  const text = renderMediaPlaylist(ts);
  const parsed = parseMediaPlaylist(text)!;
  assert.deepEqual(parsed.segments.map((s) => s.key), [KEY_A, KEY_A, KEY_B]);
  assert.equal(renderMediaPlaylist({ ...parsed, version: 3 }), text);
  const withIv = parseMediaPlaylist(`#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-KEY:METHOD=AES-128,URI="k",IV=${IV}\n#EXTINF:2,\na.ts\n#EXT-X-KEY:METHOD=NONE\n#EXTINF:2,\nb.ts\n`)!;
  assert.deepEqual(withIv.segments.map((s) => s.key), [{ uri: 'k', iv: IV }, undefined]);
});
