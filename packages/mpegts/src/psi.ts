/**
 * Program-specific information (ISO/IEC 13818-1 §2.4.4): PAT and PMT sections.
 * Parsers take one complete section (from table_id to CRC) and return null when it is not
 * usable, so a corrupt table is skipped, never thrown out of the packet loop.
 */
import { payloadOffset, payloadUnitStart, TS_PACKET_SIZE } from './packet';

export const TABLE_ID_PAT = 0x00;
export const TABLE_ID_PMT = 0x02;

/** section_length: 12 bits across bytes 1–2 of the section; bytes that follow it. */
export const sectionLength = (s: Uint8Array, o: number): number => ((s[o + 1] & 0x0f) << 8) | s[o + 2];
/** version_number: 5 bits, byte 5 bits 5–1. */
export const versionNumber = (s: Uint8Array, o: number): number => (s[o + 5] >> 1) & 0x1f;
/** current_next_indicator: byte 5 bit 0 — 0 means the table applies later, not now. */
export const currentNext = (s: Uint8Array, o: number): boolean => (s[o + 5] & 0x01) !== 0;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32/MPEG-2 (Annex A); over a whole section including its CRC it is 0. */
export function crc32Mpeg(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ bytes[i]) & 0xff]) >>> 0;
  return crc >>> 0;
}

export interface PatProgram {
  programNumber: number;
  pmtPid: number;
}

/** PAT: program_number → PMT PID. Program 0 (the network PID) is left out. */
export function parsePat(s: Uint8Array): PatProgram[] | null {
  if (s.length < 12 || s[0] !== TABLE_ID_PAT || !validSection(s)) return null;
  const end = 3 + sectionLength(s, 0) - 4;
  const programs: PatProgram[] = [];
  for (let i = 8; i + 4 <= end; i += 4) {
    const programNumber = (s[i] << 8) | s[i + 1];
    // program_map_PID: 13 bits after 3 reserved bits.
    const pmtPid = ((s[i + 2] & 0x1f) << 8) | s[i + 3];
    if (programNumber !== 0) programs.push({ programNumber, pmtPid });
  }
  return programs;
}

export interface PmtStream {
  streamType: number;
  pid: number;
}

export interface Pmt {
  programNumber: number;
  version: number;
  pcrPid: number;
  streams: PmtStream[];
}

export function parsePmt(s: Uint8Array): Pmt | null {
  if (s.length < 16 || s[0] !== TABLE_ID_PMT || !validSection(s) || !currentNext(s, 0)) return null;
  const end = 3 + sectionLength(s, 0) - 4;
  // PCR_PID: 13 bits, bytes 8–9; program_info_length: 12 bits, bytes 10–11.
  const pcrPid = ((s[8] & 0x1f) << 8) | s[9];
  const programInfoLength = ((s[10] & 0x0f) << 8) | s[11];
  const streams: PmtStream[] = [];
  for (let i = 12 + programInfoLength; i + 5 <= end; ) {
    const streamType = s[i];
    const pid = ((s[i + 1] & 0x1f) << 8) | s[i + 2];
    // ES_info_length: 12 bits, then that many descriptor bytes.
    const esInfoLength = ((s[i + 3] & 0x0f) << 8) | s[i + 4];
    streams.push({ streamType, pid });
    i += 5 + esInfoLength;
  }
  return { programNumber: (s[3] << 8) | s[4], version: versionNumber(s, 0), pcrPid, streams };
}

function validSection(s: Uint8Array): boolean {
  const total = 3 + sectionLength(s, 0);
  return total <= s.length && total >= 12 && crc32Mpeg(s, 0, total) === 0;
}

/**
 * Collects one PID's PSI sections across packets (a PMT with many streams or descriptors can
 * outgrow one packet). Returns each complete section; keeps at most one section in progress.
 */
export class SectionAssembler {
  #buffer = new Uint8Array(1024 + 3);
  #length = 0;
  #expected = -1;

  /** Feeds one TS packet of the PID; returns the section it completes, or null. */
  push(p: Uint8Array, o: number): Uint8Array | null {
    let start = payloadOffset(p, o);
    if (start < 0) return null;
    const end = o + TS_PACKET_SIZE;
    if (payloadUnitStart(p, o)) {
      // pointer_field: bytes to skip before the new section begins (the tail of the previous one).
      start += 1 + p[start];
      if (start >= end) return null;
      this.#length = 0;
      this.#expected = -1;
    } else if (this.#expected < 0) {
      return null; // a continuation without its start
    }
    const room = this.#buffer.length - this.#length;
    const take = Math.min(end - start, room);
    this.#buffer.set(p.subarray(start, start + take), this.#length);
    this.#length += take;
    if (this.#expected < 0 && this.#length >= 3) {
      this.#expected = 3 + sectionLength(this.#buffer, 0);
      if (this.#buffer[0] === 0xff) {
        this.#expected = -1; // stuffing, no section
        return null;
      }
    }
    if (this.#expected > 0 && this.#length >= this.#expected) {
      const section = this.#buffer.slice(0, this.#expected);
      this.#expected = -1;
      this.#length = 0;
      return section;
    }
    if (this.#length >= this.#buffer.length) this.#expected = -1; // longer than any legal section
    return null;
  }
}

/**
 * The packet at buf[off] repeats the single-packet table `stored` (its CRC-32 at `crcAt`, from
 * singlePacketCrcOffset): same header bar the continuity counter, same pointer and section
 * header, same CRC-32 — a cheaper test than comparing all 188 bytes on every repetition.
 */
export function repeatsTable(stored: Uint8Array, crcAt: number, buf: Uint8Array, off: number): boolean {
  if (stored[1] !== buf[off + 1] || stored[2] !== buf[off + 2] || (stored[3] & 0xf0) !== (buf[off + 3] & 0xf0)) return false;
  for (let i = 4; i < 12; i++) if (stored[i] !== buf[off + i]) return false;
  for (let i = crcAt; i < crcAt + 4; i++) if (stored[i] !== buf[off + i]) return false;
  return true;
}

/** Where the CRC-32 of the section in this single PSI packet (at offset 0) sits, or -1 if it does not fit. */
export function singlePacketCrcOffset(packet: Uint8Array): number {
  const start = payloadOffset(packet, 0);
  if (start < 0) return -1;
  const section = start + 1 + packet[start]; // after pointer_field
  if (section + 3 > TS_PACKET_SIZE) return -1;
  const end = section + 3 + (((packet[section + 1] & 0x0f) << 8) | packet[section + 2]);
  return end <= TS_PACKET_SIZE && end - 4 >= 12 ? end - 4 : -1;
}
