/** Where things are, from the compiled suite (build/suite/support/) back to the repository. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../../..');
export const SEGMENTER_BIN = path.join(ROOT, 'packages/segmenter/bin/segmenter.js');
export const UPLOADER_BIN = path.join(ROOT, 'packages/uploader/bin/uploader.js');
export const FIXTURES = path.join(ROOT, 'test/fixtures');

/** A capture from test/fixtures (README.md there says what each holds). */
export const fixture = (name: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(FIXTURES, name)));

/**
 * Daemons started by this test process keep their journals and spools (their default state
 * directories, $XDG_STATE_HOME/hlsrelay/…) in a home of this process's own: test files run in
 * parallel, and two of them streaming under one name must not meet at one locked directory.
 * A test that wants a directory of its own still passes --state-dir or --spool-dir.
 */
const STATE_HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'hlsrelay-state-home-'));
process.env.XDG_STATE_HOME = STATE_HOME;
delete process.env.STATE_DIRECTORY;
