/**
 * The ladder file and the command line of `segmenter ladder`: defaults, subsets per machine,
 * and errors that name the file, the profile and the field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LADDER, FIRST_OUTPUT_FD, ladderFfmpegArgs, parseLadderConfig, selectProfiles } from '@hlsrelay/segmenter';

const FILE = '--config ladder.json';

test('defaults: 1080p/720p/480p/240p at 30 fps', () => {
  assert.deepEqual(DEFAULT_LADDER.profiles.map((p) => p.name), ['1080p', '720p', '480p', '240p']);
  assert.deepEqual(parseLadderConfig('{}', FILE), DEFAULT_LADDER);
});

test('a profile: resolution, bitrates with units, extra arguments', () => {
  const c = parseLadderConfig(
    JSON.stringify({ fps: 25, profiles: [{ name: 'hd', resolution: '1280x720', videoBitrate: '2.5M', audioBitrate: '0k', extraArgs: ['-profile:v', 'high'] }] }),
    FILE,
  );
  assert.deepEqual(c.profiles, [{ name: 'hd', width: 1280, height: 720, videoKbps: 2500, audioKbps: 0, extraArgs: ['-profile:v', 'high'] }]);
  assert.equal(c.fps, 25);
});

const bad: Array<[string, unknown, RegExp]> = [
  ['not JSON', '{', /--config ladder\.json: not valid JSON/],
  ['unknown setting', { fsp: 30 }, /unknown setting "fsp"/],
  ['odd size', { profiles: [{ name: 'x', resolution: '641x360', videoBitrate: '800k' }] }, /profiles\[0\] \("x"\): "resolution" needs even width and height, got 641x360/],
  ['bitrate without unit', { profiles: [{ name: 'x', resolution: '640x360', videoBitrate: 800 }] }, /"videoBitrate" must be a bitrate such as "2800k" or "2\.8M", got 800/],
  ['same name twice', { profiles: [{ name: 'x', resolution: '640x360', videoBitrate: '800k' }, { name: 'x', resolution: '320x180', videoBitrate: '200k' }] }, /two profiles are named "x"/],
  ['extra args not strings', { profiles: [{ name: 'x', resolution: '640x360', videoBitrate: '800k', extraArgs: [1] }] }, /"extraArgs" must be an array of strings/],
  ['empty profiles', { profiles: [] }, /"profiles" must be a non-empty array/],
];
for (const [name, raw, message] of bad) {
  test(`refused: ${name}`, () => {
    assert.throws(() => parseLadderConfig(typeof raw === 'string' ? raw : JSON.stringify(raw), FILE), (e: Error) => e instanceof TypeError && message.test(e.message));
  });
}

test('--profiles picks this machine\'s share in ladder order, and names unknown profiles', () => {
  assert.deepEqual(selectProfiles(DEFAULT_LADDER, '240p,720p').map((p) => p.name), ['720p', '240p']);
  assert.throws(() => selectProfiles(DEFAULT_LADDER, '720p,4k'), /no profile named "4k" \(the ladder has 1080p, 720p, 480p, 240p\)/);
});

test('ffmpeg: one split, one pipe per profile, the same fixed GOP everywhere, no audio where asked', () => {
  const profiles = [
    { name: 'a', width: 640, height: 360, videoKbps: 800, audioKbps: 96, extraArgs: ['-x264-params', 'nal-hrd=cbr'] },
    { name: 'b', width: 320, height: 180, videoKbps: 200, audioKbps: 0, extraArgs: [] },
  ];
  const args = ladderFfmpegArgs({ input: 'in.mp4', fps: 30, segmentSeconds: 2 }, profiles);
  const text = args.join(' ');
  assert.match(text, /-filter_complex \[0:v:0\]split=2\[v0\]\[v1\];\[v0\]scale=640:360,format=yuv420p\[out0\];\[v1\]scale=320:180/);
  assert.equal((text.match(/-g 60 -keyint_min 60 -sc_threshold 0 -force_key_frames expr:gte\(t,n_forced\*2\)/g) ?? []).length, 2);
  assert.ok(text.includes(`-x264-params nal-hrd=cbr -f mpegts pipe:${FIRST_OUTPUT_FD}`), 'extra args come last, for that profile only');
  assert.ok(text.includes(`-an -f mpegts pipe:${FIRST_OUTPUT_FD + 1}`));
  assert.ok(!text.includes('-re '), 'a file is read as fast as it can be unless realtime');
  assert.ok(ladderFfmpegArgs({ input: 'in.mp4', fps: 30, segmentSeconds: 2, realtime: true }, profiles).includes('-re'));
  assert.ok(!ladderFfmpegArgs({ input: '-', fps: 30, segmentSeconds: 2 }, profiles).includes('-nostdin'), 'stdin is the source');
});
