/**
 * m3u8-parser (the independent parser video.js uses) ships no types: the parts the tests read.
 */
export interface ParsedManifest {
  playlists?: Array<{ uri: string; attributes: { BANDWIDTH?: number; 'AVERAGE-BANDWIDTH'?: string; CODECS?: string; RESOLUTION?: { width: number; height: number }; 'FRAME-RATE'?: number; 'PROGRAM-ID'?: number } }>;
  segments?: Array<{ uri: string; duration: number; discontinuity?: boolean }>;
  mediaSequence?: number;
  discontinuitySequence?: number;
  endList?: boolean;
}

export function parseM3u8(text: string): ParsedManifest {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Parser } = require('m3u8-parser') as { Parser: new () => { push(text: string): void; end(): void; manifest: ParsedManifest } };
  const parser = new Parser();
  parser.push(text);
  parser.end();
  return parser.manifest;
}
