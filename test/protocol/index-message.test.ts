import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  formatMessage,
  parseMessage,
  encodeValue,
  decodeValue,
  segmentFileName,
  messageSegmentFileName,
  initFileName,
  ProtocolError,
  type IndexMessage,
} from '@hlsrelay/protocol';

/** What the 2009 C segmenter sent: sprintf("%s, %s, %d, %s, %s, %d, %d, %d, %s, %s", ...). */
const ORIGINAL = 'stream-128k.m3u8, /tmp/, 10, sample_128k, http://cdn.example/stream0001/, 1, 3, 0, mybucket, stream0001';

const base: IndexMessage = {
  index: 'stream-128k.m3u8',
  outputDirectory: '/tmp/',
  segmentDuration: 10,
  outputPrefix: 'sample_128k',
  httpPrefix: 'http://cdn.example/stream0001/',
  firstSegment: 1,
  lastSegment: 3,
  end: false,
  bucketName: 'mybucket',
  keyPrefix: 'stream0001',
  ext: {},
};

test('parses the exact string the original C segmenter sent', () => {
  assert.deepEqual(parseMessage(ORIGINAL), base);
});

test('formats the ten original fields exactly as the C segmenter did', () => {
  assert.equal(formatMessage(base), ORIGINAL);
});

test('golden message with every extension field', () => {
  const m: IndexMessage = {
    ...base,
    lastSegment: 12,
    end: true,
    ext: {
      duration: 10.01,
      programDateTime: new Date('2026-11-25T17:00:00.040Z'),
      discontinuity: true,
      size: 1234567,
      codecs: 'avc1.64001f,mp4a.40.2',
      resolution: '1280x720',
      frameRate: 29.97,
    },
  };
  const golden =
    'stream-128k.m3u8, /tmp/, 10, sample_128k, http://cdn.example/stream0001/, 1, 12, 1, mybucket, stream0001, ' +
    'duration=10.010, pdt=2026-11-25T17:00:00.040Z, discontinuity=1, size=1234567, ' +
    'codecs=avc1.64001f%2Cmp4a.40.2, resolution=1280x720, frame_rate=29.97';
  assert.equal(formatMessage(m), golden);
  assert.deepEqual(parseMessage(golden), m);
});

test('golden fMP4 message: format and init follow the original ten, which stay unchanged', () => {
  const m: IndexMessage = {
    ...base,
    lastSegment: 12,
    ext: { duration: 2, size: 4096, codecs: 'hvc1.1.6.L93.B0,mp4a.40.2', format: 'fmp4', init: 'sample_128k-init-2.mp4' },
  };
  const golden =
    'stream-128k.m3u8, /tmp/, 10, sample_128k, http://cdn.example/stream0001/, 1, 12, 0, mybucket, stream0001, ' +
    'duration=2.000, size=4096, codecs=hvc1.1.6.L93.B0%2Cmp4a.40.2, format=fmp4, init=sample_128k-init-2.mp4';
  assert.equal(formatMessage(m), golden);
  assert.deepEqual(parseMessage(golden), m);
  // What a 2009 uploader reads: the first ten comma-separated fields, exactly the TS message's.
  assert.deepEqual(golden.split(/,\s*/).slice(0, 10), formatMessage({ ...base, lastSegment: 12 }).split(/,\s*/));
  // format=ts is the default and is never written: TS messages are what they always were.
  assert.equal(formatMessage({ ...base, ext: { format: 'ts' } }), ORIGINAL);
});

test('an uploader that splits on commas still finds the ten original fields first', () => {
  const line = formatMessage({ ...base, ext: { codecs: 'avc1.64001f,mp4a.40.2', duration: 9.5 } });
  // The Ruby uploader: value.strip.split(%r{,\s*}) and took the first ten.
  const ten = line.split(/,\s*/).slice(0, 10);
  assert.deepEqual(ten, ORIGINAL.split(/,\s*/));
});

test('pts: the first PTS travels as a whole number of 90 kHz ticks after the ten fields, which stay the original ones', () => {
  const m: IndexMessage = { ...base, ext: { duration: 2, programDateTime: new Date('2026-12-02T13:00:00.000Z'), pts: 2 ** 33 - 1 } };
  const golden = `${ORIGINAL}, duration=2.000, pdt=2026-12-02T13:00:00.000Z, pts=8589934591`;
  assert.equal(formatMessage(m), golden);
  assert.deepEqual(parseMessage(golden), m);
  // A 2009 uploader takes the first ten fields: exactly the message without pts.
  assert.deepEqual(golden.split(/,\s*/).slice(0, 10), ORIGINAL.split(/,\s*/));
  assert.deepEqual(parseMessage(`${ORIGINAL}, pts=0`).ext, { pts: 0 });
  assert.throws(() => formatMessage({ ...base, ext: { pts: 2 ** 33 } }), /pts must be a whole number of 90 kHz ticks below 2\^33, got 8589934592/);
  assert.throws(() => formatMessage({ ...base, ext: { pts: 1.5 } }), /pts must be/);
});

test('unknown extension fields are kept, not rejected', () => {
  const m = parseMessage(`${ORIGINAL}, master=index.m3u8, future_flag=x%2Cy`);
  assert.equal(m.ext.master, 'index.m3u8');
  assert.deepEqual(m.ext.unknown, { future_flag: 'x,y' });
  assert.equal(formatMessage(m), `${ORIGINAL}, master=index.m3u8, future_flag=x%2Cy`);
});

test('tolerates CRLF, a trailing newline and extra spaces around separators', () => {
  assert.deepEqual(parseMessage(ORIGINAL + '\r\n'), base);
  assert.deepEqual(parseMessage(ORIGINAL.replace(/, /g, ' ,  ')), base);
});

const malformed: Array<[string, string, RegExp]> = [
  ['empty line', '', /at least 10/],
  ['nine fields', 'a, /tmp/, 10, p, http://x/, 1, 3, 0, bucket', /got 9/],
  ['duration not a number', ORIGINAL.replace(', 10,', ', ten,'), /segment_duration must be a whole number, got "ten"/],
  ['negative segment', ORIGINAL.replace(', 3, 0,', ', -3, 0,'), /last_segment must be a whole number, got "-3"/],
  ['end flag 2', ORIGINAL.replace(', 3, 0,', ', 3, 2,'), /end must be 0 or 1, got "2"/],
  ['empty bucket', ORIGINAL.replace('mybucket', ''), /bucket_name is empty/],
  ['extension without =', `${ORIGINAL}, duration`, /not name=value/],
  ['extension bad name', `${ORIGINAL}, Dur ation=1`, /extension name "Dur ation"/],
  ['bad duration', `${ORIGINAL}, duration=-1`, /duration must be seconds/],
  ['bad pdt', `${ORIGINAL}, pdt=yesterday`, /pdt must be an ISO 8601/],
  ['bad codecs', `${ORIGINAL}, codecs=avc1%3Bx`, /RFC 6381/],
  ['master with a slash', `${ORIGINAL}, master=..%2Fother%2Fmaster.m3u8`, /master must be a file name/],
  ['unknown format', `${ORIGINAL}, format=mkv`, /format must be one of ts, fmp4, got "mkv"/],
  ['init with a slash', `${ORIGINAL}, init=..%2Finit.mp4`, /init must be a file name/],
  ['init not .mp4', `${ORIGINAL}, init=a-init.m4s`, /init must be a file name/],
  ['pts not a number', `${ORIGINAL}, pts=soon`, /pts must be a whole number of 90 kHz ticks below 2\^33, got "soon"/],
  ['pts negative', `${ORIGINAL}, pts=-1`, /pts must be a whole number/],
  ['pts past 33 bits', `${ORIGINAL}, pts=8589934592`, /pts must be a whole number of 90 kHz ticks below 2\^33, got 8589934592/],
  ['bad resolution', `${ORIGINAL}, resolution=wide`, /WIDTHxHEIGHT/],
  ['bad escape', `${ORIGINAL}, codecs=%ZZ`, /percent-encoding/],
  ['huge number', ORIGINAL.replace(', 1, 3,', ', 1, 99999999999999999999,'), /last_segment/],
];

for (const [name, line, reason] of malformed) {
  test(`malformed: ${name} → ProtocolError naming the field`, () => {
    assert.throws(() => parseMessage(line), (err: unknown) => err instanceof ProtocolError && reason.test(err.message));
  });
}

test('refuses to format a field the original wire format cannot carry', () => {
  assert.throws(() => formatMessage({ ...base, outputDirectory: '/tmp/a,b' }), /output_directory/);
  assert.throws(() => formatMessage({ ...base, keyPrefix: 'x\ny' }), /key_prefix/);
  assert.throws(() => formatMessage({ ...base, lastSegment: 1.5 }), /last_segment/);
});

test('segment file names are <prefix>-%05u.ts', () => {
  assert.equal(segmentFileName('sample_128k', 1), 'sample_128k-00001.ts');
  assert.equal(segmentFileName('a', 123456), 'a-123456.ts');
  assert.equal(segmentFileName('a', 7, 'fmp4'), 'a-00007.m4s');
  assert.equal(messageSegmentFileName({ ...base, ext: { format: 'fmp4' } }), 'sample_128k-00003.m4s');
  assert.equal(messageSegmentFileName(base), 'sample_128k-00003.ts');
});

test('init file names: -init.mp4 first, then -init-2.mp4 … (never the same name for another init)', () => {
  assert.equal(initFileName('cam'), 'cam-init.mp4');
  assert.equal(initFileName('cam', 1), 'cam-init.mp4');
  assert.equal(initFileName('cam', 2), 'cam-init-2.mp4');
  assert.throws(() => initFileName('cam', 0), /whole number ≥ 1/);
});

const safeText = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !/[,\r\n]/.test(s) && s === s.trim());

test('round trip: any message survives format → parse (property)', () => {
  fc.assert(
    fc.property(
      fc.record({
        index: safeText,
        outputDirectory: safeText,
        segmentDuration: fc.integer({ min: 0, max: 3600 }),
        outputPrefix: safeText,
        httpPrefix: fc.oneof(fc.constant(''), safeText),
        firstSegment: fc.integer({ min: 0, max: 2 ** 31 }),
        lastSegment: fc.integer({ min: 0, max: 2 ** 31 }),
        end: fc.boolean(),
        bucketName: safeText,
        keyPrefix: fc.oneof(fc.constant(''), safeText),
        ext: fc.record(
          {
            duration: fc.integer({ min: 0, max: 10_000_000 }).map((ms) => ms / 1000),
            programDateTime: fc.integer({ min: 0, max: 4_102_444_800_000 }).map((t) => new Date(t)),
            pts: fc.integer({ min: 0, max: 2 ** 33 - 1 }),
            discontinuity: fc.constant(true),
            size: fc.integer({ min: 0, max: 2 ** 40 }),
            codecs: fc.constantFrom('avc1.64001f,mp4a.40.2', 'hvc1.1.6.L93.B0', 'mp4a.40.2'),
            resolution: fc.constantFrom('1920x1080', '320x240'),
            frameRate: fc.constantFrom(25, 29.97, 59.94),
            master: fc.constantFrom('master.m3u8', 'event_1-all.m3u8'),
            unknown: fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/), fc.string({ maxLength: 20 })).map((d) => ({ ...d })).filter(
              (d) => !Object.keys(d).some((k) => ['duration', 'pdt', 'pts', 'discontinuity', 'size', 'codecs', 'resolution', 'frame_rate', 'master'].includes(k)),
            ),
          },
          { requiredKeys: [] },
        ),
      }),
      (m) => {
        const ext = { ...m.ext };
        if (ext.unknown && Object.keys(ext.unknown).length === 0) delete ext.unknown;
        const msg: IndexMessage = { ...m, ext };
        const line = formatMessage(msg);
        assert.ok(!line.includes('\n'), 'a message is one line');
        assert.deepEqual(parseMessage(line), msg);
      },
    ),
    { numRuns: 500 },
  );
});

test('non-ASCII white space is encoded as UTF-8 bytes and decodes back', () => {
  assert.equal(encodeValue('a\u3000b\u00a0'), 'a%E3%80%80b%C2%A0'); // ideographic space, no-break space
  assert.equal(decodeValue(encodeValue('\u3000')), '\u3000');
});

test('value encoding round-trips any string and never emits a separator (property)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
      const e = encodeValue(s);
      assert.ok(!/[,=\r\n]/.test(e));
      assert.equal(e, e.trim());
      assert.equal(decodeValue(e), s);
    }),
    { numRuns: 1000 },
  );
});

test('Unicode whitespace in a value is sent as its UTF-8 bytes and read back unchanged', () => {
  const cases: Array<[string, string]> = [
    ['a\u00a0b', 'a%C2%A0b'], // no-break space: once `%A0`, which decodeURIComponent refuses
    ['a\u2028b', 'a%E2%80%A8b'], // line separator: once `%2028`, read back as " 28"
    ['\ufeffx', '%EF%BB%BFx'], // byte order mark at the start, trimmed by the 2009 parser
    ['x\u3000', 'x%E3%80%80'], // ideographic space at the end
    ['50%, a=b', '50%25%2C%20a%3Db'],
  ];
  for (const [value, wire] of cases) {
    assert.equal(encodeValue(value), wire, JSON.stringify(value));
    assert.equal(decodeValue(wire), value, JSON.stringify(value));
  }
});

test('a message survives the bytes of the wire with any well-formed string in its values (property)', () => {
  fc.assert(
    fc.property(
      // Well-formed strings only: UTF-8 cannot carry a lone surrogate.
      fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).filter((s) => Buffer.from(s, 'utf8').toString('utf8') === s),
      (note) => {
        const m: IndexMessage = { ...base, ext: { unknown: { note } } };
        const bytes = Buffer.from(formatMessage(m) + '\n', 'utf8');
        const line = bytes.toString('utf8');
        assert.equal(line.indexOf('\n'), line.length - 1, 'one line, ended once');
        assert.deepEqual(parseMessage(line.slice(0, -1)).ext.unknown, { note });
      },
    ),
    { numRuns: 2000 },
  );
});
