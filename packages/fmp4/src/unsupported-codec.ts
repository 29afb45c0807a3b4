/** The error for a stream fMP4 output cannot carry, worded for the operator who chose the format. */
import type { MediaKind } from '@hlsrelay/mpegts';

export const FMP4_CODECS: readonly MediaKind[] = ['h264', 'h265', 'aac'];

const NAMES: Partial<Record<MediaKind, string>> = { mp3: 'MP3 (MPEG audio)', other: 'an unknown stream type' };

export class UnsupportedCodecError extends Error {
  readonly codec: MediaKind;

  constructor(codec: MediaKind, detail = '') {
    super(
      `fMP4 segments carry H.264, H.265 and AAC only; this input's ${NAMES[codec] ?? codec} stream${detail ? ` (${detail})` : ''} ` +
        'can be segmented as MPEG-TS (--format ts), or re-encoded to AAC first',
    );
    this.name = 'UnsupportedCodecError';
    this.codec = codec;
  }
}

/** Throws UnsupportedCodecError for the first stream fMP4 cannot carry. */
export function assertFmp4Codecs(kinds: readonly MediaKind[]): void {
  for (const k of kinds) if (!FMP4_CODECS.includes(k)) throw new UnsupportedCodecError(k);
}
