/**
 * Which program the stream carries: the PAT names the PMT's PID, the PMT names the video and
 * audio PIDs (ISO/IEC 13818-1 §2.4.4). The tracker gives each PID its role for the segmenter's
 * packet loop, keeps copies of the last PAT and PMT packets (every segment opens with them so it
 * decodes on its own) and says when a new PMT replaced the program.
 */
import {
  payloadUnitStart as readPayloadUnitStart,
  isAudioKind,
  isVideoKind,
  mediaKind,
  parsePat,
  parsePmt,
  NULL_PID,
  PAT_PID,
  repeatsTable,
  SectionAssembler,
  singlePacketCrcOffset,
  TS_PACKET_SIZE,
  type MediaKind,
  type Pmt,
} from '@hlsrelay/mpegts';
import type { Logger } from '@hlsrelay/log';

// Bound once: a re-exported name is a getter call on every use (see ts-segmenter.ts).
const payloadUnitStart = readPayloadUnitStart;

// What a PID is to the segmenter.
export const ROLE_NONE = 0;
export const ROLE_PAT = 1;
export const ROLE_PMT = 2;
export const ROLE_VIDEO = 3;
export const ROLE_AUDIO = 4;

/** A section longer than this many packets is longer than any PAT or PMT: dropped. */
const MAX_TABLE_PACKETS = 8;

interface PsiCopy {
  assembler: SectionAssembler;
  /** Packets of the section being collected (copies). */
  collecting: Uint8Array[];
  /** Packets of the last complete section, written at the start of every segment. */
  packets: Uint8Array[];
  /** CRC bytes of the last section parsed, to skip re-parsing a repeated table. */
  crc: number;
  /** Offset of the CRC inside the single packet of the last section; -1 when it spans packets. */
  crcAt: number;
}

/** What a new PMT changed. */
export interface ProgramChange {
  /** The video PID is not the one before: a unit being probed on the old one is over. */
  videoChanged: boolean;
  /** It replaced an earlier PMT: a new encoder or codec, so players need a discontinuity. */
  replaced: boolean;
}

const NO_PACKETS: Uint8Array[] = [];

export class ProgramTracker {
  /** The role of each PID, indexed by PID: a typed array keeps the per-packet test cheap. */
  readonly roles = new Uint8Array(8192);
  /** A PID stopped carrying media: whatever was being collected for it is to be dropped. */
  readonly #onMediaDropped: (pid: number) => void;
  readonly #logger?: Logger;
  readonly #kinds = new Map<number, MediaKind>();
  readonly #psi = new Map<number, PsiCopy>();
  #pmtPid = -1;
  #pmt: Pmt | null = null;
  #videoPid = -1;
  #videoKind: 'h264' | 'h265' = 'h264';
  /** PID whose PTS drives cuts and durations: the video, else the first audio stream. */
  #clockPid = -1;

  constructor(onMediaDropped: (pid: number) => void, logger?: Logger) {
    this.#onMediaDropped = onMediaDropped;
    this.#logger = logger;
    this.roles[PAT_PID] = ROLE_PAT;
  }

  get pmtPid(): number {
    return this.#pmtPid;
  }

  get pmt(): Pmt | null {
    return this.#pmt;
  }

  get videoPid(): number {
    return this.#videoPid;
  }

  get videoKind(): 'h264' | 'h265' {
    return this.#videoKind;
  }

  get clockPid(): number {
    return this.#clockPid;
  }

  /** The clock is the video stream (durations count frames), not an audio-only stream's. */
  get videoClock(): boolean {
    return this.#clockPid === this.#videoPid;
  }

  kindOf(pid: number): MediaKind | undefined {
    return this.#kinds.get(pid);
  }

  /** The last PAT's packets. */
  get patPackets(): Uint8Array[] {
    return this.#psi.get(PAT_PID)?.packets ?? NO_PACKETS;
  }

  /** The last PMT's packets. */
  get pmtPackets(): Uint8Array[] {
    return this.#psi.get(this.#pmtPid)?.packets ?? NO_PACKETS;
  }

  /** One packet of the PAT or PMT PID (`role`); a change when it completed a new PMT. */
  push(buf: Uint8Array, off: number, p: number, role: number): ProgramChange | null {
    let psi = this.#psi.get(p);
    if (!psi) {
      psi = { assembler: new SectionAssembler(), collecting: [], packets: [], crc: -1, crcAt: -1 };
      this.#psi.set(p, psi);
    }
    // Tables repeat every few packets: a copy of the last one (bar its counter) needs no work.
    if (psi.crcAt > 0 && psi.collecting.length === 0 && repeatsTable(psi.packets[0], psi.crcAt, buf, off)) return null;
    if (payloadUnitStart(buf, off)) psi.collecting = [];
    else if (psi.collecting.length === 0 || psi.collecting.length > MAX_TABLE_PACKETS) return null;
    psi.collecting.push(buf.slice(off, off + TS_PACKET_SIZE));
    const section = psi.assembler.push(buf, off);
    if (!section) return null;
    psi.packets = psi.collecting;
    psi.collecting = [];
    psi.crcAt = psi.packets.length === 1 ? singlePacketCrcOffset(psi.packets[0]) : -1;
    const n = section.length;
    const crc = ((section[n - 4] << 24) | (section[n - 3] << 16) | (section[n - 2] << 8) | section[n - 1]) >>> 0;
    if (crc === psi.crc) return null; // the same table repeated
    if (role === ROLE_PAT) {
      if (this.#applyPat(section)) psi.crc = crc;
      return null;
    }
    const pmt = parsePmt(section);
    if (!pmt) {
      this.#logger?.warn('unusable PMT skipped', { pid: p });
      return null;
    }
    psi.crc = crc;
    return this.#applyPmt(pmt, p);
  }

  /** False when the PAT was unusable (and is to be parsed again when it repeats). */
  #applyPat(section: Uint8Array): boolean {
    const programs = parsePat(section);
    if (!programs || programs.length === 0) return false;
    const pmtPid = programs[0].pmtPid;
    if (pmtPid === PAT_PID || pmtPid === NULL_PID) {
      this.#logger?.warn('PAT names an impossible PMT PID; skipped', { pmtPid });
      return false;
    }
    if (pmtPid !== this.#pmtPid) {
      if (this.#pmtPid >= 0) {
        this.roles[this.#pmtPid] = ROLE_NONE;
        this.#psi.delete(this.#pmtPid);
      }
      // A PID the old program used for media is a table now.
      if (this.#kinds.delete(pmtPid)) this.#onMediaDropped(pmtPid);
      this.#pmtPid = pmtPid;
      this.roles[pmtPid] = ROLE_PMT;
    }
    return true;
  }

  #applyPmt(pmt: Pmt, p: number): ProgramChange {
    const previous = this.#pmt;
    this.#pmt = pmt;
    for (const pidOf of this.#kinds.keys()) {
      this.roles[pidOf] = ROLE_NONE;
      this.#onMediaDropped(pidOf);
    }
    this.#kinds.clear();
    let videoPid = -1;
    let audioPid = -1;
    for (const s of pmt.streams) {
      // A stream on the PAT, PMT or null PID would take over a table's role: a broken PMT.
      if (s.pid === PAT_PID || s.pid === p || s.pid === NULL_PID) continue;
      const kind = mediaKind(s.streamType);
      if (isVideoKind(kind) && videoPid < 0) {
        videoPid = s.pid;
        this.#videoKind = kind;
        this.roles[s.pid] = ROLE_VIDEO;
        this.#kinds.set(s.pid, kind);
      } else if (isAudioKind(kind)) {
        if (audioPid < 0) audioPid = s.pid;
        this.roles[s.pid] = ROLE_AUDIO;
        this.#kinds.set(s.pid, kind);
      }
    }
    const videoChanged = videoPid !== this.#videoPid;
    this.#videoPid = videoPid;
    this.#clockPid = videoPid >= 0 ? videoPid : audioPid;
    const streams = pmt.streams.map((s) => `${s.pid}:0x${s.streamType.toString(16)}`).join(' ');
    if (previous) this.#logger?.info('program changed (new PMT)', { pid: p, version: pmt.version, streams });
    else this.#logger?.info('program found', { pid: p, version: pmt.version, streams });
    if (this.#clockPid < 0) this.#logger?.warn('no H.264, H.265, AAC or MP3 stream in the program: nothing to cut on', { streams });
    return { videoChanged, replaced: previous !== null };
  }
}
