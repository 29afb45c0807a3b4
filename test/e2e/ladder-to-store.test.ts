/**
 * A three-rendition ladder end to end, split over two "transcode machines" as an operator
 * would: the same ladder file and source on both, `--profiles` choosing each one's share, both
 * against one uploader (in-process) storing into s3rver. Real ffmpeg, real `segmenter ladder`
 * processes, real TCP.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { getObject, startHarness, type Harness } from '../support/uploader-rig';
import { parseM3u8 } from '../support/m3u8';
import { tempDir } from '../support/temp-dir';
import { testSourceFile, FFMPEG } from '../support/ffmpeg';
import { SEGMENTER_BIN } from '../support/paths';

const LADDER = {
  fps: 25,
  preset: 'veryfast',
  profiles: [
    { name: '360p', resolution: '640x360', videoBitrate: '900k', audioBitrate: '96k' },
    // extraArgs reach this rendition only: a fixed H.264 level shows up in its CODECS.
    { name: '180p', resolution: '320x180', videoBitrate: '250k', audioBitrate: '64k', extraArgs: ['-level:v', '2.1'] },
    { name: '270p', resolution: '480x270', videoBitrate: '500k', audioBitrate: '64k' },
  ],
};
const SEGMENT_SECONDS = 2;
const SOURCE_SECONDS = 11;

interface Run {
  code: number | null;
  stderr: string;
}

function runLadder(args: string[]): Promise<Run> {
  const child = spawn(process.execPath, [SEGMENTER_BIN, 'ladder', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

/** `avc1.PPCCLL` from the first SPS in a segment: the three bytes after the NAL header (ISO 14496-15 §5.3.3.1.2). */
function avc1FromSegment(ts: Buffer): string {
  for (let i = 0; i + 7 < ts.length; i++) {
    if (ts[i] === 0 && ts[i + 1] === 0 && ts[i + 2] === 1 && (ts[i + 3] & 0x1f) === 7) {
      return 'avc1.' + [ts[i + 4], ts[i + 5], ts[i + 6]].map((b) => b.toString(16).padStart(2, '0')).join('');
    }
  }
  throw new Error('no SPS in the segment');
}

/**
 * `mp4a.40.<audio object type>` from the first ADTS header (ISO 14496-3 §1.A.2.2.1: profile + 1),
 * found right after the header of the first audio PES (stream id 0xC0, ISO 13818-1 §2.4.3.7).
 */
function mp4aFromSegment(ts: Buffer): string {
  for (let i = 0; i + 12 < ts.length; i++) {
    if (ts[i] === 0 && ts[i + 1] === 0 && ts[i + 2] === 1 && ts[i + 3] === 0xc0) {
      const adts = i + 9 + ts[i + 8]; // 9 fixed PES header bytes + PES_header_data_length
      assert.equal(ts[adts], 0xff, 'ADTS syncword after the PES header');
      return `mp4a.40.${((ts[adts + 2] >> 6) & 0x03) + 1}`;
    }
  }
  throw new Error('no audio PES in the segment');
}

describe('ladder → uploader → store, across two transcode machines', { timeout: 180_000 }, () => {
  let h: Harness;
  let dir: string;
  const masters: Array<{ at: number; text: string }> = [];
  let runs: Run[];

  before(async () => {
    dir = tempDir('ladder');
    const source = path.join(dir, 'source.ts');
    await testSourceFile(source, SOURCE_SECONDS, { beep: true });
    fs.writeFileSync(path.join(dir, 'ladder.json'), JSON.stringify(LADDER));
    // Window larger than the stream: every segment stays listed, so the test sees all durations.
    h = await startHarness({ window: 100 });
    h.service.uploader.on('master-stored', (m: { key: string; text: string }) => masters.push({ at: h.stored.length, text: m.text }));
    const common = [
      source, String(SEGMENT_SECONDS), path.join(dir, 'out'), 'cam', 'https://cdn.example/live/', 'mybucket', 'live',
      '--config', path.join(dir, 'ladder.json'), '--uploader', `127.0.0.1:${h.service.address.port}`, '--ffmpeg', FFMPEG,
      '--log-json', '--drain-timeout', '20',
    ];
    runs = await Promise.all([runLadder([...common, '--profiles', '360p,180p']), runLadder([...common, '--profiles', '270p'])]);
    await h.service.uploader.onIdle();
  });

  after(async () => {
    await h?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('both ladder processes exit 0 and the ffmpeg command carries a fixed GOP without scene cuts', async () => {
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const printed = await new Promise<string>((resolve) => {
      const c = spawn(process.execPath, [SEGMENTER_BIN, 'ladder', 'in.ts', '2', dir, 'cam', 'http://x/', 'b', 'k', '--config', path.join(dir, 'ladder.json'), '--print-ffmpeg'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.once('exit', () => resolve(out));
    });
    assert.match(printed, /split=3\[v0\]\[v1\]\[v2\]/);
    assert.equal((printed.match(/-g 50 -keyint_min 50 -sc_threshold 0/g) ?? []).length, 3);
    assert.match(printed, /-level:v 2\.1 -f mpegts pipe:4/);
  });

  test('the master lists all three renditions, parsed by m3u8-parser, sorted by bandwidth, no PROGRAM-ID', async () => {
    const { status, body, headers } = await getObject(h.store, 'mybucket', 'live/cam.m3u8');
    assert.equal(status, 200);
    assert.equal(headers.get('content-type'), 'application/vnd.apple.mpegurl');
    assert.match(headers.get('cache-control') ?? '', /max-age=1|no-cache/);
    const text = body.toString();
    assert.equal(text, masters.at(-1)?.text, 'the stored master is the last one uploaded');
    assert.doesNotMatch(text, /PROGRAM-ID/);
    const playlists = parseM3u8(text).playlists ?? [];
    assert.deepEqual(playlists.map((p) => p.uri).sort(), ['cam-180p.m3u8', 'cam-270p.m3u8', 'cam-360p.m3u8']);
    const bandwidths = playlists.map((p) => p.attributes.BANDWIDTH!);
    assert.deepEqual(bandwidths, [...bandwidths].sort((a, b) => a - b));
    for (const p of playlists) {
      const profile = LADDER.profiles.find((x) => p.uri === `cam-${x.name}.m3u8`)!;
      const [w, hgt] = profile.resolution.split('x').map(Number);
      assert.deepEqual(p.attributes.RESOLUTION, { width: w, height: hgt }, p.uri);
      assert.equal(p.attributes['FRAME-RATE'], 25, p.uri);
      assert.ok(Number(p.attributes['AVERAGE-BANDWIDTH']) <= p.attributes.BANDWIDTH!, p.uri);
    }
  });

  test('BANDWIDTH is within 10 % of the stored bytes per second of the peak segment; CODECS match the streams', async () => {
    const master = parseM3u8((await getObject(h.store, 'mybucket', 'live/cam.m3u8')).body.toString());
    const report: string[] = [];
    for (const variant of master.playlists ?? []) {
      const media = parseM3u8((await getObject(h.store, 'mybucket', `live/${variant.uri}`)).body.toString());
      assert.equal(media.endList, true, `${variant.uri} ended`);
      let peak = 0;
      let bytes = 0;
      let seconds = 0;
      let first: Buffer | undefined;
      for (const s of media.segments ?? []) {
        const key = `live/${path.basename(new URL(s.uri).pathname)}`;
        const object = await getObject(h.store, 'mybucket', key);
        assert.equal(object.status, 200, key);
        first ??= object.body;
        bytes += object.body.length;
        seconds += s.duration;
        // Segments of at least half the target (the short last one cannot be a sustained rate).
        if (s.duration >= SEGMENT_SECONDS / 2) peak = Math.max(peak, (object.body.length * 8) / s.duration);
      }
      const bandwidth = variant.attributes.BANDWIDTH!;
      const average = Number(variant.attributes['AVERAGE-BANDWIDTH']);
      report.push(`${variant.uri}: BANDWIDTH ${bandwidth} vs stored peak ${Math.round(peak)} (${((bandwidth / peak - 1) * 100).toFixed(1)} %), AVERAGE ${average} vs ${Math.round((bytes * 8) / seconds)}`);
      assert.ok(Math.abs(bandwidth - peak) <= 0.1 * peak, report.at(-1));
      assert.ok(Math.abs(average - (bytes * 8) / seconds) <= 0.1 * ((bytes * 8) / seconds), report.at(-1));
      assert.equal(variant.attributes.CODECS, `${avc1FromSegment(first!)},${mp4aFromSegment(first!)}`, variant.uri);
    }
    process.stdout.write(report.map((l) => `# ${l}\n`).join(''));
    const low = (master.playlists ?? []).find((p) => p.uri === 'cam-180p.m3u8')!;
    assert.match(low.attributes.CODECS!, /^avc1\.4d..15,mp4a\.40\.2$/, 'level 2.1 (0x15) from the profile\'s extraArgs');
  });

  test('keyframes at the same instants: segment n lasts the same in every rendition', async () => {
    const durations = new Map<string, number[]>();
    for (const p of LADDER.profiles) {
      const media = parseM3u8((await getObject(h.store, 'mybucket', `live/cam-${p.name}.m3u8`)).body.toString());
      durations.set(p.name, (media.segments ?? []).map((s) => s.duration));
    }
    const [reference, ...others] = [...durations.values()];
    assert.ok(reference.length >= Math.floor(SOURCE_SECONDS / SEGMENT_SECONDS), `only ${reference.length} segments`);
    for (const d of reference.slice(0, -1)) assert.ok(Math.abs(d - SEGMENT_SECONDS) < 0.05, `segment of ${d} s, want ${SEGMENT_SECONDS}`);
    for (const o of others) assert.deepEqual(o, reference);
  });

  test('no master ever listed a rendition whose playlist was not stored yet', () => {
    assert.ok(masters.length >= 1);
    for (const m of masters) {
      const before = new Set(h.stored.slice(0, m.at).map((s) => s.replace(/^PUT \/mybucket\//, '')));
      for (const p of parseM3u8(m.text).playlists ?? []) assert.ok(before.has(`live/${p.uri}`), `${p.uri} listed before it was stored`);
    }
    assert.ok(masters.length < 3 * 6, `master uploaded ${masters.length} times: only when it changes meaningfully`);
  });
});
