#!/usr/bin/env node
'use strict';
// `-V` / `--version` alone is answered here, before the daemon's modules load: the command line
// parser does not offer it under both names.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '-V' || args[0] === '--version')) {
  process.stdout.write(`${require('../package.json').version}\n`);
} else {
  require('../dist/main.js');
}
