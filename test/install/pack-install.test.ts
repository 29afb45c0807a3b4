/**
 * README's Install section, done as a user with Node and npm only would: `npm pack` of the
 * repository, `npm install -g` of the tarball into a fresh prefix without the network (every
 * runtime dependency is bundled), then the two commands from a directory outside the clone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../support/paths';

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** npm's own variables from an enclosing `npm test` (prefix, global, …) must not steer these runs. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && !k.startsWith('HLSRELAY_')));
}

test('npm pack gives a tarball that installs offline with npm install -g; both commands run from anywhere', () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'hlsrelay-install-'));
  try {
    const env = cleanEnv();
    // The suite has just built dist/ (tsc -b); prepare would only build it again.
    const packed = execFileSync(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 64 << 20 });
    const [info] = JSON.parse(packed) as Array<{ filename: string; files: Array<{ path: string }>; bundled: string[] }>;
    const files = info.files.map((f) => f.path);
    assert.ok(files.includes('bin/uploader.js') && files.includes('bin/segmenter.js'));
    assert.ok(files.includes('node_modules/@hlsrelay/uploader/dist/main.js'), 'the compiled uploader is bundled');
    assert.ok(files.includes('node_modules/@hlsrelay/segmenter/dist/main.js'), 'the compiled segmenter is bundled');
    assert.deepEqual(files.filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts') && f.startsWith('node_modules/@hlsrelay/')), [], 'no TypeScript sources');
    for (const dev of ['typescript', 'ts-node', 'playwright-core', '@ffmpeg-installer/ffmpeg', 's3rver', '@hlsrelay/embedded-store']) {
      assert.equal(info.bundled.includes(dev), false, `${dev} is a development dependency, not bundled`);
    }

    const prefix = path.join(work, 'prefix');
    const install = spawnSync(NPM, ['install', '-g', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, path.join(work, info.filename)], { cwd: work, env, encoding: 'utf8' });
    assert.equal(install.status, 0, install.stderr);

    const binDir = process.platform === 'win32' ? prefix : path.join(prefix, 'bin');
    const home = path.join(work, 'elsewhere');
    execFileSync('mkdir', ['-p', home]);
    const run = (cmd: string, args: string[]) => {
      // Only the prefix's bin and node itself on PATH: nothing of the clone is reachable.
      const r = spawnSync(path.join(binDir, cmd), args, { cwd: home, encoding: 'utf8', env: { ...env, PATH: `${binDir}${path.delimiter}${path.dirname(process.execPath)}` } });
      return { status: r.status, out: r.stdout, err: r.stderr };
    };
    const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    for (const cmd of ['uploader', 'segmenter']) {
      for (const flag of ['--version', '-V']) {
        const r = run(cmd, [flag]);
        assert.equal(r.status, 0, r.err);
        assert.equal(r.out, `${version}\n`, `${cmd} ${flag}`);
      }
    }
    // The compiled code runs, with its runtime dependencies (yargs, the AWS SDK) from the install.
    const cost = run('uploader', ['cost']);
    assert.equal(cost.status, 0, cost.err);
    assert.match(cost.out, /Total\s+\$0\.189221/);
    const config = run('uploader', ['--print-config', '--window', '4']);
    assert.equal(config.status, 0, config.err);
    assert.equal((JSON.parse(config.out) as { window: number }).window, 4);
    const segmenterHelp = run('segmenter', ['--help']);
    assert.equal(segmenterHelp.status, 0, segmenterHelp.err);
    assert.match(segmenterHelp.out, /segmenter <input\|->/);

    const installed = path.join(prefix, 'lib', 'node_modules', 'hlsrelay');
    assert.ok(existsSync(path.join(installed, 'deploy', 'systemd', 'hlsrelay-uploader.service')), 'the systemd units come with the package');
    assert.ok(existsSync(path.join(installed, 'examples', 'uploader.yaml')), 'the example config files come with the package');
    const modules = readdirSync(path.join(installed, 'node_modules'));
    for (const dev of ['typescript', 'ts-node', 'playwright-core', 's3rver']) assert.equal(modules.includes(dev), false, `${dev} is not installed`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
