/**
 * MPEG-TS packets (ISO/IEC 13818-1 §2.4.3.2): 188 bytes, each starting with the sync byte.
 * Field readers take the buffer and the packet's offset so the packet loop never copies.
 */
export const TS_PACKET_SIZE = 188;
export const SYNC_BYTE = 0x47;
// The sync scan reads these per packet: CommonJS output turns every use of an exported const
// into a load from `exports`, which kept the scan at a third of the segmenter's own CPU time.
const PACKET = TS_PACKET_SIZE;
const SYNC = SYNC_BYTE;
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
  /**
   * Bytes of a packet started at the end of the previous chunk; #carryLength < 188. Two
   * buffers take turns, so the packet completed in one is still intact while the tail of the
   * same chunk is kept in the other: runs stay valid until push returns.
   */
  readonly #carries = [new Uint8Array(TS_PACKET_SIZE), new Uint8Array(TS_PACKET_SIZE)];
  #carry = this.#carries[0];
  #carryLength = 0;
  /** Bytes skipped while looking for sync since the reader was created. */
  skippedBytes = 0;
  /** Times sync was lost and found again. */
  resyncs = 0;

  /**
   * Bytes after lost sync that may hold a packet start but could not be confirmed yet (the
   * confirming sync byte a packet later is in the next chunk). Rare, so simply prepended.
   */
  #unconfirmed: Uint8Array | null = null;

  /**
   * Calls `onRun` for the whole packets in `chunk` (after the remainder of earlier chunks).
   * The views are valid until push returns; copy what must live longer.
   */
  pushRuns(input: Uint8Array, onRun: RunHandler): void {
    let chunk = input;
    if (this.#unconfirmed) {
      chunk = new Uint8Array(this.#unconfirmed.length + input.length);
      chunk.set(this.#unconfirmed, 0);
      chunk.set(input, this.#unconfirmed.length);
      this.#unconfirmed = null;
    }
    let length = chunk.length;
    let i = 0;
    if (this.#carryLength > 0) {
      // The carry began right after a good packet; it counts if the next packet follows it.
      const need = TS_PACKET_SIZE - this.#carryLength;
      if (length <= need) {
        // Still incomplete, or complete with nothing after it yet to confirm it.
        this.#carry.set(chunk, this.#carryLength);
        this.#carryLength += length;
        return;
      }
      this.#carry.set(chunk.subarray(0, need), this.#carryLength);
      this.#carryLength = 0;
      const complete = this.#carry;
      this.#carry = complete === this.#carries[0] ? this.#carries[1] : this.#carries[0];
      i = need;
      if (chunk[i] === SYNC_BYTE) {
        onRun(complete, 0, TS_PACKET_SIZE);
      } else {
        // Not a packet after all: a real start may hide in its bytes, so search them too.
        const joined = new Uint8Array(TS_PACKET_SIZE - 1 + length - i);
        joined.set(complete.subarray(1), 0);
        joined.set(chunk.subarray(i), TS_PACKET_SIZE - 1);
        chunk = joined;
        length = joined.length;
        i = 0;
        this.skippedBytes++;
      }
    }
    while (i < length) {
      const runStart = i;
      // A packet counts when its sync byte is followed by the next one (or the chunk ends):
      // garbage that happens to begin with 0x47 is not taken for a packet.
      // The last packet of a chunk waits in the carry until the next chunk confirms it.
      // Each step's confirming byte is the next step's sync byte, so it is read once.
      if (chunk[i] === SYNC) {
        while (i + PACKET < length && chunk[i + PACKET] === SYNC) i += PACKET;
      }
      if (i > runStart) onRun(chunk, runStart, i);
      if (i >= length) return;
      if (chunk[i] === SYNC_BYTE && i + TS_PACKET_SIZE >= length) {
        // In sync; the chunk ends inside (or right after) this packet.
        this.#carry.set(chunk.subarray(i), 0);
        this.#carryLength = length - i;
        return;
      }
      // Sync lost at i: look for a sync byte confirmed by another one a packet later.
      const found = this.#findSync(chunk, i + 1);
      if (found < 0) {
        // Not confirmable in this chunk: keep what could still hold a packet start.
        const keepFrom = Math.max(i, this.#firstSync(chunk, i, length - TS_PACKET_SIZE));
        this.skippedBytes += keepFrom - i;
        this.#unconfirmed = chunk.slice(keepFrom);
        return;
      }
      this.skippedBytes += found - i;
      this.resyncs++;
      i = found;
    }
  }

  /** Input ended: hands over a last whole packet that nothing came after to confirm. */
  endRuns(onRun: RunHandler): void {
    if (this.#carryLength === TS_PACKET_SIZE) onRun(this.#carry, 0, TS_PACKET_SIZE);
    else this.skippedBytes += this.#carryLength + (this.#unconfirmed?.length ?? 0);
    this.#carryLength = 0;
    this.#unconfirmed = null;
  }

  /** Input ended (packet form of endRuns). */
  end(onPacket: PacketHandler): void {
    this.endRuns((b, start) => onPacket(b, start));
  }

  /** Calls `onPacket` for every whole packet (a convenience over pushRuns). */
  push(chunk: Uint8Array, onPacket: PacketHandler): void {
    this.pushRuns(chunk, (b, start, end) => {
      for (let o = start; o < end; o += TS_PACKET_SIZE) onPacket(b, o);
    });
  }

  /** Bytes held for a packet not yet complete (or not yet confirmed after lost sync). */
  get pendingBytes(): number {
    return this.#carryLength + (this.#unconfirmed?.length ?? 0);
  }

  /** First offset ≥ from with a sync byte followed by another one a packet later; -1 if none is confirmable. */
  #findSync(chunk: Uint8Array, from: number): number {
    for (let j = from; j + TS_PACKET_SIZE < chunk.length; j++) {
      if (chunk[j] === SYNC_BYTE && chunk[j + TS_PACKET_SIZE] === SYNC_BYTE) return j;
    }
    return -1;
  }

  /** First sync byte at or after max(from, floor), else the chunk length. */
  #firstSync(chunk: Uint8Array, from: number, floor: number): number {
    for (let j = Math.max(from, floor); j < chunk.length; j++) if (chunk[j] === SYNC_BYTE) return j;
    return chunk.length;
  }
}
