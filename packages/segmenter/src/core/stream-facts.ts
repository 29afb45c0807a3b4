/**
 * What a master playlist needs to know about a stream — RFC 6381 codecs, resolution, frame
 * rate — gathered from parameter sets and audio frame headers as they go by.
 */
import {
  aacCodecString,
  h264CodecString,
  h265CodecString,
  mpegAudioCodecString,
  parseAdtsHeader,
  parseH264Sps,
  parseH265Sps,
  parseMpegAudioHeader,
} from '@hlsrelay/mpegts';

export interface StreamFacts {
  codecs?: string;
  resolution?: string;
  frameRate?: number;
}

export class StreamFactsCollector {
  #videoCodec?: string;
  #audioCodec?: string;
  #resolution?: string;
  #frameRate?: number;
  /** Copy of the last SPS parsed, so an unchanged SPS is not parsed again at every keyframe. */
  #lastSps?: Uint8Array;

  /** Reads an SPS NAL unit of the stream's video codec; returns true when the facts changed. */
  observeSps(codec: 'h264' | 'h265', nal: Uint8Array): boolean {
    if (this.#lastSps && Buffer.compare(this.#lastSps, nal) === 0) return false;
    this.#lastSps = nal.slice();
    const before = `${this.#videoCodec} ${this.#resolution} ${this.#frameRate}`;
    if (codec === 'h264') {
      const sps = parseH264Sps(nal);
      if (!sps) return false;
      this.#videoCodec = h264CodecString(sps);
      this.#resolution = `${sps.width}x${sps.height}`;
      this.#frameRate = sps.frameRate;
    } else {
      const sps = parseH265Sps(nal);
      if (!sps) return false;
      this.#videoCodec = h265CodecString(sps);
      this.#resolution = `${sps.width}x${sps.height}`;
      this.#frameRate = undefined;
    }
    return before !== `${this.#videoCodec} ${this.#resolution} ${this.#frameRate}`;
  }

  /** Reads the first audio frame header of a PES; only the first audio stream names the codec. */
  observeAudio(codec: 'aac' | 'mp3', es: Uint8Array): void {
    if (this.#audioCodec) return;
    if (codec === 'aac') {
      const h = parseAdtsHeader(es);
      if (h) this.#audioCodec = aacCodecString(h);
    } else {
      const h = parseMpegAudioHeader(es);
      if (h) this.#audioCodec = mpegAudioCodecString(h);
    }
  }

  get hasAudioCodec(): boolean {
    return this.#audioCodec !== undefined;
  }

  /** The program changed (a new PMT): forget what belonged to the old streams. */
  reset(): void {
    this.#videoCodec = this.#audioCodec = this.#resolution = this.#frameRate = undefined;
    this.#lastSps = undefined;
  }

  /** Current facts; `measuredFrameRate` stands in when the SPS carries no timing. */
  snapshot(measuredFrameRate?: number): StreamFacts {
    const facts: StreamFacts = {};
    const codecs = [this.#videoCodec, this.#audioCodec].filter((c) => c !== undefined);
    if (codecs.length > 0) facts.codecs = codecs.join(',');
    if (this.#resolution) facts.resolution = this.#resolution;
    const fps = this.#frameRate ?? measuredFrameRate;
    if (fps !== undefined && Number.isFinite(fps) && fps > 0) facts.frameRate = fps;
    return facts;
  }
}
