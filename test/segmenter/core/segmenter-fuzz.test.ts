/**
 * The segmenter core against bytes no encoder would send: random data, mutated captures (flipped
 * bytes, truncation, holes, repeats, garbage, wrong PIDs, no PAT, PTS jumps and wraps), cut into
 * chunks anywhere. Nothing may escape as an exception, memory held back stays under its cap, what
 * comes out stays well-formed, and the operator is told what was wrong.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatMessage, parseMessage } from '@hlsrelay/protocol';
import { PAT_PID, TS_PACKET_SIZE } from '@hlsrelay/mpegts';
import { MAX_HELD_BYTES, TsSegmenter, type CompletedSegment, type SegmentSink, type SegmentStart } from '@hlsrelay/segmenter';
import { fixture } from '../../support/paths';
import { concat, pesBytes, psiPacket, patSection, pmtSection, tsPacket } from '../../support/ts-packets';
import { captureLog } from '../../support/log-capture';
import { chunked, mutate, mutationArb } from '../../support/ts-mutations';

const FIXTURES = ['h264-aac.m2ts', 'h265.m2ts', 'aac.m2ts', 'mp3.m2ts', 'h264-pts-wrap.m2ts'].map((name) => ({ name, bytes: fixture(name) }));

/** Checks the sink contract as it goes and keeps only counts (bounded whatever the input). */
class CheckingSink implements SegmentSink {
  open = false;
  segments = 0;
  bytes = 0;
  completed: CompletedSegment[] = [];
  begin(start: SegmentStart): void {
    assert.equal(this.open, false, 'begin() while a segment is open');
    assert.ok(Number.isInteger(start.startPts) && start.startPts >= 0 && start.startPts < 2 ** 33, `startPts ${start.startPts}`);
    assert.ok(Number.isFinite(start.programDateTime.getTime()), 'programDateTime is a real date');
    this.open = true;
    this.segments++;
  }
  write(bytes: Uint8Array): void {
    assert.equal(this.open, true, 'write() outside a segment');
    assert.equal(bytes.length % TS_PACKET_SIZE, 0, 'whole packets only');
    this.bytes += bytes.length;
  }
  end(segment: CompletedSegment): void {
    assert.equal(this.open, true, 'end() without begin()');
    assert.ok(Number.isFinite(segment.duration) && segment.duration >= 0, `duration ${segment.duration}`);
    this.open = false;
    if (this.completed.length < 64) this.completed.push(segment);
  }
}

/** Runs the core over the chunks; asserts the invariants that must hold for any input. */
function run(chunks: Uint8Array[], logger = captureLog().logger): { sink: CheckingSink; core: TsSegmenter; maxHeld: number } {
  const sink = new CheckingSink();
  const core = new TsSegmenter(sink, { targetDuration: 1, now: () => 1_700_000_000_000, logger });
  let maxHeld = 0;
  for (const chunk of chunks) {
    core.push(chunk);
    maxHeld = Math.max(maxHeld, core.heldBytes);
    assert.ok(core.heldBytes <= MAX_HELD_BYTES, `held ${core.heldBytes} bytes`);
  }
  core.finish();
  assert.equal(sink.open, false, 'the last segment was ended');
  const input = chunks.reduce((n, c) => n + c.length, 0);
  // Output is input minus dropped bytes plus one PAT and PMT copy per segment.
  assert.ok(sink.bytes <= input + sink.segments * 16 * TS_PACKET_SIZE, `output ${sink.bytes} for input ${input}`);
  // Whatever the media said about itself must still make a message the uploader accepts.
  for (const s of sink.completed) {
    const line = formatMessage({
      index: 'fuzz.m3u8', outputDirectory: '/tmp', segmentDuration: 1, outputPrefix: 'fuzz', httpPrefix: '',
      firstSegment: 1, lastSegment: 1, end: s.final, bucketName: 'bucket', keyPrefix: '',
      ext: { duration: Math.round(s.duration * 1000) / 1000, programDateTime: s.programDateTime, discontinuity: s.discontinuity, ...s.stream },
    });
    parseMessage(line);
  }
  return { sink, core, maxHeld };
}

const cutsArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 });
const FUZZ = { numRuns: 300, interruptAfterTimeLimit: 20_000 };

test('random bytes in random chunks: no exception, bounded, nothing segmented', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 * 1024 }), cutsArb, (bytes, cuts) => {
      run(chunked(bytes, cuts));
    }),
    FUZZ,
  );
});

test('random bytes dressed as packets (sync bytes in place): no exception, bounded', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ minLength: 188, maxLength: 188 }), { maxLength: 300 }), cutsArb, (packets, cuts) => {
      for (const p of packets) p[0] = 0x47;
      // A real PAT first, so the random packets reach the PMT and PES code too.
      run(chunked(concat([psiPacket(PAT_PID, patSection(0x1000)), ...packets]), cuts));
    }),
    FUZZ,
  );
});

test('mutated captures (flips, holes, repeats, garbage, wrong PIDs, no PAT, PTS jumps and wraps): no exception, bounded, well-formed output', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: FIXTURES.length - 1 }),
      fc.array(mutationArb, { minLength: 1, maxLength: 6 }),
      cutsArb,
      (which, mutations, cuts) => {
        const bytes = mutations.reduce((b, m) => mutate(b, m), FIXTURES[which].bytes);
        run(chunked(bytes, cuts));
      },
    ),
    FUZZ,
  );
});

test('two different captures back to back (PMT change, codec change, PTS jump): segments on both sides', () => {
  const log = captureLog();
  const { sink } = run([FIXTURES[0].bytes, FIXTURES[1].bytes, FIXTURES[3].bytes], log.logger);
  assert.ok(sink.segments >= 3, `segments: ${sink.segments}`);
  assert.ok(sink.completed.some((s) => s.discontinuity), 'a discontinuity is marked');
});

test('empty input and input without a PAT: no segment, and the log says why', async () => {
  for (const [bytes, reason] of [
    [new Uint8Array(0), /no input at all/],
    [mutate(FIXTURES[0].bytes, { kind: 'drop-pat' }), /no PAT/],
    [new Uint8Array(50_000).fill(0xab), /no MPEG-TS packets/],
    [concat([psiPacket(PAT_PID, patSection(0x1000)), psiPacket(0x1000, pmtSection([{ type: 0x06, pid: 0x100 }]))]), /no H\.264, H\.265, AAC or MP3/],
  ] as const) {
    const log = captureLog();
    const { sink } = run([bytes], log.logger);
    await log.settle();
    assert.equal(sink.segments, 0);
    const warning = log.entries.find((e) => e.message === 'input ended before any segment could start');
    assert.ok(warning, `a warning for ${reason}`);
    assert.match(String(warning.reason), reason);
  }
});

test('a video PID that falls silent mid-unit while audio goes on: held bytes stay under the cap', async () => {
  // PAT, PMT (H.264 video 0x100, AAC audio 0x101), one video PES start with no slice, then only audio.
  const head = concat([
    psiPacket(PAT_PID, patSection(0x1000)),
    psiPacket(0x1000, pmtSection([{ type: 0x1b, pid: 0x100 }, { type: 0x0f, pid: 0x101 }])),
    tsPacket({ pid: 0x100, pusi: true, rai: true, payload: pesBytes(0xe0, 90_000, [0, 0, 0, 1, 0x09, 0xf0]) }),
  ]);
  const audio = tsPacket({ pid: 0x101, pusi: false, payload: new Array(184).fill(0x55) });
  const chunk = concat(new Array(5000).fill(audio)); // ~0.9 MB
  const log = captureLog();
  const sink = new CheckingSink();
  const core = new TsSegmenter(sink, { targetDuration: 1, logger: log.logger });
  core.push(head);
  let maxHeld = 0;
  for (let i = 0; i < 30; i++) {
    core.push(chunk);
    maxHeld = Math.max(maxHeld, core.heldBytes);
  }
  core.finish();
  await log.settle();
  assert.ok(maxHeld <= MAX_HELD_BYTES, `held at most ${maxHeld}`);
  assert.ok(maxHeld > 0, 'the unit was held while it was open');
  assert.ok(log.entries.some((e) => /video access unit unfinished/.test(e.message)), 'the release is logged');
  // Released on its random-access flag: a segment began and received the audio.
  assert.equal(sink.segments, 1);
  assert.ok(sink.bytes > 20 * chunk.length, `bytes passed on: ${sink.bytes}`);
});

test('a PAT that names PID 0 or the null PID as its PMT is skipped; the PAT keeps working', () => {
  const bytes = concat([
    psiPacket(PAT_PID, patSection(0x0000)),
    psiPacket(PAT_PID, patSection(0x1fff, 1)),
    FIXTURES[0].bytes,
  ]);
  const { sink } = run([bytes]);
  assert.ok(sink.segments >= 2, `segments: ${sink.segments}`);
});
