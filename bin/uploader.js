#!/usr/bin/env node
'use strict';
// The installed `uploader` command: the uploader package's own entry, compiled JavaScript.
require('@hlsrelay/uploader/bin/uploader.js');
