/**
 * `uploader --status-listen`: /metrics scraped while real streams go through the real command
 * into s3rver — counts match what was sent, a stalled stream's last-segment time stays while a
 * live one's moves on, a store outage shows as errors and retries, spend follows the counters — plus /status
 * and /healthz.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from '../../support/paths';
import { until } from '../../support/until';
import { FakeStream, PersistentClient } from '../../support/uploader-rig';
import { startUploader } from '../../support/uploader-process';
import { tempDir } from '../../support/temp-dir';
import { HeldStore } from '../../support/held-store';

/** Prometheus text → `name{labels}` → value (labels as printed, in prom-client's order). */
function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

/** README's metric table under Operations: each row's metric names and label names. */
function readmeMetricTable(): Map<string, string[]> {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('| metric | labels | what |');
  assert.ok(start >= 0, 'README has the metric table');
  const rows = readme.slice(start).split('\n\n')[0].split('\n').slice(2);
  const table = new Map<string, string[]>();
  for (const row of rows) {
    const [names, labels] = row.split(' | ');
    const ticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((x) => x[1]);
    for (const name of ticked(names)) if (name.startsWith('hlsrelay_')) table.set(name, ticked(labels).sort());
  }
  return table;
}

/** The real exposition's `hlsrelay_` families and the label names their samples carry (`le` aside). */
function exposedFamilies(text: string): Map<string, string[]> {
  const families = new Map<string, Set<string>>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (hlsrelay_\S+) (\S+)$/.exec(line);
    if (type) {
      families.set(type[1], new Set());
      types.set(type[1], type[2]);
      continue;
    }
    const sample = /^(hlsrelay_[a-z_]+?)(?:_bucket|_sum|_count)?(?:\{(.*)\})? /.exec(line);
    if (!sample) continue;
    const family = families.has(sample[1]) ? sample[1] : line.split(/[{ ]/)[0];
    for (const label of (sample[2] ?? '').matchAll(/([a-z_]+)="/g)) if (label[1] !== 'le') families.get(family)?.add(label[1]);
  }
  return new Map([...families].map(([name, labels]) => [name, [...labels].sort()]));
}

const A = 's3://mybucket/live/a.m3u8';
const B = 's3://mybucket/live/b.m3u8';

test('metrics, status and health of a live uploader', async () => {
  const dir = tempDir('status');
  const storeDir = path.join(dir, 'store');
  const store = await HeldStore.start(storeDir, ['mybucket']);
  const up = await startUploader(
    ['--status-listen', '127.0.0.1:0', '--s3-endpoint', store.endpoint, '--s3-path-style', '--acl', 'none', '--retry-max-delay', '0.5'],
  );
  const base = `http://127.0.0.1:${up.statusPort}`;
  const scrape = async () => {
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return parseMetrics(await res.text());
  };
  const status = async () => (await (await fetch(`${base}/status`)).json()) as {
    streams: Array<{ stream: string; lastSegment: number; ended: boolean; queued: number; messages: number; segmentsStored: number; lastSegmentAgeSeconds: number }>;
    targets: Array<{ target: string; uploads: number; bytes: number; retries: number }>;
    estimatedSpend: { putRequests: number; dollars: { total: number } };
  };
  const streamOf = async (id: string) => (await status()).streams.find((s) => s.stream === id);
  try {
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), 'ok\n');
    assert.equal((await fetch(`${base}/nothing-here`)).status, 404);
    assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);

    const common = { segmentDuration: 2, httpPrefix: '', firstSegment: 1, bucketName: 'mybucket', keyPrefix: 'live' };
    const a = new FakeStream(dir, { ...common, index: 'a.m3u8', outputPrefix: 'a' });
    const b = new FakeStream(dir, { ...common, index: 'b.m3u8', outputPrefix: 'b' });
    const client = await PersistentClient.connect(up.port);
    let bytes = 0;
    for (let n = 1; n <= 6; n++) {
      if (n <= 3) {
        await a.cut(n);
        client.send(a.message(n));
        bytes += a.content(n).length;
      }
      await b.cut(n);
      client.send(b.message(n));
      bytes += b.content(n).length;
    }
    await until(async () => (await streamOf(A))?.lastSegment === 3 && (await streamOf(B))?.lastSegment === 6);
    // Listed in the state first, then published: wait for the playlists that publish all nine.
    await until(async () => ((await scrape()).get('hlsrelay_message_to_playlist_seconds_count') ?? 0) >= 9);

    let m = await scrape();
    const target = `s3 (${store.endpoint})`;
    assert.equal(m.get(`hlsrelay_messages_total{stream="${A}"}`), 3);
    assert.equal(m.get(`hlsrelay_messages_total{stream="${B}"}`), 6);
    assert.equal(m.get(`hlsrelay_segments_stored_total{stream="${A}"}`), 3);
    assert.equal(m.get(`hlsrelay_segments_stored_total{stream="${B}"}`), 6);
    assert.equal(m.get(`hlsrelay_uploads_total{target="${target}",kind="segment"}`), 9);
    assert.equal(m.get(`hlsrelay_upload_bytes_total{target="${target}",kind="segment"}`), bytes);
    const playlists = m.get(`hlsrelay_uploads_total{target="${target}",kind="playlist"}`)!;
    // At least one playlist per stream, at most one per message (later messages may be published together).
    assert.ok(playlists >= 2 && playlists <= 9, `playlist PUTs: ${playlists}`);
    // Every message's segment was published by exactly one playlist.
    assert.equal(m.get('hlsrelay_message_to_playlist_seconds_count'), 9);
    assert.equal(m.get(`hlsrelay_upload_errors_total{target="${target}",kind="segment"}`), undefined);
    assert.equal(m.get('hlsrelay_streams{state="live"}'), 2);
    assert.equal(m.get(`hlsrelay_stream_queue_depth{stream="${A}"}`), 0);
    // Spend from the real counters at the 2009 prices: $0.01 per 1,000 PUTs, $0.10 + $0.15 per GB.
    const puts = 9 + playlists;
    const expected = (puts / 1000) * 0.01 + (bytes + Number(m.get(`hlsrelay_upload_bytes_total{target="${target}",kind="playlist"}`))) / 1e9 * 0.25;
    // The parts only: a "total" series beside them would make sum() count everything twice.
    assert.equal(m.get('hlsrelay_estimated_spend_dollars{item="total"}'), undefined);
    const spend = ['s3_put', 's3_transfer_in', 's3_storage_month'].reduce((sum, item) => sum + m.get(`hlsrelay_estimated_spend_dollars{item="${item}"}`)!, 0);
    assert.ok(Math.abs(spend - expected) < 1e-12, `spend ${spend} vs ${expected}`);
    assert.ok(m.has('process_resident_memory_bytes'));
    const build = [...m.keys()].find((k) => k.startsWith('hlsrelay_build_info{'));
    assert.match(build ?? '', /^hlsrelay_build_info\{version="\d+\.\d+\.\d+[^"]*",node="v\d+\.\d+\.\d+"\}$/);
    assert.equal(m.get(`hlsrelay_upload_duration_seconds_count{target="${target}",kind="segment"}`), 9, 'one duration per segment attempt');

    // A stalls; B goes on. A's last-segment time stays put; B's moves past it with its new segment.
    const atA = m.get(`hlsrelay_stream_last_segment_timestamp_seconds{stream="${A}"}`)!;
    assert.ok(Math.abs(atA - Date.now() / 1000) < 600, `a Unix time, got ${atA}`);
    await b.cut(7);
    client.send(b.message(7));
    await until(async () => (await streamOf(B))?.lastSegment === 7);
    m = await scrape();
    assert.equal(m.get(`hlsrelay_stream_last_segment_timestamp_seconds{stream="${A}"}`), atA, 'the stalled stream keeps its time');
    assert.ok(
      m.get(`hlsrelay_stream_last_segment_timestamp_seconds{stream="${B}"}`)! > atA,
      'the live stream stored a segment after the stalled one',
    );

    // The store goes away: A's next segment fails and is retried, visibly, until it is back.
    await store.close();
    await a.cut(4);
    client.send(a.message(4));
    await until(async () => ((await scrape()).get(`hlsrelay_upload_retries_total{target="${target}",kind="segment"}`) ?? 0) >= 2);
    assert.equal((await streamOf(A))?.lastSegment, 3);
    await store.start();
    await until(async () => (await streamOf(A))?.lastSegment === 4);
    m = await scrape();
    const errors = m.get(`hlsrelay_upload_errors_total{target="${target}",kind="segment"}`)!;
    assert.equal(m.get(`hlsrelay_upload_retries_total{target="${target}",kind="segment"}`), errors, 'every failure was retried');
    assert.equal(m.get(`hlsrelay_uploads_total{target="${target}",kind="segment"}`), 11);

    // B ends: /status says so, and an ended stream has no last-segment series (it is not stalled).
    await b.cut(8);
    client.send(b.message(8, true));
    await until(async () => (await streamOf(B))?.ended === true);
    m = await scrape();
    assert.equal(m.get(`hlsrelay_stream_last_segment_timestamp_seconds{stream="${B}"}`), undefined);
    assert.equal(m.get('hlsrelay_streams{state="ended"}'), 1);

    // README's metric table lists exactly the families /metrics has, with the labels they carry.
    const readme = readmeMetricTable();
    const exposed = exposedFamilies(await (await fetch(`${base}/metrics`)).text());
    assert.deepEqual([...readme.keys()].sort(), [...exposed.keys()].sort(), 'README metric table vs /metrics');
    for (const [name, labels] of exposed) {
      // A family with no sample yet (nothing given up) shows no labels to compare.
      if (labels.length > 0) assert.deepEqual(readme.get(name), labels, `README's labels of ${name}`);
    }

    const s = await status();
    assert.deepEqual(
      s.streams.map((x) => [x.stream, x.lastSegment, x.ended, x.messages, x.segmentsStored, x.queued]),
      [
        [A, 4, false, 4, 4, 0],
        [B, 8, true, 8, 8, 0],
      ],
    );
    assert.deepEqual(s.targets.map((t) => [t.target, t.bytes > bytes, t.retries === errors]), [[target, true, true]]);
    // The spend counts every PUT attempt: stored ones and failed ones. Read both sides together
    // once no upload is in flight (B's ended playlist may still be on its way after `ended`).
    await until(async () => {
      const [spend, now] = [(await status()).estimatedSpend.putRequests, await scrape()];
      const puts = now.get(`hlsrelay_uploads_total{target="${target}",kind="segment"}`)! + now.get(`hlsrelay_uploads_total{target="${target}",kind="playlist"}`)! + errors;
      return spend === puts && (await status()).estimatedSpend.putRequests === spend;
    }, 10_000, 'the spend estimate counting every PUT');
    await client.close();
    assert.equal(await up.stop(), 0, up.stderr());
  } finally {
    await up.stop();
    await store.release();
    await rm(dir, { recursive: true, force: true });
  }
});

test('--status-listen is validated at start, naming the flag', async () => {
  await assert.rejects(startUploader(['--status-listen', 'x:y:z']), /--status-listen must be HOST:PORT, :PORT or PORT \(e\.g\. 127\.0\.0\.1:10235\), got "x:y:z"/);
  await assert.rejects(startUploader(['--price-put-per-1000', '-2']), /--price-put-per-1000 must be a price ≥ 0, got -2/);
});
