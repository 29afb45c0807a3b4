/**
 * NAL units in Annex B byte streams (ITU-T H.264 Annex B, H.265 Annex B): start codes and
 * emulation prevention, shared by both video codecs.
 */

/**
 * Largest picture width or height either codec allows: √(8 · MaxFS) macroblocks of H.264 level 6.2
 * (Table A-1) and √(8 · MaxLumaPs) of H.265 level 6.2 (Table A.8) both come to 16 888 samples. A
 * parameter set beyond it, or with cropping that leaves nothing, is corrupt.
 */
export const MAX_PICTURE_DIMENSION = 16_888;

/** A width and height a real parameter set can describe. */
export const plausiblePictureSize = (width: number, height: number): boolean =>
  Number.isInteger(width) && Number.isInteger(height) && width >= 1 && height >= 1 && width <= MAX_PICTURE_DIMENSION && height <= MAX_PICTURE_DIMENSION;

export interface NalUnit {
  /** Offset of the NAL header (first byte after the start code). */
  start: number;
  /** Offset just past the unit (the next start code or the end of the data). */
  end: number;
}

/** start_code_prefix_one_3bytes (Annex B.1.1). */
const START_CODE: Uint8Array = Buffer.from([0x00, 0x00, 0x01]);
const indexOfBytes = Buffer.prototype.indexOf;

/**
 * Offset of the first start code at or past `from`, -1 when there is none. Buffer#indexOf takes
 * any Uint8Array as `this`: no view to make on each call (a scan makes one call per NAL unit).
 */
export const indexOfStartCode = (b: Uint8Array, from: number): number => indexOfBytes.call(b, START_CODE, from);

/**
 * Finds the NAL units in [from, to): each begins after a 00 00 01 start code. The search is
 * Buffer.indexOf (native, about twice the speed of a JavaScript byte loop): a remuxer scans
 * every byte of every access unit.
 */
export function findNalUnits(b: Uint8Array, from = 0, to = b.length): NalUnit[] {
  const units: NalUnit[] = [];
  const view = Buffer.from(b.buffer, b.byteOffset, to); // a view: no copy
  let current = -1;
  let i = view.indexOf(START_CODE, from);
  while (i >= 0) {
    if (current >= 0) units.push({ start: current, end: trimTrailingZero(b, current, i) });
    current = i + 3;
    i = view.indexOf(START_CODE, current);
  }
  if (current >= 0 && current < to) units.push({ start: current, end: to });
  return units;
}

/**
 * The NAL unit after the first start code at or past `from`, or null when there is none: for a
 * scan that stops early (a keyframe probe needs only the units up to the first slice).
 */
export function nextNalUnit(b: Uint8Array, from: number): NalUnit | null {
  const i = indexOfStartCode(b, from);
  if (i < 0) return null;
  const start = i + 3;
  const next = indexOfStartCode(b, start);
  return { start, end: next < 0 ? b.length : trimTrailingZero(b, start, next) };
}

/**
 * Where a NAL unit that runs from `start` up to the start code at `end` really ends: a 4-byte
 * start code (00 00 00 01) leaves its first zero at the end of the unit before it, and
 * trailing_zero_8bits (Annex B.1.2) may add more.
 */
export function trimTrailingZero(b: Uint8Array, start: number, end: number): number {
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
