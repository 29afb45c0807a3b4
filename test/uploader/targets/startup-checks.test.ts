/**
 * The real `uploader` command's start-up checks: credentials that do not resolve, a bucket that
 * does not exist, a bucket that refuses ACLs (behind a proxy that answers as S3 does) and a root
 * that cannot be written stop it with exit 1 and one error line naming the target, the store's
 * code and the fix; without --allow-bucket the first message's bucket is checked and a refusal is
 * logged with the stream; SIGTERM says what it waits for and a second signal quits.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startEmbeddedStore, type EmbeddedStore } from '@hlsrelay/embedded-store';
import { runUploaderToExit, startUploader } from '../../support/uploader-process';
import { FakeStream, getObject, sendOriginal } from '../../support/uploader-rig';
import { tempDir } from '../../support/temp-dir';
import { until } from '../../support/until';
import { startAclRejectingProxy, type AclRejectingProxy } from './acl-rejecting-proxy';

const BUCKET = 'videos';
const PROBE = 'live/.hlsrelay-write-check';

describe('uploader start-up checks', () => {
  let dir: string;
  let store: EmbeddedStore;
  let proxy: AclRejectingProxy;
  before(async () => {
    dir = tempDir('startup-checks');
    store = await startEmbeddedStore({ directory: path.join(dir, 'store'), buckets: [BUCKET] });
    proxy = await startAclRejectingProxy(store.endpoint);
  });
  after(async () => {
    await proxy.close();
    await store.close();
  });
  const s3 = (endpoint: string) => ['--s3-endpoint', endpoint, '--s3-path-style'];
  const failure = (lines: Array<Record<string, unknown>>) => {
    const errors = lines.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1, `one error line, got ${JSON.stringify(errors)}`);
    assert.ok(!lines.some((l) => l.message === 'listening for segmenters'), 'it never listened');
    return errors[0];
  };

  it('no credentials: exit 1, CredentialsProviderError and how to give them', async () => {
    const home = path.join(dir, 'home');
    mkdirSync(home, { recursive: true });
    const run = await runUploaderToExit(s3(store.endpoint), {
      AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SESSION_TOKEN: '', AWS_PROFILE: '', HOME: home,
      AWS_CONFIG_FILE: path.join(home, 'none'), AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'none'),
      AWS_EC2_METADATA_DISABLED: 'true', AWS_CONTAINER_CREDENTIALS_FULL_URI: '', AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '', AWS_WEB_IDENTITY_TOKEN_FILE: '',
    });
    assert.equal(run.code, 1, run.stderr);
    const line = failure(run.lines);
    assert.equal(line.code, 'CredentialsProviderError');
    assert.match(String(line.message), /^start-up check failed: s3 \(http:\/\/127\.0\.0\.1:\d+\): resolving credentials failed with CredentialsProviderError: no AWS credentials found: set AWS_ACCESS_KEY_ID/);
    assert.equal(line.skip, '--no-startup-check');
  });

  it('a bucket that does not exist: exit 1, NoSuchBucket and the bucket named', async () => {
    const run = await runUploaderToExit([...s3(store.endpoint), '--acl', 'none', '--allow-bucket', 'nosuch/live']);
    assert.equal(run.code, 1, run.stderr);
    const line = failure(run.lines);
    assert.equal(line.code, 'NoSuchBucket');
    assert.equal(line.bucket, 'nosuch');
    assert.match(String(line.message), /bucket "nosuch": HeadBucket failed with NoSuchBucket: the bucket does not exist: create it/);
  });

  it('a bucket that refuses ACLs with --acl public-read: exit 1, "use --acl none", the probe key named', async () => {
    const run = await runUploaderToExit([...s3(proxy.endpoint), '--allow-bucket', `${BUCKET}/live`]);
    assert.equal(run.code, 1, run.stderr);
    const line = failure(run.lines);
    assert.equal(line.code, 'AccessControlListNotSupported');
    assert.equal(line.key, PROBE);
    assert.match(String(line.message), /key "live\/\.hlsrelay-write-check": PutObject with ACL public-read failed with AccessControlListNotSupported: .*use --acl none/);
    assert.ok(proxy.requests.some((r) => r === `PUT /${BUCKET}/${PROBE} acl`), proxy.requests.join('\n'));
  });

  it('the same bucket with --acl none passes; the probe object is written and removed', async () => {
    const before = proxy.requests.length;
    const up = await startUploader([...s3(proxy.endpoint), '--acl', 'none', '--allow-bucket', `${BUCKET}/live`]);
    try {
      const checked = up.lines.find((l) => l.message === 'target checked: writable');
      assert.equal(checked?.buckets, `${BUCKET}/live`);
      assert.equal(checked?.acl, 'none');
      const sent = proxy.requests.slice(before);
      assert.ok(sent.includes(`PUT /${BUCKET}/${PROBE}`) && sent.includes(`DELETE /${BUCKET}/${PROBE}`), sent.join('\n'));
      assert.equal((await getObject(store, BUCKET, PROBE)).status, 404);
    } finally {
      assert.equal(await up.stop(), 0);
    }
  });

  it('--no-startup-check starts against a missing bucket and says what it skipped', async () => {
    const up = await startUploader([...s3(store.endpoint), '--allow-bucket', 'nosuch', '--no-startup-check']);
    try {
      assert.ok(up.lines.some((l) => l.level === 'warn' && String(l.message).startsWith('start-up checks skipped (--no-startup-check)')));
    } finally {
      assert.equal(await up.stop(), 0);
    }
  });

  it('a file target whose root cannot be made: exit 1 with the errno and the fix', async () => {
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'x');
    const run = await runUploaderToExit(['--target', `file://${file}/www`]);
    assert.equal(run.code, 1, run.stderr);
    const line = failure(run.lines);
    assert.equal(line.code, 'ENOTDIR');
    assert.match(String(line.message), new RegExp(`^start-up check failed: file://${file}/www: writing a file in the root failed with ENOTDIR: a part of the root path is a file`));
  });

  it('without --allow-bucket: the first message checks its bucket; refusals are errors with stream and code; SIGTERM says what it waits for, a second quits', async () => {
    const segs = path.join(dir, 'segs');
    mkdirSync(segs, { recursive: true });
    const stream = new FakeStream(segs, {
      index: 'cam.m3u8', segmentDuration: 1, outputPrefix: 'cam', httpPrefix: 'http://cdn/', firstSegment: 1, bucketName: BUCKET, keyPrefix: 'live',
    });
    // No journal: what the second signal leaves is lost, and the line says so.
    const up = await startUploader([...s3(proxy.endpoint), '--allow-dir', segs, '--retry-max-delay', '0.5', '--state-dir', 'none']);
    let stopped: Promise<number | null> | undefined;
    try {
      const checked = up.lines.find((l) => l.message === 'target checked: writable');
      assert.equal(checked?.buckets, 'from messages (checked on first sight)');
      await stream.cut(1);
      await sendOriginal(up.port, stream.message(1));
      await until(() => up.lines.some((l) => String(l.message).startsWith('bucket check failed')), 10_000, 'the bucket check');
      const sight = up.lines.find((l) => String(l.message).startsWith('bucket check failed'))!;
      assert.equal(sight.level, 'error');
      assert.equal(sight.stream, `s3://${BUCKET}/live/cam.m3u8`);
      assert.equal(sight.code, 'AccessControlListNotSupported');
      assert.match(String(sight.message), /use --acl none/);
      // The segment's own upload: refused by the store, so an error at once, with its key and code.
      await until(() => up.lines.some((l) => l.message === 'segment upload failed; retrying'), 10_000, 'a failed upload');
      const retry = up.lines.find((l) => l.message === 'segment upload failed; retrying')!;
      assert.equal(retry.level, 'error');
      assert.equal(retry.code, 'AccessControlListNotSupported');
      assert.equal(retry.key, 'live/cam-00001.ts');

      stopped = up.stop();
      await until(() => up.lines.some((l) => String(l.message).startsWith('stopping:')), 10_000, 'the stop line');
      const stopping = up.lines.find((l) => String(l.message).startsWith('stopping:'))!;
      assert.equal(stopping.message, 'stopping: waiting for uploads that keep failing; a second SIGTERM or SIGINT quits at once and leaves them');
      assert.equal(stopping.streams, `s3://${BUCKET}/live/cam.m3u8`);
      assert.match(String(stopping.failing), /^segment upload live\/cam-00001\.ts \(\d+ attempts\)$/);
      assert.match(String(stopping.lastError), /AccessControlListNotSupported/);
      up.child.kill('SIGINT');
      assert.equal(await stopped, 1);
      const quit = up.lines.find((l) => String(l.message).startsWith('second signal'))!;
      assert.equal(quit.message, 'second signal: quitting at once with uploads not done');
      assert.equal(quit.streams, `s3://${BUCKET}/live/cam.m3u8`);
      assert.match(String(quit.left), /^lost: with --state-dir none/);
    } finally {
      if (!stopped) await up.stop();
      up.child.kill('SIGKILL');
    }
  });
});
