/** Where things are, from the compiled suite (build/suite/support/) back to the repository. */
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../../..');
export const SEGMENTER_BIN = path.join(ROOT, 'packages/segmenter/bin/segmenter.js');
export const UPLOADER_BIN = path.join(ROOT, 'packages/uploader/bin/uploader.js');
export const FIXTURES = path.join(ROOT, 'test/fixtures');

/** A capture from test/fixtures (README.md there says what each holds). */
export const fixture = (name: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(FIXTURES, name)));
