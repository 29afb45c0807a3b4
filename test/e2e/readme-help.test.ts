/**
 * README's configuration reference is the commands' real `--help`: fails when a flag was added,
 * renamed or re-described without re-running `npx ts-node --transpile-only scripts/readme-help.ts`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../support/paths';

const SCRIPT = path.join(ROOT, 'build/scripts/readme-help.js');

test("README's --help copies match the real commands", () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  for (const marker of ['segmenter', 'segmenter ladder', 'uploader', 'uploader cost']) {
    assert.match(readme, new RegExp(`<!-- ${marker} --help -->\\n\`\`\`text\\n`), `README has the ${marker} --help block`);
  }
  const r = spawnSync(process.execPath, [SCRIPT, '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
