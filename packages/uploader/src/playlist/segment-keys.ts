/**
 * Encrypted segments listed under another media sequence number than the one they were
 * encrypted for (an archive numbers from 0): a key without an explicit IV means "IV = media
 * sequence number" (RFC 8216 §5.2), so such a segment gets its own EXT-X-KEY with the IV it was
 * encrypted with written out. Segments listed where they were numbered are left as they are.
 */
import type { MediaSegment } from './media-playlist';

interface Numbered extends MediaSegment {
  /** The media sequence number the segment was encrypted for. */
  sequence?: number;
}

/** `segments` listed from media sequence `first`, with the IVs that no longer follow from their place written out. */
export function keyedForSequence<S extends Numbered>(segments: readonly S[], first: number): S[] {
  return segments.map((s, i) => {
    if (s.key === undefined || s.key.iv !== undefined || s.sequence === undefined || s.sequence === first + i) return s;
    return { ...s, key: { ...s.key, iv: sequenceIvAttribute(s.sequence) } };
  });
}

/** `0x` + the 128-bit big-endian media sequence number. */
export function sequenceIvAttribute(sequence: number): string {
  return `0x${BigInt(sequence).toString(16).padStart(32, '0')}`;
}
