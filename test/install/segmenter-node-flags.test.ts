/**
 * The segmenter command starts Node with the flags of its `#!/usr/bin/env -S node …` line (a small
 * young generation, one V8 helper thread: ~6 MB less peak RSS), run as a user runs it — the file
 * itself, as npm's bin link and systemd's `segmenter …` do — from both bins.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, SEGMENTER_BIN } from '../support/paths';
import { tempDir } from '../support/temp-dir';

test('both segmenter bins run Node with --max-semi-space-size=1 --v8-pool-size=1', () => {
  const dir = tempDir('node-flags');
  try {
    const probe = path.join(dir, 'probe.js');
    writeFileSync(probe, "process.on('exit', () => process.stderr.write('execArgv=' + JSON.stringify(process.execArgv) + '\\n'));\n");
    for (const bin of [path.join(ROOT, 'bin', 'segmenter.js'), SEGMENTER_BIN]) {
      const r = spawnSync(bin, ['--version'], {
        encoding: 'utf8',
        // node itself must be found on PATH, as `env` looks it up there.
        env: { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`, NODE_OPTIONS: `--require ${probe}` },
        timeout: 30_000,
      });
      assert.equal(r.status, 0, `${bin}: ${r.stderr}`);
      const line = /^execArgv=(.*)$/m.exec(r.stderr);
      assert.ok(line, `${bin}: the probe ran (${r.stderr})`);
      const flags = JSON.parse(line[1]) as string[];
      assert.ok(flags.includes('--max-semi-space-size=1') && flags.includes('--v8-pool-size=1'), `${bin}: ${line[1]}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
