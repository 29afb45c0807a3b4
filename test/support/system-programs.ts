/**
 * Debian programs some tests need beyond the npm packages (.ci/run installs them): without one
 * a test is skipped with a loud message — except under CI=true, where it fails instead.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';

/** Debian's chromium, which playwright-core drives for the hls.js tests. */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_WHY = "install Debian's chromium (apt-get install -y chromium) to run the browser test";
/** Debian's ffmpeg 5.1: the bundled 2018 build cannot read fMP4 HLS over HTTP ("partial file"). */
export const DEBIAN_FFMPEG = '/usr/bin/ffmpeg';
export const DEBIAN_FFMPEG_WHY = "the bundled 2018 ffmpeg cannot read fMP4 HLS over HTTP; install Debian's (apt-get install -y ffmpeg)";

/** True when `program` exists; otherwise fails under CI, or skips the test saying why. */
export function requireProgram(t: { skip(msg: string): void }, program: string, why: string): boolean {
  if (fs.existsSync(program)) return true;
  const msg = `${program} not found: ${why}`;
  if (process.env.CI) assert.fail(msg);
  process.stderr.write(`\n*** SKIPPED: ${msg} ***\n\n`);
  t.skip(msg);
  return false;
}
