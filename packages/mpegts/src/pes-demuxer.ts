/**
 * Whole PES packets per elementary stream (ISO/IEC 13818-1 §2.4.3.6), for a remuxer that needs
 * every byte of each access unit — PesAssembler keeps only the head of each PES.
 *
 * A PES is complete when its PES_packet_length is reached, when the next PES of its PID starts,
 * or when the input ends. Each unit's payload is a view of a buffer the caller then owns: the
 * demuxer starts the next PES in a new one (sized like the last), so the bytes are copied once.
 */
import { PacketReader, payloadOffset, payloadUnitStart, pid, randomAccessIndicator, transportError, PAT_PID, NULL_PID, TS_PACKET_SIZE } from './packet';
import { parsePat, parsePmt, SectionAssembler, type Pmt } from './psi';
import { parsePesHeader, pesPacketLength } from './pes';
import { mediaKind, type MediaKind } from './stream-type';

export interface ElementaryStream {
  pid: number;
  streamType: number;
  kind: MediaKind;
}

export interface PesUnit {
  pid: number;
  kind: MediaKind;
  /** 33-bit, 90 kHz; -1 when the PES carried none. */
  pts: number;
  /** Equals pts when the header carried no DTS. */
  dts: number;
  /** random_access_indicator of the first packet: only a hint (see keyframe.ts). */
  randomAccess: boolean;
  /** The elementary-stream bytes (PES header removed); owned by the caller. */
  data: Uint8Array;
}

export interface PesDemuxerEvents {
  /** A PMT (first, or a new version): the streams that follow. */
  program(streams: ElementaryStream[], pmt: Pmt): void;
  unit(unit: PesUnit): void;
}

interface Collecting {
  kind: MediaKind;
  buffer: Uint8Array;
  length: number;
  randomAccess: boolean;
  /** 6 + PES_packet_length, or 0 while unbounded or unknown. */
  expected: number;
}

const INITIAL_BUFFER = 64 * 1024;
/** Room for the next PES of a stream: its last size and a quarter more, so most never grow. */
const nextCapacity = (last: number): number => Math.max(4096, Math.ceil(last * 1.25));

export class PesDemuxer {
  readonly #events: PesDemuxerEvents;
  readonly #reader = new PacketReader();
  readonly #pat = new SectionAssembler();
  #pmtAssembler = new SectionAssembler();
  #pmtPid = -1;
  #pmtCrc = -1;
  readonly #streams = new Map<number, Collecting>();
  /** The same collectors indexed by PID: the per-packet lookup. */
  #byPid: Array<Collecting | undefined> = [];

  constructor(events: PesDemuxerEvents) {
    this.#events = events;
  }

  push(chunk: Uint8Array): void {
    this.#reader.push(chunk, this.#onPacket);
  }

  /** Input ended: every PES still open is complete. */
  finish(): void {
    this.#reader.end(this.#onPacket);
    for (const [p, c] of this.#streams) this.#complete(p, c);
  }

  readonly #onPacket = (b: Uint8Array, o: number): void => {
    if (transportError(b, o)) return;
    const p = pid(b, o);
    const c = this.#byPid[p];
    if (c) {
      this.#onMedia(b, o, p, c);
    } else if (p === PAT_PID) {
      const section = this.#pat.push(b, o);
      const pmtPid = section ? parsePat(section)?.[0]?.pmtPid : undefined;
      if (pmtPid !== undefined && pmtPid !== this.#pmtPid && pmtPid !== PAT_PID && pmtPid !== NULL_PID) {
        this.#pmtPid = pmtPid;
        this.#pmtAssembler = new SectionAssembler();
        this.#pmtCrc = -1;
      }
    } else if (p === this.#pmtPid) {
      const section = this.#pmtAssembler.push(b, o);
      if (section) this.#onPmt(section);
    }
  };

  #onPmt(section: Uint8Array): void {
    const crc = section.subarray(section.length - 4).reduce((a, v) => a * 256 + v, 0);
    if (crc === this.#pmtCrc) return; // the same table repeated
    const pmt = parsePmt(section);
    if (!pmt) return;
    this.#pmtCrc = crc;
    for (const [p, c] of this.#streams) this.#complete(p, c);
    this.#streams.clear();
    this.#byPid = [];
    const streams: ElementaryStream[] = [];
    for (const s of pmt.streams) {
      if (s.pid === PAT_PID || s.pid === this.#pmtPid || s.pid === NULL_PID) continue;
      const kind = mediaKind(s.streamType);
      streams.push({ pid: s.pid, streamType: s.streamType, kind });
      // Other stream types may carry sections rather than PES (SCTE-35): not followed.
      if (kind !== 'other') {
        const c: Collecting = { kind, buffer: new Uint8Array(INITIAL_BUFFER), length: 0, randomAccess: false, expected: -1 };
        this.#streams.set(s.pid, c);
        this.#byPid[s.pid] = c;
      }
    }
    this.#events.program(streams, pmt);
  }

  #onMedia(b: Uint8Array, o: number, p: number, c: Collecting): void {
    const start = payloadOffset(b, o);
    if (payloadUnitStart(b, o)) {
      this.#complete(p, c);
      c.randomAccess = randomAccessIndicator(b, o);
      c.expected = 0;
    } else if (c.expected < 0) {
      return; // joined mid-PES
    }
    if (start < 0) return;
    append(c, b.subarray(start, o + TS_PACKET_SIZE));
    if (c.expected === 0 && c.length >= 6) {
      const declared = pesPacketLength(c.buffer, 0);
      c.expected = declared > 0 ? 6 + declared : Number.POSITIVE_INFINITY;
    }
    if (c.length >= c.expected) this.#complete(p, c);
  }

  #complete(p: number, c: Collecting): void {
    if (c.length === 0) return;
    const end = Number.isFinite(c.expected) && c.expected > 0 ? Math.min(c.expected, c.length) : c.length;
    const buffer = c.buffer;
    const header = parsePesHeader(buffer, 0, end);
    c.length = 0;
    c.expected = -1;
    if (!header) return;
    c.buffer = Buffer.allocUnsafeSlow(nextCapacity(end)); // every byte read is written first: no zero fill
    this.#events.unit({
      pid: p,
      kind: c.kind,
      pts: header.pts,
      dts: header.dts,
      randomAccess: c.randomAccess,
      data: buffer.subarray(header.dataOffset, end),
    });
  }
}

function append(c: Collecting, bytes: Uint8Array): void {
  if (c.length + bytes.length > c.buffer.length) {
    const grown = Buffer.allocUnsafeSlow(Math.max(c.buffer.length * 2, c.length + bytes.length));
    grown.set(c.buffer.subarray(0, c.length), 0);
    c.buffer = grown;
  }
  c.buffer.set(bytes, c.length);
  c.length += bytes.length;
}
