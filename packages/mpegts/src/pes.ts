/**
 * Packetized elementary stream headers (ISO/IEC 13818-1 §2.4.3.6) and one assembler that keeps
 * the beginning of the current PES of every PID it is asked to follow.
 */
import { payloadOffset, payloadUnitStart, TS_PACKET_SIZE } from './packet';
import { readTimestamp } from './timestamp';

/** packet_start_code_prefix: 24 bits, 0x000001. */
export const hasStartCode = (b: Uint8Array, o: number): boolean => b[o] === 0 && b[o + 1] === 0 && b[o + 2] === 1;
/** stream_id: byte 3 (0xE0–0xEF video, 0xC0–0xDF audio). */
export const streamId = (b: Uint8Array, o: number): number => b[o + 3];
/** PES_packet_length: 16 bits, bytes 4–5; 0 means unbounded (allowed for video). */
export const pesPacketLength = (b: Uint8Array, o: number): number => (b[o + 4] << 8) | b[o + 5];
/** PTS_DTS_flags: 2 bits, byte 7 bits 7–6 (2 PTS only, 3 PTS and DTS). */
export const ptsDtsFlags = (b: Uint8Array, o: number): number => b[o + 7] >> 6;
/** PES_header_data_length: byte 8, optional header bytes after it. */
export const pesHeaderDataLength = (b: Uint8Array, o: number): number => b[o + 8];

export interface PesHeader {
  streamId: number;
  /** 33-bit presentation time, 90 kHz, or -1 when absent. */
  pts: number;
  /** 33-bit decoding time; equals pts when the header carries none; -1 when absent. */
  dts: number;
  /** Offset (from the given start) of the elementary stream data. */
  dataOffset: number;
}

/** Reads the header of a PES that starts at `o`; null when the bytes are not a PES start. */
export function parsePesHeader(b: Uint8Array, o: number, end = b.length): PesHeader | null {
  if (end - o < 9 || !hasStartCode(b, o)) return null;
  const dataOffset = 9 + pesHeaderDataLength(b, o);
  if (o + dataOffset > end) return null;
  const flags = ptsDtsFlags(b, o);
  let pts = -1;
  let dts = -1;
  if (flags & 0x02) {
    if (dataOffset < 14) return null;
    pts = readTimestamp(b, o + 9);
    dts = pts;
    if (flags === 0x03 && dataOffset >= 19) dts = readTimestamp(b, o + 14);
  }
  return { streamId: streamId(b, o), pts, dts, dataOffset };
}

/** What an assembler holds for one PID: the first `limit` bytes of its current PES. */
export interface PesHead {
  pid: number;
  /** Reused buffer; valid bytes are [0, length). Copy what must outlive the next packet. */
  readonly bytes: Uint8Array;
  length: number;
  /** Header of the current PES, null until a valid start has been seen. */
  header: PesHeader | null;
  /** TS packets fed into the current PES so far. */
  packets: number;
  /** More bytes arrived than `limit` allowed to keep. */
  truncated: boolean;
}

/**
 * One assembler for every PID (no copy of the accumulation block per stream type). It keeps
 * only the head of each PES: enough for headers, parameter sets and the first NAL units,
 * so memory stays bounded whatever the bitrate.
 */
export class PesAssembler {
  readonly #limit: number;
  readonly #heads = new Map<number, PesHead>();

  constructor(limit = 16 * 1024) {
    if (!Number.isInteger(limit) || limit < TS_PACKET_SIZE) {
      throw new TypeError(`PES head limit must be an integer ≥ ${TS_PACKET_SIZE}, got ${limit}`);
    }
    this.#limit = limit;
  }

  /**
   * Feeds one TS packet of `pid`. Returns the PID's head after the packet, or null while no
   * PES start has been seen (a stream joined mid-PES).
   */
  push(pid: number, p: Uint8Array, o: number): PesHead | null {
    let head = this.#heads.get(pid);
    const start = payloadOffset(p, o);
    if (payloadUnitStart(p, o)) {
      if (!head) {
        head = { pid, bytes: new Uint8Array(this.#limit), length: 0, header: null, packets: 0, truncated: false };
        this.#heads.set(pid, head);
      }
      head.length = 0;
      head.packets = 0;
      head.truncated = false;
      head.header = null;
      if (start >= 0) {
        this.#append(head, p, start, o + TS_PACKET_SIZE);
        head.header = parsePesHeader(head.bytes, 0, head.length);
      }
      head.packets = 1;
      return head;
    }
    if (!head || head.packets === 0) return null;
    head.packets++;
    if (start >= 0) this.#append(head, p, start, o + TS_PACKET_SIZE);
    return head;
  }

  /** Forgets a PID (its stream left the PMT). */
  drop(pid: number): void {
    this.#heads.delete(pid);
  }

  #append(head: PesHead, p: Uint8Array, from: number, to: number): void {
    const room = this.#limit - head.length;
    const n = Math.min(room, to - from);
    if (n < to - from) head.truncated = true;
    if (n <= 0) return;
    head.bytes.set(p.subarray(from, from + n), head.length);
    head.length += n;
  }
}
