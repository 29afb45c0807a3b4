// What @hlsrelay/segmenter offers scripts/ and test/ (the bin runs main.ts), by folder.

// core/: MPEG-TS in, keyframe-aligned segments out (pure, no I/O)
export * from './core/cut-rule';
export * from './core/stream-facts';
export * from './core/ts-segmenter';
// live/: one rendition's run — input chunks, segment files, the index message per segment
export * from './live/file-source';
export * from './live/fmp4-pipeline';
export * from './live/live-segmenter';
export * from './live/segment-writer';
export * from './live/status-line';
export * from './live/input-check';
// delivery/: index messages to the uploader
export * from './delivery/notifier';
export * from './delivery/payload-sender';
export * from './delivery/spool';
export * from './delivery/uploader-access';
export * from './delivery/uploader-connection';
export * from './delivery/uploader-session';
export * from './delivery/uploader-link';
export * from './delivery/delivery-trouble';
export * from './delivery/delivery-report';
// ladder/: one ffmpeg, a rendition per profile
export * from './ladder/ffmpeg-path';
export * from './ladder/ladder';
export * from './ladder/ladder-cli';
export * from './ladder/ladder-profile';
export * from './ladder/transcode-args';
export * from './ladder/transcode-process';
// the command line and the daemon's logger
export * from './cli';
export * from './lazy-logger';
