/**
 * NAL units in Annex B byte streams (ITU-T H.264 Annex B, H.265 Annex B): start codes and
 * emulation prevention, shared by both video codecs.
 */

export interface NalUnit {
  /** Offset of the NAL header (first byte after the start code). */
  start: number;
  /** Offset just past the unit (the next start code or the end of the data). */
  end: number;
}

/** Finds the NAL units in [from, to): each begins after a 00 00 01 start code. */
export function findNalUnits(b: Uint8Array, from = 0, to = b.length): NalUnit[] {
  const units: NalUnit[] = [];
  let current = -1;
  let i = from;
  while (i + 2 < to) {
    if (b[i + 2] > 1) {
      i += 3; // no start code can end at i+2
    } else if (b[i] === 0 && b[i + 1] === 0 && b[i + 2] === 1) {
      if (current >= 0) units.push({ start: current, end: trimTrailingZero(b, current, i) });
      current = i + 3;
      i += 3;
    } else {
      i++;
    }
  }
  if (current >= 0 && current < to) units.push({ start: current, end: to });
  return units;
}

// A 4-byte start code (00 00 00 01) leaves its first zero at the end of the previous unit.
function trimTrailingZero(b: Uint8Array, start: number, end: number): number {
  while (end > start && b[end - 1] === 0) end--;
  return end;
}

/** RBSP from a NAL unit's bytes: drops each 0x03 of a 00 00 03 emulation-prevention sequence. */
export function toRbsp(nal: Uint8Array): Uint8Array {
  const out = new Uint8Array(nal.length);
  let n = 0;
  let zeros = 0;
  for (let i = 0; i < nal.length; i++) {
    const v = nal[i];
    if (zeros >= 2 && v === 0x03) {
      zeros = 0;
      continue;
    }
    out[n++] = v;
    zeros = v === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, n);
}
