/**
 * Hand-built MPEG-TS bytes for tests, every bit field named (ISO/IEC 13818-1).
 * Not a test file itself: the *.test.ts files import it.
 */
import { crc32Mpeg } from '@hlsrelay/mpegts';

export interface PacketFields {
  pid: number;
  pusi?: boolean;
  cc?: number;
  rai?: boolean;
  tei?: boolean;
  payload?: ArrayLike<number>;
}

/** One 188-byte packet; the payload is padded in front with adaptation-field stuffing. */
export function tsPacket(f: PacketFields): Uint8Array {
  const payload = Uint8Array.from(f.payload ?? []);
  if (payload.length > 184) throw new RangeError(`payload ${payload.length} > 184`);
  const p = new Uint8Array(188);
  p[0] = 0x47; // sync_byte
  p[1] =
    (f.tei ? 0x80 : 0) | // transport_error_indicator
    (f.pusi ? 0x40 : 0) | // payload_unit_start_indicator
    // transport_priority = 0
    ((f.pid >> 8) & 0x1f); // PID bits 12–8
  p[2] = f.pid & 0xff; // PID bits 7–0
  const needsAdaptation = f.rai || payload.length < 184;
  const afc = needsAdaptation ? (payload.length > 0 ? 0b11 : 0b10) : 0b01; // adaptation_field_control
  p[3] =
    (0b00 << 6) | // transport_scrambling_control: not scrambled
    (afc << 4) |
    ((f.cc ?? 0) & 0x0f); // continuity_counter
  let o = 4;
  if (needsAdaptation) {
    const afLength = 183 - payload.length; // adaptation_field_length: bytes after this one
    p[4] = afLength;
    o = 5;
    if (afLength > 0) {
      p[5] = f.rai ? 0x40 : 0x00; // flags: random_access_indicator is bit 6
      p.fill(0xff, 6, 5 + afLength); // stuffing_byte
      o = 5 + afLength;
    }
  }
  p.set(payload, o);
  return p;
}

/** A PSI section: header, body, CRC-32. `body` starts after section_length. */
export function psiSection(tableId: number, idExtension: number, version: number, body: number[]): Uint8Array {
  const sectionLength = 5 + body.length + 4; // table_id_extension … last_section_number, body, CRC
  const s = [
    tableId, // table_id
    0xb0 | ((sectionLength >> 8) & 0x0f), // section_syntax_indicator=1, '0', reserved=11, section_length hi
    sectionLength & 0xff, // section_length lo
    (idExtension >> 8) & 0xff, // transport_stream_id / program_number hi
    idExtension & 0xff, // … lo
    0xc0 | ((version & 0x1f) << 1) | 0x01, // reserved=11, version_number, current_next_indicator=1
    0x00, // section_number
    0x00, // last_section_number
    ...body,
  ];
  const crc = crc32Mpeg(Uint8Array.from(s));
  return Uint8Array.from([...s, crc >>> 24, (crc >> 16) & 0xff, (crc >> 8) & 0xff, crc & 0xff]);
}

export function patSection(pmtPid: number, version = 0): Uint8Array {
  return psiSection(0x00, 1, version, [
    0x00, 0x01, // program_number 1
    0xe0 | (pmtPid >> 8), pmtPid & 0xff, // reserved=111, program_map_PID
  ]);
}

export function pmtSection(streams: Array<{ type: number; pid: number }>, version = 0, pcrPid = streams[0]?.pid ?? 0x1fff): Uint8Array {
  const body = [
    0xe0 | (pcrPid >> 8), pcrPid & 0xff, // reserved=111, PCR_PID
    0xf0, 0x00, // reserved=1111, program_info_length=0
  ];
  for (const s of streams) {
    body.push(
      s.type, // stream_type
      0xe0 | (s.pid >> 8), s.pid & 0xff, // reserved=111, elementary_PID
      0xf0, 0x00, // reserved=1111, ES_info_length=0
    );
  }
  return psiSection(0x02, 1, version, body);
}

/** A PSI packet: pointer_field 0 then the section. */
export const psiPacket = (pid: number, section: Uint8Array, cc = 0): Uint8Array =>
  tsPacket({ pid, pusi: true, cc, payload: [0x00, ...section] });

/** The 5-byte PTS/DTS field: '001x' prefix, 3+15+15 bits with marker bits. */
export function timestampField(prefix: number, t: number): number[] {
  const hi = Math.floor(t / 2 ** 30) & 0x07; // bits 32–30
  const mid = Math.floor(t / 2 ** 15) & 0x7fff; // bits 29–15
  const lo = t % 2 ** 15; // bits 14–0
  return [
    (prefix << 4) | (hi << 1) | 1, // prefix, PTS[32..30], marker_bit
    mid >> 7, ((mid & 0x7f) << 1) | 1, // PTS[29..15], marker_bit
    lo >> 7, ((lo & 0x7f) << 1) | 1, // PTS[14..0], marker_bit
  ];
}

/** PES header with PTS (and DTS when given), followed by `data`. */
export function pesBytes(streamId: number, pts: number, data: ArrayLike<number>, dts?: number): number[] {
  const optional = dts === undefined ? timestampField(0b0010, pts) : [...timestampField(0b0011, pts), ...timestampField(0b0001, dts)];
  return [
    0x00, 0x00, 0x01, // packet_start_code_prefix
    streamId, // stream_id
    0x00, 0x00, // PES_packet_length: 0 = unbounded
    0x80, // '10', scrambling=00, priority=0, alignment=0, copyright=0, original=0
    dts === undefined ? 0x80 : 0xc0, // PTS_DTS_flags, other flags 0
    optional.length, // PES_header_data_length
    ...optional,
    ...Array.from(data),
  ];
}

export const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
