#!/usr/bin/env -S node --max-semi-space-size=1 --v8-pool-size=1
// The flags: see the installed command, bin/segmenter.js at the repository's root.
'use strict';
require('../dist/main.js');
