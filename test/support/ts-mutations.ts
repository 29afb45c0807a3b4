/**
 * Ways to break an MPEG-TS capture, for the fuzz tests (not a test file). Each mutation is a pure
 * function of the input and a few numbers fast-check chooses, so a failing case shrinks and
 * replays from its seed.
 */
import fc from 'fast-check';
import { payloadOffset, payloadUnitStart, pid, PAT_PID, ptsAdd, readTimestamp, TS_PACKET_SIZE } from '@hlsrelay/mpegts';
import { timestampField } from './ts-packets';

export type Mutation =
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicate'; at: number; length: number }
  | { kind: 'garbage'; at: number; bytes: Uint8Array }
  | { kind: 'repid'; packet: number; pid: number }
  | { kind: 'drop-pat' }
  | { kind: 'pts-jump'; fromPacket: number; ticks: number };

/** Offsets and lengths are fractions of the input, so they fit any fixture. */
export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), length: fc.integer({ min: 1, max: 4000 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), length: fc.integer({ min: 1, max: 4000 }) }),
  fc.record({ kind: fc.constant('garbage' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), bytes: fc.uint8Array({ minLength: 1, maxLength: 600 }) }),
  fc.record({ kind: fc.constant('repid' as const), packet: fc.nat(), pid: fc.integer({ min: 0, max: 0x1fff }) }),
  fc.constant({ kind: 'drop-pat' as const }),
  fc.record({
    kind: fc.constant('pts-jump' as const),
    fromPacket: fc.nat(),
    // Small steps, big jumps both ways, and anything up to a whole wrap of the 33-bit clock.
    ticks: fc.oneof(fc.integer({ min: -90_000, max: 90_000 }), fc.integer({ min: -(2 ** 33), max: 2 ** 33 })),
  }),
);

export function mutate(input: Uint8Array, m: Mutation): Uint8Array {
  const at = (f: number) => Math.min(input.length, Math.floor(f * input.length));
  switch (m.kind) {
    case 'flip': {
      const out = input.slice();
      if (out.length > 0) out[Math.min(out.length - 1, at(m.at))] ^= m.xor;
      return out;
    }
    case 'truncate':
      return input.slice(0, at(m.at));
    case 'delete': {
      const start = at(m.at);
      return Buffer.concat([input.subarray(0, start), input.subarray(start + m.length)]);
    }
    case 'duplicate': {
      const start = at(m.at);
      return Buffer.concat([input.subarray(0, start + m.length), input.subarray(start)]);
    }
    case 'garbage': {
      const start = at(m.at);
      return Buffer.concat([input.subarray(0, start), m.bytes, input.subarray(start)]);
    }
    case 'repid': {
      const out = input.slice();
      const packets = Math.floor(out.length / TS_PACKET_SIZE);
      if (packets === 0) return out;
      const o = (m.packet % packets) * TS_PACKET_SIZE;
      out[o + 1] = (out[o + 1] & 0xe0) | (m.pid >> 8); // PID bits 12–8
      out[o + 2] = m.pid & 0xff; // PID bits 7–0
      return out;
    }
    case 'drop-pat': {
      const kept: Uint8Array[] = [];
      for (let o = 0; o + TS_PACKET_SIZE <= input.length; o += TS_PACKET_SIZE) {
        if (pid(input, o) !== PAT_PID) kept.push(input.subarray(o, o + TS_PACKET_SIZE));
      }
      return Buffer.concat(kept);
    }
    case 'pts-jump': {
      const out = input.slice();
      const packets = Math.floor(out.length / TS_PACKET_SIZE);
      for (let i = packets === 0 ? 0 : m.fromPacket % packets; i < packets; i++) {
        const o = i * TS_PACKET_SIZE;
        if (!payloadUnitStart(out, o) || pid(out, o) === PAT_PID) continue;
        const start = payloadOffset(out, o);
        // A PES header with a PTS: start code, then PTS_DTS_flags in byte 7.
        if (start < 0 || start + 14 > o + TS_PACKET_SIZE || out[start] !== 0 || out[start + 1] !== 0 || out[start + 2] !== 1) continue;
        if ((out[start + 7] & 0x80) === 0) continue;
        const pts = readTimestamp(out, start + 9);
        out.set(timestampField(out[start + 9] >> 4, ptsAdd(pts, m.ticks)), start + 9);
      }
      return out;
    }
  }
}

/** Cuts `bytes` into chunks at the given fractions (the pipe delivers whatever it likes). */
export function chunked(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    if (p > from) chunks.push(bytes.subarray(from, p));
    from = Math.max(from, p);
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}
