/**
 * The Dockerfile, read without a Docker engine: a build stage that compiles, a runtime stage on a
 * supported Node LTS with no development dependencies, Debian's ffmpeg, a non-root user, a health
 * check on the status port the default command opens, and the uploader as a service by default.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../support/paths';


interface Instruction {
  op: string;
  args: string;
}

/** Instructions with their continuation lines joined, comments dropped. */
function instructions(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, ' ').split('\n');
  return joined
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [, op, args] = /^(\S+)\s*(.*)$/.exec(line)!;
      return { op: op.toUpperCase(), args };
    });
}

/** Stages, split at each FROM. */
function stages(list: Instruction[]): Instruction[][] {
  const out: Instruction[][] = [];
  for (const i of list) {
    if (i.op === 'FROM') out.push([]);
    out.at(-1)!.push(i);
  }
  return out;
}

const all = instructions(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
const [build, runtime, ...more] = stages(all);
const find = (stage: Instruction[], op: string) => stage.filter((i) => i.op === op);
const run = (stage: Instruction[]) => find(stage, 'RUN').map((i) => i.args).join(' && ');

test('two stages on a supported Node LTS image', () => {
  assert.equal(more.length, 0);
  for (const stage of [build, runtime]) {
    // Node 20 left maintenance on 2026-04-30; 22 and 24 are LTS lines.
    assert.match(stage[0].args, /^node:(22|24)(\.\d+)*-(bookworm|trixie)-slim\b/, stage[0].args);
  }
  assert.match(build[0].args, / AS build$/i);
  assert.match(run(build), /npm ci\b/);
  assert.match(run(build), /tsc -b/, 'the build stage compiles');
  assert.match(run(build), /npm pack\b/, 'and packs the installable tarball');
});

test('the runtime stage has no development dependencies and no sources', () => {
  const copies = find(runtime, 'COPY').map((i) => i.args);
  assert.ok(copies.length > 0 && copies.every((c) => c.startsWith('--from=build ') && /\.tgz\b/.test(c)), `only the tarball comes over: ${copies.join('; ')}`);
  assert.match(run(runtime), /npm install -g --omit=dev\b[^&]*\.tgz/);
  assert.doesNotMatch(run(runtime), /npm ci\b|tsc\b|ts-node/);
  assert.match(run(runtime), /apt-get install -y --no-install-recommends ffmpeg\b/, "Debian's ffmpeg (SRT, newer codecs)");
});

test('non-root, a state volume, a health check on the status port the default command opens', () => {
  const users = find(runtime, 'USER');
  assert.equal(users.length > 0, true);
  assert.doesNotMatch(users.at(-1)!.args, /^(root|0)(:|$)/);
  const cmd = JSON.parse(find(runtime, 'CMD').at(-1)!.args) as string[];
  assert.equal(cmd[0], 'uploader', 'the uploader is the default service');
  assert.equal(cmd.includes('--help'), false);
  const flag = (name: string) => cmd[cmd.indexOf(name) + 1];
  const stateDir = flag('--state-dir');
  assert.ok(stateDir, 'the uploader keeps its state');
  assert.deepEqual(find(runtime, 'VOLUME').map((i) => i.args), [stateDir], '--state-dir is the volume');
  assert.match(run(runtime), new RegExp(`install -d -o node -g node [^&]*${stateDir}\\b`), 'owned by the user the uploader runs as');
  const status = flag('--status-listen');
  const port = status.slice(status.lastIndexOf(':') + 1);
  const health = find(runtime, 'HEALTHCHECK').at(-1)!.args;
  assert.match(health, new RegExp(`http://127\\.0\\.0\\.1:${port}/healthz`));
  assert.match(find(runtime, 'EXPOSE').at(-1)!.args, new RegExp(`\\b${port}\\b`));
  assert.match(find(runtime, 'EXPOSE').at(-1)!.args, new RegExp(`\\b${flag('--listen').split(':')[1]}\\b`));
});
