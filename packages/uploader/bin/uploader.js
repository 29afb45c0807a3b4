#!/usr/bin/env node
'use strict';
// The AWS SDK prints a multi-line notice about Node versions through process warnings, which
// would land between the JSON log lines on stderr (the daemon logs a line of its own instead:
// protocol's runtime-support.ts). An operator's own setting wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
require('../dist/main.js');
