/**
 * Whole PES packets per elementary stream (ISO/IEC 13818-1 §2.4.3.6), for a remuxer that needs
 * every byte of each access unit — PesAssembler keeps only the head of each PES.
 *
 * A PES is complete when its PES_packet_length is reached, when the next PES of its PID starts,
 * or when the input ends. Each unit's payload is a view of a buffer the caller then owns: the
 * demuxer starts the next PES in another one (sized like the last), so the bytes are copied once.
 * A caller done with a unit's bytes may hand them back (`release`): the demuxer then reuses that
 * buffer instead of asking for new memory, and memory stays flat however long the input.
 */
import { PacketReader, payloadOffset, payloadUnitStart, pid, randomAccessIndicator, transportError, PAT_PID, NULL_PID, SYNC_BYTE, TS_PACKET_SIZE } from './packet';
import { parsePat, parsePmt, repeatsTable, SectionAssembler, singlePacketCrcOffset, type Pmt } from './psi';
import { parsePesHeader, pesPacketLength } from './pes';
import { BufferPool } from './buffer-pool';
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

/**
 * One PSI PID's sections. Encoders repeat PAT and PMT every few dozen packets: a packet that
 * repeats the last one (repeatsTable), when that one held a whole section, says nothing new.
 */
class TableReader {
  readonly #assembler = new SectionAssembler();
  readonly #last = new Uint8Array(TS_PACKET_SIZE);
  /** Where the CRC sits in #last when it started and completed a section on its own; -1 otherwise. */
  #crcAt = -1;

  repeats(b: Uint8Array, o: number): boolean {
    return this.#crcAt > 0 && repeatsTable(this.#last, this.#crcAt, b, o);
  }

  push(b: Uint8Array, o: number): Uint8Array | null {
    const section = this.#assembler.push(b, o);
    this.#crcAt = -1;
    if (section !== null && payloadUnitStart(b, o)) {
      this.#last.set(b.subarray(o, o + TS_PACKET_SIZE));
      this.#crcAt = singlePacketCrcOffset(this.#last);
    }
    return section;
  }
}
/** Room for the next PES of a stream: its last size and a quarter more, so most never grow. */
const nextCapacity = (last: number): number => Math.max(4096, Math.ceil(last * 1.25));
export class PesDemuxer {
  readonly #events: PesDemuxerEvents;
  readonly #reader = new PacketReader();
  readonly #pat = new TableReader();
  #pmt = new TableReader();
  #pmtPid = -1;
  #pmtCrc = -1;
  readonly #streams = new Map<number, Collecting>();
  /** The same collectors indexed by PID: the per-packet lookup. */
  #byPid: Array<Collecting | undefined> = [];
  readonly #pool = new BufferPool();
  /**
   * Buffers handed out with units and not released yet, by their memory (any view of a unit finds
   * its buffer; weakly: a caller need not release). The buffer itself goes back to the pool: no
   * new view, no closure per unit.
   */
  readonly #out = new WeakMap<ArrayBufferLike, Uint8Array>();

  constructor(events: PesDemuxerEvents) {
    this.#events = events;
  }

  push(chunk: Uint8Array): void {
    this.#reader.pushRuns(chunk, this.#onRun);
  }

  /**
   * Bytes that are whole packets back to back, each at its sync byte — what a segmenter passes
   * on after its own packet reader synced them: taken as they are, without a second sync search
   * (only the first sync byte and the length are checked). Bytes that fail that check, or come
   * after a `push` that ended inside a packet, go through `push`.
   */
  pushPackets(bytes: Uint8Array): void {
    if (this.#reader.pendingBytes > 0 || bytes.length % PACKET !== 0 || bytes[0] !== SYNC) return this.push(bytes);
    this.#onRun(bytes, 0, bytes.length);
  }

  /**
   * The caller is done with the bytes of a unit it was given (`data`, or any view of the same
   * buffer): the buffer may be filled again with a later PES. Views of it must not be read after.
   */
  release(data: Uint8Array): void {
    const out = this.#out;
    const buffer = out.get(data.buffer);
    if (buffer === undefined) return; // not ours, or released already
    out.delete(data.buffer);
    this.#pool.give(buffer);
  }

  /** Input ended: every PES still open is complete. */
  finish(): void {
    this.#reader.endRuns(this.#onRun);
    for (const [p, c] of this.#streams) this.#complete(p, c);
  }

  readonly #onRun = (b: Uint8Array, start: number, end: number): void => {
    let o = start;
    while (o < end) {
      const p = pid(b, o);
      const c = this.#byPid[p];
      if (!c || c.expected < 0 || !continues(b, o, p)) {
        this.#onPacket(b, o);
        o += TS_PACKET_SIZE;
        continue;
      }
      // Packets that carry on the PES of one stream, back to back (most of a video stream's are):
      // copied in one go, then their payloads closed up over the packet headers.
      let k = o + TS_PACKET_SIZE;
      while (k < end && continues(b, k, p)) k += TS_PACKET_SIZE;
      appendPackets(c, b, o, k);
      this.#checkLength(p, c);
      o = k;
    }
  };

  #onPacket(b: Uint8Array, o: number): void {
    if (transportError(b, o)) return;
    const p = pid(b, o);
    const c = this.#byPid[p];
    if (c) {
      this.#onMedia(b, o, p, c);
    } else if (p === PAT_PID) {
      if (this.#pat.repeats(b, o)) return;
      const section = this.#pat.push(b, o);
      const pmtPid = section ? parsePat(section)?.[0]?.pmtPid : undefined;
      if (pmtPid !== undefined && pmtPid !== this.#pmtPid && pmtPid !== PAT_PID && pmtPid !== NULL_PID) {
        this.#pmtPid = pmtPid;
        this.#pmt = new TableReader();
        this.#pmtCrc = -1;
      }
    } else if (p === this.#pmtPid) {
      if (this.#pmt.repeats(b, o)) return;
      const section = this.#pmt.push(b, o);
      if (section) this.#onPmt(section);
    }
  }

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
        // A Buffer like every later one: units of one kind of view keep the remuxer's code monomorphic.
        const c: Collecting = { kind, buffer: Buffer.allocUnsafeSlow(INITIAL_BUFFER), length: 0, randomAccess: false, expected: -1 };
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
    append(c, b, start, o + TS_PACKET_SIZE);
    this.#checkLength(p, c);
  }

  /** Learns the PES_packet_length once its 6 bytes are in, and completes the PES when it is reached. */
  #checkLength(p: number, c: Collecting): void {
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
    c.buffer = this.#pool.take(nextCapacity(end));
    this.#out.set(buffer.buffer, buffer);
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

// Local: an imported const is a load from `exports` at each use (see packet.ts).
const PACKET = TS_PACKET_SIZE;
const SYNC = SYNC_BYTE;

/** Packet `o` is of PID `p`, intact, and continues a PES (no payload_unit_start). */
const continues = (b: Uint8Array, o: number, p: number): boolean => (b[o + 1] & 0xc0) === 0 && pid(b, o) === p;

function ensureRoom(c: Collecting, n: number): void {
  if (c.length + n <= c.buffer.length) return;
  const grown = Buffer.allocUnsafeSlow(Math.max(c.buffer.length * 2, c.length + n));
  grown.set(c.buffer.subarray(0, c.length), 0);
  c.buffer = grown;
}

/**
 * Bytes [from, to) of `b` as a plain Uint8Array, only to be copied from: made for every run of
 * packets, and cheaper than Buffer#subarray (a JavaScript function and a FastBuffer each time).
 */
const source = (b: Uint8Array, from: number, to: number): Uint8Array => new Uint8Array(b.buffer, b.byteOffset + from, to - from);

function append(c: Collecting, b: Uint8Array, from: number, to: number): void {
  const n = to - from;
  ensureRoom(c, n);
  c.buffer.set(source(b, from, to), c.length);
  c.length += n;
}

/**
 * Whole packets [from, to) of one stream onto its PES: one copy of all of them, then each payload
 * moved down over the headers with copyWithin (no view, no argument checks: a third of the cost of
 * copying each payload on its own, which was most of the demuxer's time).
 */
function appendPackets(c: Collecting, b: Uint8Array, from: number, to: number): void {
  const n = to - from;
  ensureRoom(c, n);
  const buf = c.buffer;
  const at = c.length;
  buf.set(source(b, from, to), at);
  let w = at;
  for (let r = at; r < at + n; r += TS_PACKET_SIZE) {
    const start = payloadOffset(buf, r);
    if (start < 0) continue; // adaptation field only
    buf.copyWithin(w, start, r + TS_PACKET_SIZE);
    w += r + TS_PACKET_SIZE - start;
  }
  c.length = w;
}
