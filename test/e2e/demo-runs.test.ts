/**
 * The demo as a user runs it, beyond the players: it refuses a --data-dir that is not its own
 * (and leaves it as it was), and a file input that ends leaves the page and the store up, the
 * playlists ended, until Ctrl-C.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES, ROOT } from '../support/paths';
import { tempDir } from '../support/temp-dir';
import { until } from '../support/until';
import { startDemo, waitForBody } from './demo-process';

test('--data-dir: a non-empty directory the demo did not make is refused and left alone', () => {
  const dir = tempDir('demo-foreign');
  fs.writeFileSync(path.join(dir, 'thesis.tex'), 'years of work');
  const r = spawnSync(path.join(ROOT, 'node_modules/.bin/ts-node'), ['--transpile-only', 'scripts/demo.ts', '--port', '0', '--data-dir', dir], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /--data-dir .* is not empty and was not made by the demo \(no \.hlsrelay-demo in it\)/);
  assert.deepEqual(fs.readdirSync(dir), ['thesis.tex']);
  assert.equal(fs.readFileSync(path.join(dir, 'thesis.tex'), 'utf8'), 'years of work');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('--input FILE: when the file ends the playlists end, and page and store stay up until Ctrl-C', { timeout: 180_000 }, async () => {
  const demo = await startDemo(['--input', path.join(FIXTURES, 'h264-aac.m2ts'), '--renditions', '320x180@250k', '--segment-seconds', '1']);
  try {
    await until(async () => /the input ended; the player page and the store stay up until Ctrl-C/.test(demo.output()), 120_000, 'the demo to say the input ended');
    await waitForBody(demo.playlistUrls[0], (b) => b.includes('#EXT-X-ENDLIST'), 60_000);
    // Still serving after the end: the page, and the recording's playlist.
    const page = await fetch(demo.pageUrl);
    assert.equal(page.status, 200);
    assert.equal(demo.process.exitCode, null, 'the demo is still running');
    assert.equal(fs.existsSync(path.join(demo.dataDir, '.hlsrelay-demo')), true, 'the data directory carries the marker');
    assert.equal(await demo.interrupt(), 0, demo.output());
    assert.match(demo.output(), /stopped, nothing left running/);
    assert.doesNotMatch(demo.output(), /exited \(\d+\)/);
  } finally {
    if (demo.process.exitCode === null) await demo.interrupt();
  }
});
