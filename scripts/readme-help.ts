/**
 * Keeps README's "Configuration reference" equal to the commands' real `--help`.
 *
 *   npx ts-node --transpile-only scripts/readme-help.ts           rewrite README.md
 *   npx ts-node --transpile-only scripts/readme-help.ts --check   exit 1 if README is stale
 *
 * A marker line `<!-- segmenter --help -->` (or `<!-- uploader cost --help -->`, …) is followed
 * by a fenced block holding that command's output; the block is replaced, or added after the
 * marker the first time. The test suite runs `--check`, so the docs never go stale.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const MARKER = /^<!-- (segmenter|uploader)((?: [a-z-]+)*) --help -->$/;

/** The repository root: the first folder upwards holding README.md and packages/ (works from scripts/ and build/scripts/). */
function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'README.md')) && existsSync(path.join(dir, 'packages'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no README.md with packages/ above ${__dirname}`);
  }
}

function helpOf(root: string, command: string, args: string[]): string {
  const bin = path.join(root, 'packages', command, 'bin', `${command}.js`);
  // Not a terminal, no HLSRELAY_* settings: the same text wherever it runs.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HLSRELAY_') && k !== 'COLUMNS'));
  return execFileSync(process.execPath, [bin, ...args, '--help'], { encoding: 'utf8', env }).replace(/\s+$/, '') + '\n';
}

/** README text with every marker's block set to the command's current help. */
export function renderReadme(readme: string, help: (command: string, args: string[]) => string): string {
  const lines = readme.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    out.push(lines[i]);
    const m = MARKER.exec(lines[i]);
    if (!m) continue;
    // Skip an existing block: optional blank lines, then ``` … ```.
    let j = i + 1;
    while (j < lines.length && lines[j] === '') j++;
    if (lines[j]?.startsWith('```')) {
      let end = j + 1;
      while (end < lines.length && lines[end] !== '```') end++;
      i = end;
    }
    const text = help(m[1], m[2].trim() === '' ? [] : m[2].trim().split(' '));
    out.push('```text', ...text.replace(/\n$/, '').split('\n'), '```');
  }
  return out.join('\n');
}

function main(): number {
  const root = repoRoot();
  const file = path.join(root, 'README.md');
  const before = readFileSync(file, 'utf8');
  const after = renderReadme(before, (command, args) => helpOf(root, command, args));
  if (process.argv.includes('--check')) {
    if (after === before) return 0;
    const a = before.split('\n');
    const b = after.split('\n');
    const at = a.findIndex((line, k) => line !== b[k]);
    process.stderr.write(
      `README.md's --help copy is stale from line ${at + 1}:\n  README: ${a[at]}\n  actual: ${b[at]}\n` +
        'Run: npx ts-node --transpile-only scripts/readme-help.ts\n',
    );
    return 1;
  }
  if (after !== before) writeFileSync(file, after);
  process.stdout.write(after === before ? 'README.md already up to date\n' : 'README.md updated\n');
  return 0;
}

if (require.main === module) process.exitCode = main();
