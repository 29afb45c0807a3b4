import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAdtsSync, PesDemuxer, probeAccessUnit, type ElementaryStream, type PesUnit } from '@hlsrelay/mpegts';
import { fixture } from '../support/paths';

function demux(ts: Uint8Array, chunk: number): { programs: ElementaryStream[][]; units: PesUnit[] } {
  const programs: ElementaryStream[][] = [];
  const units: PesUnit[] = [];
  const d = new PesDemuxer({ program: (s) => programs.push(s), unit: (u) => units.push(u) });
  for (let o = 0; o < ts.length; o += chunk) d.push(ts.subarray(o, o + chunk));
  d.finish();
  return { programs, units };
}

test('whole PES: every H.264 access unit and every AAC PES of the capture, whatever the chunking', () => {
  const ts = fixture('h264-aac.m2ts');
  const { programs, units } = demux(ts, 1000);
  assert.deepEqual(programs, [[{ pid: 0x100, streamType: 0x1b, kind: 'h264' }, { pid: 0x101, streamType: 0x0f, kind: 'aac' }]]);
  const video = units.filter((u) => u.pid === 0x100);
  const audio = units.filter((u) => u.pid === 0x101);
  assert.equal(video.length, 50); // 2 s at 25 fps
  assert.equal(video.filter((u) => probeAccessUnit('h264', u.data, true).kind === 'key').length, 2);
  assert.ok(video.every((u) => u.dts <= u.pts && u.data[0] === 0 && u.data[1] === 0)); // Annex B from the first byte
  assert.equal(audio.length, 4);
  assert.ok(audio.every((u) => isAdtsSync(u.data, 0) && u.pts === u.dts));
  // Bounded audio PES complete on their PES_packet_length; units and bytes do not depend on chunk size.
  const again = demux(ts, 7).units;
  assert.deepEqual(again.map((u) => [u.pid, u.pts, u.data.length]), units.map((u) => [u.pid, u.pts, u.data.length]));
});

test('released PES buffers are filled again by later PES; units not released keep their bytes', () => {
  const ts = fixture('h264-aac.m2ts');
  const reference = demux(ts, 188).units.map((u) => Buffer.from(u.data).toString('hex'));
  // Each unit copied, then released at once: later units land in earlier units' memory.
  const seen: string[] = [];
  const buffers = new Set<ArrayBufferLike>();
  let reused = 0;
  const d = new PesDemuxer({
    program: () => {},
    unit: (u) => {
      seen.push(Buffer.from(u.data).toString('hex'));
      if (buffers.has(u.data.buffer)) reused++;
      buffers.add(u.data.buffer);
      d.release(u.data);
      d.release(u.data); // twice: no effect
    },
  });
  for (let o = 0; o < ts.length; o += 188) d.push(ts.subarray(o, o + 188));
  d.finish();
  assert.deepEqual(seen, reference, 'the same bytes, unit by unit');
  assert.ok(reused > reference.length / 2, `${reused} of ${reference.length} units in a reused buffer`);
  d.release(new Uint8Array(10)); // not the demuxer's: ignored
});

test('pushPackets: runs of whole packets give the same units as push; bytes that are not whole packets are synced as push does', () => {
  const ts = fixture('h264-aac.m2ts');
  const reference = demux(ts, 1000).units.map((u) => [u.pid, u.pts, Buffer.from(u.data).toString('hex')]);
  const run = (cuts: (o: number) => number): unknown[][] => {
    const units: unknown[][] = [];
    const d = new PesDemuxer({ program: () => {}, unit: (u) => units.push([u.pid, u.pts, Buffer.from(u.data).toString('hex')]) });
    for (let o = 0; o < ts.length; ) {
      const end = Math.min(ts.length, cuts(o));
      d.pushPackets(ts.subarray(o, end));
      o = end;
    }
    d.finish();
    return units;
  };
  // Runs of 1 to 9 packets, as a segmenter hands them on.
  let k = 0;
  assert.deepEqual(run((o) => o + 188 * (1 + (k++ % 9))), reference);
  // Cut inside packets: every piece after the first starts mid-packet and is taken as push takes it.
  assert.deepEqual(run((o) => o + 1000), reference);
});
