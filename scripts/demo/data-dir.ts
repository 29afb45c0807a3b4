/**
 * The demo's data directory (`--data-dir`): wiped at every start, so it must be the demo's own.
 * The demo leaves a marker file in each directory it creates; a directory that exists, is not
 * empty and has no marker belongs to someone else and is refused, never deleted.
 */
import fs from 'node:fs';
import path from 'node:path';

export const MARKER = '.hlsrelay-demo';

/** Makes `dir` an empty demo data directory (with its marker), or throws saying why not. */
export function prepareDataDir(dir: string): void {
  let entries: string[] | undefined;
  try {
    entries = fs.readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new Error(`--data-dir ${dir} is a file, not a directory`);
    if (code !== 'ENOENT') throw new Error(`--data-dir ${dir}: cannot read it (${code})`);
  }
  if (entries !== undefined && entries.length > 0 && !entries.includes(MARKER)) {
    throw new Error(`--data-dir ${dir} is not empty and was not made by the demo (no ${MARKER} in it): the demo wipes its data directory at start, so give it a new or empty one`);
  }
  if (entries !== undefined) {
    // Ours: everything in it is the last run's segments, store and logs.
    for (const name of entries) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  }
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, MARKER), 'Made by `npm run demo`; the demo wipes this directory at its next start.\n');
}
