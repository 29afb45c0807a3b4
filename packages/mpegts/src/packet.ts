/**
 * MPEG-TS packets (ISO/IEC 13818-1 §2.4.3.2): 188 bytes, each starting with the sync byte.
 * Field readers take the buffer and the packet's offset so the packet loop never copies.
 */
export const TS_PACKET_SIZE = 188;
export const SYNC_BYTE = 0x47;
export const PAT_PID = 0x0000;
export const NULL_PID = 0x1fff;

/** transport_error_indicator: 1 bit, byte 1 bit 7 — the demodulator could not correct the packet. */
export const transportError = (p: Uint8Array, o: number): boolean => (p[o + 1] & 0x80) !== 0;
/** payload_unit_start_indicator: 1 bit, byte 1 bit 6 — a PES or PSI section starts in this payload. */
export const payloadUnitStart = (p: Uint8Array, o: number): boolean => (p[o + 1] & 0x40) !== 0;
/** PID: 13 bits across bytes 1–2. */
export const pid = (p: Uint8Array, o: number): number => ((p[o + 1] & 0x1f) << 8) | p[o + 2];
/** adaptation_field_control: 2 bits, byte 3 bits 5–4 (1 payload only, 2 adaptation only, 3 both). */
export const adaptationFieldControl = (p: Uint8Array, o: number): number => (p[o + 3] >> 4) & 0x03;
/** continuity_counter: 4 bits, byte 3 bits 3–0. */
export const continuityCounter = (p: Uint8Array, o: number): number => p[o + 3] & 0x0f;
/** adaptation_field_length: byte 4, when an adaptation field is present. */
export const adaptationFieldLength = (p: Uint8Array, o: number): number => p[o + 4];

/**
 * random_access_indicator: adaptation field flags byte bit 6. Only a hint: encoders set it
 * inconsistently, so keyframes are confirmed by scanning NAL units.
 */
export function randomAccessIndicator(p: Uint8Array, o: number): boolean {
  return (adaptationFieldControl(p, o) & 0x02) !== 0 && adaptationFieldLength(p, o) > 0 && (p[o + 5] & 0x40) !== 0;
}

/**
 * Offset of the payload inside the buffer, or -1 when the packet carries none
 * (adaptation field only, or an adaptation field length that overruns the packet).
 */
export function payloadOffset(p: Uint8Array, o: number): number {
  const afc = adaptationFieldControl(p, o);
  if ((afc & 0x01) === 0) return -1;
  if (afc === 0x01) return o + 4;
  const start = o + 5 + adaptationFieldLength(p, o);
  return start < o + TS_PACKET_SIZE ? start : -1;
}

export type PacketHandler = (buffer: Uint8Array, offset: number) => void;
/** Packets [start, end) of `buffer`, back to back, each beginning with the sync byte. */
export type RunHandler = (buffer: Uint8Array, start: number, end: number) => void;

/**
 * Cuts a byte stream arriving in chunks of any size into packets.
 *
 * Whole packets are handed over as runs of contiguous packets of the chunk (usually one run
 * per chunk), so callers can pass them on without copying or a call per packet. A packet
 * split across two chunks is completed in a 188-byte carry buffer, the only copy.
 * Once sync is lost it is regained at a sync byte followed by another one a packet later, so a
 * stray 0x47 in garbage is not taken for a packet start.
 */
export class PacketReader {
  /** Bytes of a packet started at the end of the previous chunk; #carryLength < 188. */
  readonly #carry = new Uint8Array(TS_PACKET_SIZE);
  #carryLength = 0;
  /** Bytes skipped while looking for sync since the reader was created. */
  skippedBytes = 0;
  /** Times sync was lost and found again. */
  resyncs = 0;

  /** Calls `onRun` for the whole packets in `chunk` (after the remainder of earlier chunks). */
  pushRuns(chunk: Uint8Array, onRun: RunHandler): void {
    const length = chunk.length;
    let i = 0;
    if (this.#carryLength > 0) {
      const need = TS_PACKET_SIZE - this.#carryLength;
      if (length < need) {
        this.#carry.set(chunk, this.#carryLength);
        this.#carryLength += length;
        return;
      }
      this.#carry.set(chunk.subarray(0, need), this.#carryLength);
      this.#carryLength = 0;
      onRun(this.#carry, 0, TS_PACKET_SIZE);
      i = need;
    }
    while (i + TS_PACKET_SIZE <= length) {
      const runStart = i;
      while (i + TS_PACKET_SIZE <= length && chunk[i] === SYNC_BYTE) i += TS_PACKET_SIZE;
      if (i > runStart) onRun(chunk, runStart, i);
      if (i + TS_PACKET_SIZE > length) break;
      // Sync lost at i.
      const found = this.#findSync(chunk, i + 1);
      this.skippedBytes += found - i;
      this.resyncs++;
      i = found;
    }
    if (i < length) {
      // Keep the tail only from a sync byte; garbage before it is dropped.
      let start = i;
      while (start < length && chunk[start] !== SYNC_BYTE) start++;
      this.skippedBytes += start - i;
      this.#carry.set(chunk.subarray(start), 0);
      this.#carryLength = length - start;
    }
  }

  /** Calls `onPacket` for every whole packet (a convenience over pushRuns). */
  push(chunk: Uint8Array, onPacket: PacketHandler): void {
    this.pushRuns(chunk, (b, start, end) => {
      for (let o = start; o < end; o += TS_PACKET_SIZE) onPacket(b, o);
    });
  }

  /** Bytes held for a packet not yet complete. */
  get pendingBytes(): number {
    return this.#carryLength;
  }

  /**
   * First offset ≥ from holding a sync byte that is followed by another one a packet later (or
   * whose successor is beyond the chunk, where it is the best guess), else the chunk length.
   */
  #findSync(chunk: Uint8Array, from: number): number {
    const length = chunk.length;
    for (let j = from; j < length; j++) {
      if (chunk[j] !== SYNC_BYTE) continue;
      const next = j + TS_PACKET_SIZE;
      if (next >= length || chunk[next] === SYNC_BYTE) return j;
    }
    return length;
  }
}
