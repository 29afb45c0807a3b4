/**
 * `uploader cost`: the real command reproduces the 2009 worked example line by line, takes
 * prices as options, and refuses bad input naming the option.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { UPLOADER_BIN } from '../../support/paths';

const run = (...args: string[]) => spawnSync(process.execPath, [UPLOADER_BIN, 'cost', ...args], { encoding: 'utf8' });

const EXAMPLE = ['--bitrates', '128,256,364', '--shares', '25,50,25', '--minutes', '5', '--clients', '100', '--segment-seconds', '10'];

test('the worked example: every line of the breakdown and a total of about $0.19', () => {
  const r = run(...EXAMPLE);
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout;
  assert.match(out, /100 clients, 5 min, 10 s segments → 30 segments per rendition/);
  assert.match(out, /128 kbit\/s: 4\.80 MB, watched by 25 % of clients/);
  assert.match(out, /364 kbit\/s: 13\.65 MB, watched by 25 % of clients/);
  const dollars = Object.fromEntries([...out.matchAll(/^(\S.*?)\s+\$(\d+\.\d{6})/gm)].map((m) => [m[1], Number(m[2])]));
  assert.deepEqual(dollars, {
    'S3 PUT requests': 0.0018,
    'S3 transfer in': 0.002805,
    'S3 storage (1 month)': 0.004207,
    'S3 transfer out to the CDN': 0.014305,
    'S3 GET requests': 0.00309,
    'CDN transfer out to players': 0.160013,
    'CDN requests': 0.003,
    Total: 0.189221,
  });
  // The defaults are the example: the bare command prints the same.
  assert.equal(run().stdout, out);
});

test('prices are options: a cheaper CDN changes its line and the total, nothing else', () => {
  const base = run(...EXAMPLE).stdout;
  const cheap = run(...EXAMPLE, '--price-cdn-out-per-gb', '0.085').stdout;
  assert.match(cheap, /CDN transfer out to players\s+\$0\.080006\s+941\.25 MB × \$0\.085\/GB/);
  assert.match(cheap, /Total\s+\$0\.109214/);
  const line = (text: string, item: string) => text.split('\n').find((l) => l.startsWith(item));
  assert.equal(line(cheap, 'S3 PUT requests'), line(base, 'S3 PUT requests'));
});

test('bad input is refused with the option, what was expected and what came', () => {
  const list = run('--bitrates', '128,fast');
  assert.notEqual(list.status, 0);
  assert.match(list.stderr, /--bitrates must be comma-separated numbers, got "128,fast"/);
  const shares = run('--shares', '50,40,5');
  assert.match(shares.stderr, /shares must add up to 100, got 95/);
  const price = run('--price-put-per-1000', '-1');
  assert.match(price.stderr, /--price-put-per-1000 must be a price ≥ 0, got -1/);
  const unknown = run('--viewers', '5');
  assert.equal(unknown.status, 2);
  assert.equal(unknown.stderr, 'uploader cost: unknown option --viewers\nRun "uploader cost --help" for usage.\n');
});
