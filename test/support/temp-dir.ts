/** A fresh folder under the OS temp dir, named after the test that uses it. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function tempDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `hlsrelay-${name}-`));
}
