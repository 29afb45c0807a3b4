#!/usr/bin/env node
'use strict';
// The installed `segmenter` command: the segmenter package's own entry, compiled JavaScript.
require('@hlsrelay/segmenter/bin/segmenter.js');
