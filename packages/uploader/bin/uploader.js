#!/usr/bin/env node
'use strict';
// `-V` / `--version` alone is answered here, before the daemon's modules load: the command line
// parser does not offer it under both names.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '-V' || args[0] === '--version')) {
  process.stdout.write(`${require('../package.json').version}\n`);
} else {
  // The AWS SDK prints a multi-line notice about Node versions through process warnings, which
  // would land between the JSON log lines on stderr. An operator's own setting wins.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  require('../dist/main.js');
}
