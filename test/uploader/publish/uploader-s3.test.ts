/**
 * The uploader against a real S3-compatible store (s3rver on 127.0.0.1:0) over real TCP.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { until } from '../../support/until';
import { FakeStream, getObject, listedUris, PersistentClient, sendOriginal, startHarness, type Harness } from '../../support/uploader-rig';

// The exact bytes the 2009 C segmenter sent: one message per connection, no line end.
const ORIGINAL = 'stream-128k.m3u8, /tmp/, 10, sample_128k, http://cdn.example/stream0001/, 1, 3, 0, mybucket, stream0001';

const harnesses: Harness[] = [];
after(async () => {
  for (const h of harnesses) await h.close();
});

async function harness(options: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  const h = await startHarness(options);
  harnesses.push(h);
  return h;
}

function stream(h: Harness, name: string, extra: { bucket?: string; httpPrefix?: string; segmentDuration?: number } = {}): FakeStream {
  return new FakeStream(h.dir, {
    index: `${name}.m3u8`,
    segmentDuration: extra.segmentDuration ?? 2,
    outputPrefix: name,
    httpPrefix: extra.httpPrefix ?? `http://cdn.example/${name}/`,
    firstSegment: 1,
    bucketName: extra.bucket ?? 'mybucket',
    keyPrefix: `live/${name}`,
  });
}

async function playlistText(h: Harness, bucket: string, key: string): Promise<string | undefined> {
  const r = await getObject(h.store, bucket, key);
  return r.status === 200 ? r.body.toString('utf8') : undefined;
}

test('the original C segmenter message: segment then playlist stored, with types, caching and public-read', async () => {
  const h = await harness();
  const segmentFile = '/tmp/sample_128k-00003.ts';
  const bytes = Buffer.from(`original-framing segment ${process.pid}\n`.repeat(100));
  await writeFile(segmentFile, bytes);
  try {
    const reply = await sendOriginal(h.service.address.port, ORIGINAL);
    assert.equal(reply, '', 'a good message gets no error line');
    await until(async () => (await playlistText(h, 'mybucket', 'stream0001/stream-128k.m3u8')) !== undefined);
    assert.equal(
      await playlistText(h, 'mybucket', 'stream0001/stream-128k.m3u8'),
      '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:3\n#EXT-X-INDEPENDENT-SEGMENTS\n' +
        '#EXTINF:10.000,\nhttp://cdn.example/stream0001/sample_128k-00003.ts\n',
    );
    const seg = await getObject(h.store, 'mybucket', 'stream0001/sample_128k-00003.ts');
    assert.equal(seg.status, 200);
    assert.deepEqual(seg.body, bytes);
    assert.equal(seg.headers.get('content-type'), 'video/MP2T');

    const puts = h.requests.filter((r) => r.method === 'PUT');
    assert.deepEqual(puts.map((r) => r.path), ['/mybucket/stream0001/sample_128k-00003.ts', '/mybucket/stream0001/stream-128k.m3u8']);
    const [segmentPut, playlistPut] = puts;
    assert.equal(segmentPut.headers['content-type'], 'video/MP2T');
    assert.equal(segmentPut.headers['cache-control'], 'public, max-age=86400, immutable');
    assert.equal(segmentPut.headers['x-amz-acl'], 'public-read');
    assert.equal(playlistPut.headers['content-type'], 'application/vnd.apple.mpegurl');
    assert.equal(playlistPut.headers['cache-control'], 'max-age=5', 'half of the 10 s target duration');
    assert.equal(playlistPut.headers['x-amz-acl'], 'public-read');
    assert.deepEqual(h.stored, ['PUT /mybucket/stream0001/sample_128k-00003.ts', 'PUT /mybucket/stream0001/stream-128k.m3u8']);
  } finally {
    await rm(segmentFile, { force: true });
  }
});

test('--acl none sends no ACL header; a 2 s target gets max-age=1 on the playlist', async () => {
  const h = await harness({ acl: 'none' });
  const s = stream(h, 'noacl');
  await s.cut(1);
  await sendOriginal(h.service.address.port, s.message(1));
  await h.service.uploader.onIdle();
  const puts = h.requests.filter((r) => r.method === 'PUT');
  assert.equal(puts.length, 2);
  for (const put of puts) assert.equal(put.headers['x-amz-acl'], undefined);
  assert.equal(puts[1].headers['cache-control'], 'max-age=1');
});

test('a persistent connection carrying many messages: window slides, ENDLIST at the end, every segment byte-identical; a watcher never sees a listed segment missing', async () => {
  const h = await harness({ window: 5 });
  const s = stream(h, 'persist');
  const playlistKey = 'live/persist/persist.m3u8';
  const problems: string[] = [];
  const sequences: number[] = [];
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      // s3rver rewrites objects in place (S3 PUTs are atomic): a GET racing a playlist PUT can be
      // cut off. That read is simply retried; segments are never rewritten, so theirs cannot.
      const text = await playlistText(h, 'mybucket', playlistKey).catch(() => undefined);
      const sequence = text === undefined ? null : /#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text);
      if (text !== undefined && sequence !== null) {
        sequences.push(Number(sequence[1]));
        for (const uri of listedUris(text)) {
          const key = uri.replace('http://cdn.example/persist/', 'live/persist/');
          const seg = await getObject(h.store, 'mybucket', key);
          if (seg.status !== 200) problems.push(`${uri} listed but GET gave ${seg.status}`);
        }
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();

  const client = await PersistentClient.connect(h.service.address.port);
  const last = 12;
  for (let n = 1; n <= last; n++) {
    await s.cut(n);
    client.send(s.message(n, n === last, { duration: 2 + n / 1000 }));
    await new Promise((r) => setTimeout(r, 15));
  }
  await until(async () => /#EXT-X-ENDLIST/.test((await playlistText(h, 'mybucket', playlistKey)) ?? ''));
  watching = false;
  await watcher;
  await client.close();

  assert.deepEqual(problems, []);
  assert.ok(sequences.length > 0, 'the watcher saw the playlist');
  for (let i = 1; i < sequences.length; i++) assert.ok(sequences[i] >= sequences[i - 1], 'media sequence never goes back');
  assert.equal(client.replies, '');
  const text = (await playlistText(h, 'mybucket', playlistKey))!;
  assert.match(text, /^#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:8\n#EXT-X-INDEPENDENT-SEGMENTS\n/);
  assert.deepEqual(listedUris(text), [8, 9, 10, 11, 12].map((n) => `http://cdn.example/persist/persist-${String(n).padStart(5, '0')}.ts`));
  assert.match(text, /#EXTINF:2\.012,\nhttp:\/\/cdn\.example\/persist\/persist-00012\.ts\n#EXT-X-ENDLIST\n$/);
  for (let n = 1; n <= last; n++) {
    const seg = await getObject(h.store, 'mybucket', `live/persist/persist-${String(n).padStart(5, '0')}.ts`);
    assert.deepEqual(seg.body, s.content(n), `segment ${n}`);
  }
});

test('two streams interleaved, one message per connection, each into its own bucket and playlist', async () => {
  const h = await harness({ buckets: ['bucket-a', 'bucket-b'], window: 3 });
  const a = stream(h, 'alpha', { bucket: 'bucket-a' });
  const b = stream(h, 'beta', { bucket: 'bucket-b', segmentDuration: 4 });
  const sends: Array<Promise<string>> = [];
  for (let n = 1; n <= 6; n++) {
    await a.cut(n);
    await b.cut(n + 100);
    sends.push(sendOriginal(h.service.address.port, a.message(n, n === 6)));
    sends.push(sendOriginal(h.service.address.port, b.message(n + 100, n === 6)));
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.deepEqual(await Promise.all(sends), Array(12).fill(''));
  await h.service.uploader.onIdle();
  const pa = (await playlistText(h, 'bucket-a', 'live/alpha/alpha.m3u8'))!;
  const pb = (await playlistText(h, 'bucket-b', 'live/beta/beta.m3u8'))!;
  assert.deepEqual(listedUris(pa), [4, 5, 6].map((n) => `http://cdn.example/alpha/alpha-0000${n}.ts`));
  assert.deepEqual(listedUris(pb), [104, 105, 106].map((n) => `http://cdn.example/beta/beta-00${n}.ts`));
  assert.match(pa, /#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:4\n/);
  assert.match(pb, /#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:104\n/);
  assert.match(pa, /#EXT-X-ENDLIST\n$/);
  assert.match(pb, /#EXT-X-ENDLIST\n$/);
  for (let n = 1; n <= 6; n++) {
    assert.deepEqual((await getObject(h.store, 'bucket-a', `live/alpha/alpha-0000${n}.ts`)).body, a.content(n));
    assert.deepEqual((await getObject(h.store, 'bucket-b', `live/beta/beta-00${n + 100}.ts`)).body, b.content(n + 100));
  }
  // Each stream's objects were stored in its own arrival order, segment before playlist.
  for (const [bucket, name, numbers] of [['bucket-a', 'alpha', [1, 2, 3, 4, 5, 6]], ['bucket-b', 'beta', [101, 102, 103, 104, 105, 106]]] as const) {
    const own = h.stored.filter((p) => p.startsWith(`PUT /${bucket}/`) && p.endsWith('.ts'));
    assert.deepEqual(own, numbers.map((n) => `PUT /${bucket}/live/${name}/${name}-${String(n).padStart(5, '0')}.ts`));
  }
});

test('malformed messages: ERR line with the reason, the connection stays usable, other streams unaffected', async () => {
  const h = await harness();
  const good = stream(h, 'good');
  const other = stream(h, 'other');
  const client = await PersistentClient.connect(h.service.address.port);
  await good.cut(1);
  await other.cut(1);
  client.send('this is not an index message');
  client.send('stream.m3u8, /tmp/, ten, p, http://x/, 1, 2, 0, b, k');
  client.send(good.message(1, true));
  const [first, second] = await client.waitForLines(2);
  assert.match(first, /^ERR expected at least 10 comma-separated fields, got 1$/);
  assert.match(second, /^ERR segment_duration must be a whole number, got "ten"$/);
  // The original framing gets its ERR before the close too.
  assert.match(await sendOriginal(h.service.address.port, 'garbage, 1'), /^ERR expected at least 10/);
  assert.equal(await sendOriginal(h.service.address.port, other.message(1, true)), '');
  await h.service.uploader.onIdle();
  assert.match((await playlistText(h, 'mybucket', 'live/good/good.m3u8'))!, /good-00001\.ts\n#EXT-X-ENDLIST\n$/);
  assert.match((await playlistText(h, 'mybucket', 'live/other/other.m3u8'))!, /other-00001\.ts\n#EXT-X-ENDLIST\n$/);
  assert.equal(h.service.server.malformed, 3);
  assert.equal(client.replies.split('\n').length - 1, 2, 'no reply to the good message');
  await client.close();
});

test('a segment file that does not exist is never listed; the stream goes on', async () => {
  const h = await harness();
  const s = stream(h, 'gap');
  await s.cut(1);
  await s.cut(3);
  const client = await PersistentClient.connect(h.service.address.port);
  for (const n of [1, 2, 3]) client.send(s.message(n, n === 3));
  await until(async () => /ENDLIST/.test((await playlistText(h, 'mybucket', 'live/gap/gap.m3u8')) ?? ''));
  assert.deepEqual(listedUris((await playlistText(h, 'mybucket', 'live/gap/gap.m3u8'))!), [
    'http://cdn.example/gap/gap-00001.ts',
    'http://cdn.example/gap/gap-00003.ts',
  ]);
  assert.equal(h.service.uploader.stats.segmentsSkipped, 1);
  await client.close();
});

test('the store down for a while: uploads retried, nothing lost, order kept', async () => {
  const h = await harness({ window: 4, retryMaxMs: 300 });
  const s = stream(h, 'outage');
  const key = 'live/outage/outage.m3u8';
  const client = await PersistentClient.connect(h.service.address.port);
  for (let n = 1; n <= 3; n++) {
    await s.cut(n);
    client.send(s.message(n));
  }
  await until(async () => /outage-00003\.ts/.test((await playlistText(h, 'mybucket', key)) ?? ''));
  await h.store.close();
  for (let n = 4; n <= 9; n++) {
    await s.cut(n);
    client.send(s.message(n, n === 9));
  }
  await until(() => h.service.uploader.stats.retries >= 3);
  await new Promise((r) => setTimeout(r, 1500));
  await h.restartStore();
  await until(async () => /#EXT-X-ENDLIST/.test((await playlistText(h, 'mybucket', key).catch(() => undefined)) ?? ''));
  await h.service.uploader.onIdle();

  const text = (await playlistText(h, 'mybucket', key))!;
  assert.deepEqual(listedUris(text), [6, 7, 8, 9].map((n) => `http://cdn.example/outage/outage-0000${n}.ts`));
  assert.match(text, /#EXT-X-MEDIA-SEQUENCE:6\n/);
  for (let n = 1; n <= 9; n++) {
    assert.deepEqual((await getObject(h.store, 'mybucket', `live/outage/outage-0000${n}.ts`)).body, s.content(n), `segment ${n}`);
  }
  const segmentOrder = h.stored.filter((p) => p.endsWith('.ts')).map((p) => Number(/-(\d{5})\.ts$/.exec(p)![1]));
  assert.deepEqual(segmentOrder, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // No playlist was stored before every segment it lists.
  assert.ok(h.storedPlaylists.length >= 2);
  for (const { at, text: version } of h.storedPlaylists) {
    const storedBefore = new Set(h.stored.slice(0, at));
    for (const uri of listedUris(version)) {
      assert.ok(storedBefore.has(`PUT /mybucket/${uri.replace('http://cdn.example/outage/', 'live/outage/')}`), `${uri} stored before listed`);
    }
  }
  assert.ok(h.service.uploader.stats.retries >= 3);
  await client.close();
});

test('a segment larger than the multipart threshold goes up in parts and is stored byte-identical', async () => {
  const h = await harness();
  const s = stream(h, 'big');
  const bytes = Buffer.alloc(17 * 1024 * 1024);
  for (let i = 0; i < bytes.length; i += 4096) bytes.writeUInt32BE(i, i);
  await writeFile(path.join(h.dir, 'big-00001.ts'), bytes);
  await sendOriginal(h.service.address.port, s.message(1, true));
  await h.service.uploader.onIdle();
  const stored = await getObject(h.store, 'mybucket', 'live/big/big-00001.ts');
  assert.equal(stored.status, 200);
  assert.ok(stored.body.equals(bytes), 'byte-identical');
  assert.ok(h.requests.some((r) => r.method === 'POST' && r.path === '/mybucket/live/big/big-00001.ts'), 'a multipart upload was started');
  assert.ok(h.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('big-00001.ts')).length >= 2, 'in parts');
  const create = h.requests.find((r) => r.method === 'POST')!;
  assert.equal(create.headers['content-type'], 'video/MP2T');
  assert.equal(create.headers['x-amz-acl'], 'public-read');
  assert.match((await playlistText(h, 'mybucket', 'live/big/big.m3u8'))!, /big-00001\.ts\n#EXT-X-ENDLIST\n$/);
});
