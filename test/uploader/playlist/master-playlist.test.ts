/**
 * The master playlist: golden text from the pure renderer, the measurement rules of the meter,
 * and when the state asks for a new upload.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMessage, parseMessage, type IndexMessage } from '@hlsrelay/protocol';
import { MasterState, renderMasterPlaylist, RenditionMeter, type MasterPlaylist } from '@hlsrelay/uploader';
import { parseM3u8 } from '../../support/m3u8';

const golden: Array<[string, MasterPlaylist, string]> = [
  [
    'two renditions with every attribute',
    {
      version: 3,
      independentSegments: true,
      variants: [
        { uri: 'cam-240p.m3u8', bandwidth: 512_345, averageBandwidth: 450_000.4, codecs: 'avc1.4d400d,mp4a.40.2', resolution: '426x240', frameRate: 30 },
        { uri: 'cam-720p.m3u8', bandwidth: 3_100_000, averageBandwidth: 2_900_000, codecs: 'avc1.4d401f,mp4a.40.2', resolution: '1280x720', frameRate: 29.97 },
      ],
    },
    '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n' +
      '#EXT-X-STREAM-INF:BANDWIDTH=512345,AVERAGE-BANDWIDTH=450000,CODECS="avc1.4d400d,mp4a.40.2",RESOLUTION=426x240,FRAME-RATE=30.000\n' +
      'cam-240p.m3u8\n' +
      '#EXT-X-STREAM-INF:BANDWIDTH=3100000,AVERAGE-BANDWIDTH=2900000,CODECS="avc1.4d401f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=29.970\n' +
      'cam-720p.m3u8\n',
  ],
  [
    'audio only: no resolution or frame rate',
    { version: 3, independentSegments: false, variants: [{ uri: 'radio.m3u8', bandwidth: 132_000, codecs: 'mp4a.40.2' }] },
    '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=132000,CODECS="mp4a.40.2"\nradio.m3u8\n',
  ],
];

for (const [name, model, text] of golden) {
  test(`renders ${name}`, () => {
    assert.equal(renderMasterPlaylist(model), text);
    assert.doesNotMatch(text, /PROGRAM-ID/);
    const playlists = parseM3u8(text).playlists ?? [];
    assert.equal(playlists.length, model.variants.length);
    playlists.forEach((p, i) => {
      assert.equal(p.uri, model.variants[i].uri);
      assert.equal(p.attributes.BANDWIDTH, Math.round(model.variants[i].bandwidth));
      assert.equal(p.attributes.CODECS, model.variants[i].codecs);
    });
  });
}

test('refuses a variant without a bandwidth or with a broken URI', () => {
  assert.throws(() => renderMasterPlaylist({ version: 3, independentSegments: true, variants: [{ uri: 'a.m3u8', bandwidth: 0 }] }), /BANDWIDTH of a\.m3u8/);
  assert.throws(() => renderMasterPlaylist({ version: 3, independentSegments: true, variants: [{ uri: 'a\n#EXT-X-ENDLIST', bandwidth: 1 }] }), /one non-empty line/);
});

test('meter: peak ignores segments shorter than half the target, average counts them all', () => {
  const m = new RenditionMeter();
  assert.equal(m.peak, undefined);
  // A tiny final segment: 0.3 s holding a keyframe of 60 kB = 1.6 Mbit/s.
  m.observe(60_000, 0.3, 2);
  assert.equal(m.peak, 1_600_000, 'with nothing else seen, the short one counts');
  m.observe(250_000, 2, 2); // 1.0 Mbit/s
  m.observe(200_000, 2.002, 2); // ~0.8 Mbit/s
  assert.equal(m.peak, 1_000_000);
  assert.equal(Math.round(m.average!), Math.round((510_000 * 8) / 4.302));
  assert.equal(m.segments, 3);
});

test('meter: the peak is never below the average', () => {
  const m = new RenditionMeter();
  m.observe(100_000, 2, 2); // 400 kbit/s
  m.observe(200_000, 0.5, 2); // short, 3.2 Mbit/s: not a peak, but lifts the average
  assert.ok(m.peak! >= m.average!);
  assert.equal(m.peak, m.average);
});

const base: IndexMessage = {
  index: 'cam-480p.m3u8',
  outputDirectory: '/tmp/',
  segmentDuration: 2,
  outputPrefix: 'cam-480p',
  httpPrefix: 'https://cdn.example/live/',
  firstSegment: 1,
  lastSegment: 1,
  end: false,
  bucketName: 'b',
  keyPrefix: 'live',
  ext: { duration: 2, size: 250_000, codecs: 'avc1.4d401e,mp4a.40.2', resolution: '854x480', frameRate: 30, master: 'cam.m3u8' },
};
const seg = (uri: string, ext: Partial<IndexMessage['ext']>, n = 1): [string, IndexMessage] => [uri, { ...base, lastSegment: n, ext: { ...base.ext, ...ext } }];

test('state: a rendition is listed only once its playlist is stored; new renditions and >10 % moves ask for an upload', () => {
  const s = new MasterState('b', 'live/cam.m3u8');
  s.observeSegment(...seg('cam-480p.m3u8', {}));
  assert.deepEqual(s.playlist().variants, [], 'playlist not stored yet: not listed');
  assert.equal(s.needsUpload(s.playlist()), false, 'an empty master is never uploaded');
  s.playlistStored('cam-480p.m3u8', false);
  assert.equal(s.needsUpload(s.playlist()), true);
  s.published(s.playlist());
  assert.equal(s.needsUpload(s.playlist()), false);

  // +8 %: not worth an upload.
  s.observeSegment(...seg('cam-480p.m3u8', { size: 270_000 }, 2));
  assert.equal(s.playlist().variants[0].bandwidth, 1_080_000);
  assert.equal(s.needsUpload(s.playlist()), false);
  // Peak now +20 % over what was stored.
  s.observeSegment(...seg('cam-480p.m3u8', { size: 300_000 }, 3));
  assert.equal(s.needsUpload(s.playlist()), true);
  s.published(s.playlist());

  // A second rendition: listed (and uploaded) once its playlist is stored, sorted by bandwidth.
  s.observeSegment(...seg('cam-240p.m3u8', { size: 100_000, resolution: '426x240', codecs: 'avc1.4d400d,mp4a.40.2' }));
  assert.equal(s.needsUpload(s.playlist()), false);
  s.playlistStored('cam-240p.m3u8', false);
  assert.equal(s.needsUpload(s.playlist()), true);
  assert.deepEqual(s.playlist().variants.map((v) => v.uri), ['cam-240p.m3u8', 'cam-480p.m3u8']);
  s.published(s.playlist());

  // Codecs changed (the encoder restarted with another profile): upload whatever the bitrate.
  s.observeSegment(...seg('cam-240p.m3u8', { size: 100_000, resolution: '426x240', codecs: 'avc1.64000d,mp4a.40.2' }, 2));
  assert.equal(s.needsUpload(s.playlist()), true);
  s.published(s.playlist());

  // A rendition ended: the next upload carries the exact figures, even for a 1 % move.
  s.observeSegment(...seg('cam-240p.m3u8', { size: 103_000, resolution: '426x240', codecs: 'avc1.64000d,mp4a.40.2' }, 3));
  assert.equal(s.needsUpload(s.playlist()), false);
  s.playlistStored('cam-240p.m3u8', true);
  assert.equal(s.needsUpload(s.playlist()), true);
});

test('the master name travels in the index message and survives a round trip', () => {
  const line = formatMessage(base);
  assert.match(line, /, master=cam\.m3u8/);
  assert.equal(parseMessage(line).ext.master, 'cam.m3u8');
});
