/** What the segmenter tests record and inspect: a sink keeping segments, a listener keeping messages, TS probes (not a test file). */
import net from 'node:net';
import { payloadOffset, payloadUnitStart, PesAssembler, pid, probeAccessUnit, TS_PACKET_SIZE } from '@hlsrelay/mpegts';
import type { CompletedSegment, SegmentSink, SegmentStart } from '@hlsrelay/segmenter';

/** The stream names of a LiveSegmenter test: 1 s segments of `cam` into `dir`. */
export const cameraNames = (dir: string) => ({
  segmentDuration: 1,
  outputDirectory: dir,
  outputPrefix: 'cam',
  index: 'cam.m3u8',
  httpPrefix: 'https://cdn.example/live/',
  bucketName: 'bucket',
  keyPrefix: 'live',
});

export interface RecordedSegment {
  start: SegmentStart;
  end?: CompletedSegment;
  chunks: Uint8Array[];
  bytes(): Uint8Array;
}

/** A sink that keeps every segment in memory (copies: the views die when push() returns). */
export class RecordingSink implements SegmentSink {
  readonly segments: RecordedSegment[] = [];
  begin(start: SegmentStart): void {
    const chunks: Uint8Array[] = [];
    this.segments.push({ start, chunks, bytes: () => Buffer.concat(chunks) });
  }
  write(bytes: Uint8Array): void {
    this.segments[this.segments.length - 1].chunks.push(bytes.slice());
  }
  end(segment: CompletedSegment): void {
    this.segments[this.segments.length - 1].end = segment;
  }
}

/** PIDs of the first `n` packets. */
export function firstPids(ts: Uint8Array, n: number): number[] {
  const out: number[] = [];
  for (let o = 0; o < ts.length && out.length < n; o += TS_PACKET_SIZE) out.push(pid(ts, o));
  return out;
}

/** Does the first video PES of this segment (PID `videoPid`) hold a keyframe? */
export function firstVideoUnit(ts: Uint8Array, videoPid: number, codec: 'h264' | 'h265'): { atPacket: number; kind: string } {
  const asm = new PesAssembler(64 * 1024);
  let atPacket = -1;
  let head = null;
  for (let o = 0; o < ts.length; o += TS_PACKET_SIZE) {
    if (pid(ts, o) !== videoPid) continue;
    if (payloadUnitStart(ts, o)) {
      if (atPacket >= 0) break;
      atPacket = o / TS_PACKET_SIZE;
    }
    if (atPacket >= 0) head = asm.push(videoPid, ts, o);
  }
  if (!head?.header) return { atPacket, kind: 'none' };
  return { atPacket, kind: probeAccessUnit(codec, head.bytes.subarray(head.header.dataOffset, head.length), true).kind };
}

/** True when the packet at `index` starts a PES of `p`. */
export function startsPes(ts: Uint8Array, index: number, p: number): boolean {
  const o = index * TS_PACKET_SIZE;
  return pid(ts, o) === p && payloadUnitStart(ts, o) && payloadOffset(ts, o) > 0;
}

/** A TCP listener in the original uploader's style: one message per connection, ended by EOF. */
export class MessageListener {
  readonly messages: string[] = [];
  readonly connections: number[] = [];
  #server: net.Server | null = null;
  #waiters: Array<{ n: number; resolve: () => void }> = [];

  async listen(port = 0): Promise<number> {
    const server = net.createServer((socket) => {
      const parts: Buffer[] = [];
      socket.on('data', (d) => parts.push(d));
      socket.on('end', () => {
        this.messages.push(Buffer.concat(parts).toString('utf8'));
        socket.end();
        this.#wake();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    this.#server = server;
    return (server.address() as net.AddressInfo).port;
  }

  /** Resolves once `n` messages have arrived. */
  waitFor(n: number): Promise<void> {
    if (this.messages.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  #wake(): void {
    this.#waiters = this.#waiters.filter((w) => (this.messages.length >= w.n ? (w.resolve(), false) : true));
  }
}
