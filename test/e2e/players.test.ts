/**
 * Real players against the live demo: ffmpeg as an HLS client, and hls.js in headless
 * Chromium. The demo runs as a user runs it and is stopped with Ctrl-C at the end — once with
 * MPEG-TS segments and once with fMP4 (`--format fmp4`: init + .m4s, EXT-X-MAP), each clear and
 * AES-128 encrypted (`--encrypt`; fMP4: the init is encrypted too, under an EXT-X-KEY with an IV).
 *
 * ffmpeg as the client of the fMP4 stream is Debian's 5.1 (/usr/bin/ffmpeg, installed by .ci/run):
 * the bundled 2018 build cannot read fMP4 HLS over HTTP (it fails on the init with "partial file").
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ROOT } from '../support/paths';
import { startDemo, waitForBody, type RunningDemo } from './demo-process';
import { FFMPEG as ffmpegPath } from '../support/ffmpeg';
import { CHROMIUM, CHROMIUM_WHY, DEBIAN_FFMPEG, DEBIAN_FFMPEG_WHY, requireProgram } from '../support/system-programs';

/** How long after a forced switch (buffer flushed) a stall counts as the refetch's, not the stream's. */
const SWITCH_REFETCH_SECONDS = 4;
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const FPS = 25;

const VARIANTS = [
  { format: 'ts', encrypt: false },
  { format: 'fmp4', encrypt: false },
  // AES-128 (issue #17): hls.js and ffmpeg fetch each key by its URI and decrypt every segment.
  { format: 'ts', encrypt: true },
  // fMP4: the EXT-X-KEY (explicit IV) precedes EXT-X-MAP, so the player decrypts the init too.
  { format: 'fmp4', encrypt: true },
] as const;

/** What `recordFragments` keeps of a fragment event: its name, the fragment's `sn` (a number, or "initSegment") and its key method. */
type FragmentEvent = { event: 'loaded' | 'decrypted'; sn: number | string; method: string | null };

/**
 * Runs in the page before its scripts: wraps hls.js's `trigger` as the library is defined, so
 * every FRAG_LOADED and FRAG_DECRYPTED it fires is kept in `window.hlsFragments`. (hls.js 1.7
 * fires FRAG_DECRYPTED for an init it decrypted itself; media segments are decrypted in the
 * transmuxer without the event, so for them the key method of the loaded fragment is what shows.)
 */
function recordFragments(): void {
  type Fragment = { sn: number | string; decryptdata?: { method?: string } | null };
  type HlsClass = { Events: Record<'FRAG_LOADED' | 'FRAG_DECRYPTED', string>; prototype: { trigger(this: unknown, e: string, d?: { frag?: Fragment }): unknown } };
  const w = window as unknown as { hlsFragments: FragmentEvent[] };
  w.hlsFragments = [];
  let defined: HlsClass | undefined;
  Object.defineProperty(window, 'Hls', {
    configurable: true,
    get: () => defined,
    set: (Hls: HlsClass) => {
      const trigger = Hls.prototype.trigger;
      const names = new Map([[Hls.Events.FRAG_LOADED, 'loaded'], [Hls.Events.FRAG_DECRYPTED, 'decrypted']] as const);
      Hls.prototype.trigger = function (e, d) {
        const event = names.get(e);
        if (event && d?.frag) w.hlsFragments.push({ event, sn: d.frag.sn, method: d.frag.decryptdata?.method ?? null });
        return trigger.call(this, e, d);
      };
      defined = Hls;
    },
  });
}

for (const { format, encrypt } of VARIANTS) describe(`live demo with real players (--format ${format}${encrypt ? ' --encrypt' : ''})`, { timeout: 240_000 }, () => {
  let demo: RunningDemo;
  const segmentExtension = format === 'fmp4' ? '.m4s' : '.ts';
  const artifact = `${format}${encrypt ? '-encrypted' : ''}`;

  before(async () => {
    demo = await startDemo(['--renditions', '640x360@700k,320x180@250k', '--fps', String(FPS), '--segment-seconds', '2', '--duration', '200', '--format', format, ...(encrypt ? ['--encrypt'] : [])]);
    // Players start three target durations from the live edge: wait for a playlist that long.
    await Promise.all(demo.playlistUrls.map((u) => waitForBody(u, (b) => (b.match(/#EXTINF/g) ?? []).length >= 3, 60_000)));
  });

  after(async () => {
    if (demo && demo.process.exitCode === null) await demo.interrupt();
  });

  test('prints the player page and one playlist per rendition, all on 127.0.0.1', () => {
    assert.match(demo.pageUrl, /^http:\/\/127\.0\.0\.1:\d+\/hlsrelay\/stream0001\/index\.html$/);
    assert.equal(demo.playlistUrls.length, 2);
    for (const u of demo.playlistUrls) assert.match(u, /^http:\/\/127\.0\.0\.1:\d+\/.+\.m3u8$/);
    assert.match(demo.masterUrl, /^http:\/\/127\.0\.0\.1:\d+\/hlsrelay\/stream0001\/stream\.m3u8$/);
  });

  test('the master playlist lists both renditions with measured BANDWIDTH, CODECS and RESOLUTION', async () => {
    const text = await waitForBody(demo.masterUrl, (b) => (b.match(/#EXT-X-STREAM-INF/g) ?? []).length === 2, 60_000);
    const uris = text.split('\n').filter((l) => l.endsWith('.m3u8'));
    assert.deepEqual(uris, ['stream-180p.m3u8', 'stream-360p.m3u8'], 'lowest bandwidth first, relative to the master');
    for (const line of text.split('\n').filter((l) => l.startsWith('#EXT-X-STREAM-INF:'))) {
      assert.match(line, /BANDWIDTH=\d+,AVERAGE-BANDWIDTH=\d+,CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2",RESOLUTION=\d+x\d+,FRAME-RATE=25\.000/);
    }
  });

  test('ffmpeg as an HLS client decodes ≥ 10 s of the live stream without a single error', async (t) => {
    const url = demo.playlistUrls[0];
    // fMP4 keys carry the explicit IV the encrypted init needs (RFC 8216 §5.2); MPEG-TS ones use the media sequence.
    const keyTag = format === 'fmp4' ? /#EXT-X-KEY:METHOD=AES-128,URI="[^"]+\.key",IV=0x[0-9a-f]{32}\n#EXT-X-MAP:/ : /#EXT-X-KEY:METHOD=AES-128,URI="[^"]+\.key"\n/;
    if (encrypt) assert.match(await waitForBody(url, () => true, 10_000), keyTag, 'the stream is encrypted');
    if (format === 'fmp4') {
      if (!requireProgram(t, DEBIAN_FFMPEG, DEBIAN_FFMPEG_WHY)) return;
      const playlist = await waitForBody(url, (b) => b.includes('#EXT-X-MAP'), 10_000);
      assert.match(playlist, /^#EXTM3U\n#EXT-X-VERSION:6\n/);
      assert.match(playlist, /#EXT-X-MAP:URI="[^"]+-init\.mp4"\n(#EXT-X-PROGRAM-DATE-TIME:.*\n)?#EXTINF:[\d.]+,\n[^\n]+\.m4s\n/);
    }
    const ff = spawn(format === 'fmp4' ? DEBIAN_FFMPEG : ffmpegPath, ['-hide_banner', '-nostats', '-v', 'error', '-i', url, '-t', '12', '-map', '0:v', '-map', '0:a', '-f', 'null', '-', '-progress', 'pipe:1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let progress = '';
    let errors = '';
    ff.stdout.on('data', (c: Buffer) => (progress += c.toString()));
    ff.stderr.on('data', (c: Buffer) => (errors += c.toString()));
    const code = await new Promise<number | null>((resolve) => ff.once('exit', resolve));
    assert.equal(errors.trim(), '', `ffmpeg reported errors while playing ${url}`);
    assert.equal(code, 0);
    const frames = Math.max(...[...progress.matchAll(/^frame=(\d+)/gm)].map((m) => Number(m[1])));
    const seconds = Math.max(...[...progress.matchAll(/^out_time_ms=(\d+)/gm)].map((m) => Number(m[1]) / 1e6));
    assert.ok(seconds >= 10, `decoded ${seconds} s, want ≥ 10`);
    assert.ok(frames >= 10 * FPS, `decoded ${frames} frames, want ≥ ${10 * FPS}`);
  });

  test('hls.js in headless Chromium plays, advances ≥ 5 s and follows the live edge', async (t) => {
    if (!requireProgram(t, CHROMIUM, CHROMIUM_WHY)) return;
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required',
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 760 } });
      const consoleErrors: string[] = [];
      page.on('pageerror', (e) => consoleErrors.push(e.message));
      if (encrypt) await page.addInitScript(recordFragments);
      await page.goto(demo.pageUrl);
      type PlayerState = { engine: string; errors: unknown[]; fatal: string | null; playlistLoads: number; lastMediaSequence?: number };
      const read = () =>
        page.evaluate(() => {
          const s = (window as unknown as { hlsrelayPlayer: PlayerState }).hlsrelayPlayer;
          const v = document.querySelector('video')!;
          return { ...s, hls: undefined, currentTime: v.currentTime, paused: v.paused };
        });
      await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 0.5, undefined, { timeout: 30_000 });
      const start = await read();
      assert.match(start.engine, /^hls\.js/);
      // Watch for 8 s of wall time: playback must advance ≥ 5 s while new playlists arrive.
      await new Promise((r) => setTimeout(r, 8000));
      const end = await read();
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, `demo-player-${artifact}.png`) });
      assert.equal(end.fatal, null, `hls.js fatal error: ${JSON.stringify(end.errors)}`);
      assert.deepEqual(consoleErrors, []);
      assert.ok(end.currentTime - start.currentTime >= 5, `played ${end.currentTime - start.currentTime} s in 8 s`);
      assert.ok(end.playlistLoads > start.playlistLoads + 1, 'hls.js kept reloading the live playlist');
      assert.ok((end.lastMediaSequence ?? 0) > (start.lastMediaSequence ?? 0), 'the window moved on and the player followed it');
      if (encrypt) {
        const seen = await page.evaluate(() => (window as unknown as { hlsFragments: FragmentEvent[] }).hlsFragments);
        const segments = seen.filter((f) => f.event === 'loaded' && typeof f.sn === 'number');
        assert.ok(segments.length >= 3, `hls.js loaded ${segments.length} segments`);
        assert.deepEqual(segments.filter((f) => f.method !== 'AES-128'), [], 'every segment hls.js loaded was under an AES-128 key');
        // hls.js decrypts an init under an EXT-X-KEY itself (base-stream-controller _loadInitSegment) before the media source gets it.
        if (format === 'fmp4') assert.ok(seen.some((f) => f.event === 'decrypted' && f.sn === 'initSegment' && f.method === 'AES-128'), `hls.js decrypted an init: ${JSON.stringify(seen)}`);
      }
    } finally {
      await browser.close();
    }
  });

  test('hls.js plays the master playlist and switches renditions on demand without stalling', async (t) => {
    if (!requireProgram(t, CHROMIUM, CHROMIUM_WHY)) return;
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--autoplay-policy=no-user-gesture-required'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
      const consoleErrors: string[] = [];
      page.on('pageerror', (e) => consoleErrors.push(e.message));
      // The page's first choice is "auto": the master playlist.
      await page.goto(demo.pageUrl);
      type Level = { name: string; bitrate: number; width: number; height: number; codecs: string };
      type PlayerState = { url: string; errors: unknown[]; fatal: string | null; level: number | null; levels: Level[]; levelSwitches: Array<{ level: number }> };
      const read = () =>
        page.evaluate(() => {
          const s = (window as unknown as { hlsrelayPlayer: PlayerState }).hlsrelayPlayer;
          const v = document.querySelector('video')!;
          return { url: s.url, errors: s.errors, fatal: s.fatal, level: s.level, levels: s.levels, switches: s.levelSwitches.length, currentTime: v.currentTime, height: v.videoHeight };
        });
      await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 0.5, undefined, { timeout: 30_000 });
      const start = await read();
      assert.equal(start.url, demo.masterUrl);
      assert.equal(start.levels.length, 2, `hls.js found ${start.levels.length} levels in the master`);
      assert.deepEqual(start.levels.map((l) => l.height).sort((a, b) => a - b), [180, 360]);
      // The page names renditions as the demo names its playlists, not by hls.js's 0-based level.
      assert.deepEqual(start.levels.map((l) => l.name).sort(), ['180p', '360p']);
      await page.waitForFunction(() => /rendition (180p|360p) of (180p\/360p|360p\/180p)/.test(document.getElementById('status')?.textContent ?? ''), undefined, { timeout: 10_000 });
      // Force each level in turn (currentLevel switches now, flushing what is buffered), and
      // check the picture changes size and playback goes on. The flush makes the player fetch
      // again at once: on a loaded machine that refetch may stall for a moment right after the
      // switch (hls.js then waits or nudges, non-fatal). Any stall away from a switch fails.
      const switchedAt: number[] = [];
      let previous = start;
      for (const target of [start.level === 0 ? 1 : 0, start.level === 0 ? 0 : 1]) {
        await page.evaluate((n) => {
          (window as unknown as { hlsrelayPlayer: { hls: { currentLevel: number } } }).hlsrelayPlayer.hls.currentLevel = n;
        }, target);
        switchedAt.push((await read()).currentTime);
        await page.waitForFunction((n) => (window as unknown as { hlsrelayPlayer: PlayerState }).hlsrelayPlayer.level === n, target, { timeout: 30_000 });
        const height = start.levels[target].height;
        await page.waitForFunction((h) => document.querySelector('video')?.videoHeight === h, height, { timeout: 30_000 });
        const switched = await read();
        await page.waitForFunction((t0) => (document.querySelector('video')?.currentTime ?? 0) > t0 + 3, switched.currentTime, { timeout: 20_000 });
        const now = await read();
        assert.equal(now.fatal, null, `hls.js fatal error: ${JSON.stringify(now.errors)}`);
        assert.equal(now.level, target);
        assert.ok(now.currentTime > previous.currentTime, 'playback went on across the switch');
        previous = now;
      }
      // RFC 8216 §6.2.4 as hls.js reads it: a segment has the same program date-time in both variants.
      const dated = await page.evaluate(() => {
        type Details = { fragments: Array<{ sn: number; programDateTime: number | null }> };
        const hls = (window as unknown as { hlsrelayPlayer: { hls: { levels: Array<{ details?: Details }> } } }).hlsrelayPlayer.hls;
        return hls.levels.map((l) => (l.details?.fragments ?? []).map((f) => [f.sn, f.programDateTime] as const));
      });
      const [first, second] = dated.map((fragments) => new Map(fragments));
      const shared = [...first.keys()].filter((sn) => second.has(sn));
      assert.ok(shared.length >= 2, `segments both variants list in hls.js: ${shared.length}`);
      for (const sn of shared) {
        assert.ok(first.get(sn) !== null, `segment ${sn} has a program date-time`);
        assert.equal(first.get(sn), second.get(sn), `segment ${sn}: the same program date-time in both variants`);
      }
      const end = await read();
      assert.ok(end.switches >= 2, `hls.js reported ${end.switches} level switches`);
      const stalls = (end.errors as Array<{ details: string; at: number }>).filter((e) => /stall/i.test(e.details));
      const awayFromSwitch = stalls.filter((e) => !switchedAt.some((t) => e.at >= t - 0.5 && e.at <= t + SWITCH_REFETCH_SECONDS));
      assert.deepEqual(awayFromSwitch, [], `hls.js stalled away from a switch (switches at ${switchedAt.join(', ')} s)`);
      assert.deepEqual(consoleErrors, []);
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, `demo-player-master-${artifact}.png`) });
    } finally {
      await browser.close();
    }
  });

  test('Ctrl-C stops everything: playlists end, nothing left listening or running', async () => {
    const port = Number(new URL(demo.pageUrl).port);
    const code = await demo.interrupt();
    assert.equal(code, 0, demo.output());
    const stillListening = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    assert.equal(stillListening, false, 'the embedded store still listens after Ctrl-C');
    const leftovers = fs.readdirSync('/proc').filter((pid) => {
      try {
        return /^\d+$/.test(pid) && fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`HLSRELAY_DEMO_RUN=${demo.dataDir}`);
      } catch {
        return false; // gone, or not ours to read
      }
    });
    assert.deepEqual(leftovers, [], 'child processes of the demo left running');
    // Each segmenter finished its last segment and said end=1, so the stored playlists are closed
    // and every segment they list was stored.
    const stored = path.join(demo.dataDir, 'store/hlsrelay/stream0001');
    for (const url of demo.playlistUrls) {
      const text = fs.readFileSync(path.join(stored, `${path.basename(url)}._S3rver_object`), 'utf8');
      assert.match(text, /#EXT-X-ENDLIST\n$/, `${url} ends with EXT-X-ENDLIST`);
      const uris = text.split('\n').filter((l) => l.endsWith(segmentExtension));
      assert.ok(uris.length > 0, `${url} lists ${segmentExtension} segments`);
      // fMP4: every init the playlist maps is stored too.
      const inits = [...text.matchAll(/#EXT-X-MAP:URI="([^"]+)"/g)].map((m) => m[1]);
      assert.equal(inits.length > 0, format === 'fmp4', 'EXT-X-MAP exactly when the segments are fMP4');
      for (const uri of [...inits, ...uris]) {
        assert.ok(fs.existsSync(path.join(stored, `${path.basename(uri)}._S3rver_object`)), `${uri} is stored`);
      }
    }
    const master = fs.readFileSync(path.join(stored, 'stream.m3u8._S3rver_object'), 'utf8');
    for (const url of demo.playlistUrls) assert.ok(master.includes(`\n${path.basename(url)}\n`), `the stored master lists ${path.basename(url)}`);
    assert.doesNotMatch(demo.output(), /never delivered|error/i);
    assert.match(demo.output(), /stopped, nothing left running/);
  });
});
