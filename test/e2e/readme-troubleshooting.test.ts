/**
 * README's Troubleshooting table quotes log lines the programs really print: every quote in a
 * symptom after "logs" (the uploader logs `…`) is found in the sources of the packages or the
 * demo. The test reads the table, so a row added later is checked too. `…` or `<NAME>` inside a
 * quote stands for a value the line carries; the pieces around it must all be in one file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../support/paths';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => path.join(e.parentPath, e.name));
}

function troubleshootingQuotes(readme: string): Array<{ row: string; quote: string }> {
  const section = readme.split(/^## Troubleshooting$/m)[1]?.split(/^## /m)[0];
  assert.ok(section, 'README has a Troubleshooting section');
  const rows = section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| ---') && !l.startsWith('| symptom'));
  assert.ok(rows.length >= 5, `the table has rows, got ${rows.length}`);
  return rows.flatMap((row) => [...row.split(' | ')[0].matchAll(/\blogs `([^`]+)`/g)].map((m) => ({ row, quote: m[1] })));
}

test("every log line README's Troubleshooting table quotes is printed by the sources", () => {
  const quotes = troubleshootingQuotes(readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
  assert.ok(quotes.length >= 3, 'the table quotes log lines');
  const files = [...sources(path.join(ROOT, 'packages')).filter((f) => f.includes(`${path.sep}src${path.sep}`)), ...sources(path.join(ROOT, 'scripts'))].map((f) => readFileSync(f, 'utf8'));
  for (const { row, quote } of quotes) {
    const pieces = quote.split(/…|<[A-Za-z ]+>/).map((p) => p.trim()).filter((p) => p !== '');
    assert.ok(
      files.some((text) => pieces.every((p) => text.includes(p))),
      `README Troubleshooting quotes a line no source prints: "${quote}" (row: ${row.slice(0, 80)}…)`,
    );
  }
});
