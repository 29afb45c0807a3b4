/**
 * MPEG-TS timestamps (ISO/IEC 13818-1 §2.4.3.7): PTS and DTS count a 90 kHz clock in 33 bits
 * and wrap every 2^33 / 90000 s ≈ 26.5 h. Everything about the wrap lives here.
 */
export const CLOCK_HZ = 90_000;
/** 2^33: PTS/DTS values are modulo this. Built by multiplication — JS bit operators are 32-bit. */
export const PTS_MODULO = 2 ** 33;
const HALF_MODULO = 2 ** 32;

/**
 * 33-bit PTS or DTS from its 5-byte field: 3 bits, marker, 15 bits, marker, 15 bits, marker.
 * Multiplication instead of shifts keeps the top bit.
 */
export const readTimestamp = (b: Uint8Array, o: number): number =>
  (b[o] & 0x0e) * 2 ** 29 + b[o + 1] * 2 ** 22 + (b[o + 2] & 0xfe) * 2 ** 14 + b[o + 3] * 2 ** 7 + (b[o + 4] >>> 1);

/**
 * Signed distance from `from` to `to` in 90 kHz ticks, across a wrap: the shorter way round the
 * 33-bit circle, so a value just after the wrap is a little later, not 26 hours earlier.
 */
export function ptsDelta(from: number, to: number): number {
  let d = (to - from) % PTS_MODULO;
  if (d >= HALF_MODULO) d -= PTS_MODULO;
  else if (d < -HALF_MODULO) d += PTS_MODULO;
  return d;
}

/** Adds ticks to a PTS, staying in [0, 2^33). */
export const ptsAdd = (pts: number, ticks: number): number => (((pts + ticks) % PTS_MODULO) + PTS_MODULO) % PTS_MODULO;

export const ticksToSeconds = (ticks: number): number => ticks / CLOCK_HZ;
export const secondsToTicks = (seconds: number): number => Math.round(seconds * CLOCK_HZ);
