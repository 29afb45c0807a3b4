/**
 * What a message may touch, end to end: an uploader confined to one segments directory and one
 * bucket prefix refuses path escapes, forbidden buckets and prefixes and over-long lines — each
 * answered with ERR, logged with the peer and the reason, nothing uploaded — while a legitimate
 * stream on another connection keeps advancing in the store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatMessage, type IndexMessage } from '@hlsrelay/protocol';
import { BUCKET, exchange, OTHER_BUCKET, startSecureStack, type SecureStack } from '../../support/secure-stack';

function attack(stack: SecureStack, fields: Partial<IndexMessage>): string {
  return formatMessage({
    index: 'evil.m3u8', outputDirectory: stack.segments, segmentDuration: 2, outputPrefix: 'evil', httpPrefix: '',
    firstSegment: 1, lastSegment: 1, end: false, bucketName: BUCKET, keyPrefix: 'live/evil', ext: {},
    ...fields,
  });
}

async function refusedWithLog(stack: SecureStack, text: string, reason: RegExp): Promise<void> {
  const reply = await exchange(stack.port, text);
  assert.match(reply, /^ERR /, `an ERR line for ${text.slice(0, 120)}`);
  assert.match(reply, reason);
  await stack.log.settle();
  const entry = stack.log.entries.find((e) => e.message === 'message refused' && reason.test(String(e.reason)));
  assert.ok(entry, `a log entry for ${reason}`);
  assert.match(String(entry.peer), /^127\.0\.0\.1:\d+$/, 'the log names the peer');
}

test('path escapes are refused: "..", absolute paths elsewhere, a symlink to /etc/passwd, a symlinked directory', async () => {
  // Every refusal logged (several are of one kind, which the default interval would hold back).
  const stack = await startSecureStack({ service: { warningRepeatMs: 0 } });
  try {
    await writeFile(path.join(stack.outside, 'evil-00001.ts'), 'not for the public');
    await symlink('/etc/passwd', path.join(stack.segments, 'passwd-00001.ts'));
    await symlink(stack.outside, path.join(stack.segments, 'linked'));
    await mkdir(path.join(stack.segments, 'sub'));

    await refusedWithLog(stack, attack(stack, { outputDirectory: `${stack.segments}/sub/../../outside` }), /contains a "\.\." segment/);
    await refusedWithLog(stack, attack(stack, { outputDirectory: '../../../../etc' }), /contains a "\.\." segment/);
    await refusedWithLog(stack, attack(stack, { outputDirectory: stack.outside }), /outside\/evil-00001\.ts lies outside the directories this uploader may read/);
    await refusedWithLog(stack, attack(stack, { outputDirectory: '/etc', outputPrefix: 'passwd' }), /\/etc\/passwd-00001\.ts lies outside/);
    await refusedWithLog(stack, attack(stack, { outputPrefix: 'passwd' }), /passwd-00001\.ts lies outside/);
    await refusedWithLog(stack, attack(stack, { outputDirectory: path.join(stack.segments, 'linked') }), /linked\/evil-00001\.ts lies outside/);
    await refusedWithLog(stack, attack(stack, { outputPrefix: '../evil' }), /output_prefix "\.\.\/evil" must be a file name/);
    await refusedWithLog(stack, attack(stack, { index: '../../other.m3u8' }), /index "\.\.\/\.\.\/other\.m3u8" must be a file name/);

    await stack.legit.advance();
    await stack.legit.advance();
    assert.deepEqual(stack.puts.filter((p) => !p.includes('/live/legit/')), [], 'nothing but the legitimate stream was uploaded');
  } finally {
    await stack.close();
  }
});

test('forbidden buckets and prefixes, malformed names and numbers out of range are refused', async () => {
  const stack = await startSecureStack({ service: { warningRepeatMs: 0 } });
  try {
    await writeFile(path.join(stack.segments, 'evil-00001.ts'), 'a segment');
    await refusedWithLog(stack, attack(stack, { bucketName: OTHER_BUCKET }), /bucket "other" is not one this uploader writes to \(--allow-bucket\)/);
    await refusedWithLog(stack, attack(stack, { keyPrefix: 'livex' }), /key prefix "livex" in bucket "mybucket" is not one/);
    await refusedWithLog(stack, attack(stack, { keyPrefix: 'live/../admin' }), /key_prefix "live\/\.\.\/admin" must not contain empty, "\." or "\.\." path segments/);
    await refusedWithLog(stack, attack(stack, { keyPrefix: '/live' }), /must not start with "\/"/);
    await refusedWithLog(stack, attack(stack, { bucketName: 'my bucket' }), /bucket_name "my bucket" may hold only/);
    await refusedWithLog(stack, attack(stack, { segmentDuration: 0 }), /segment_duration must be 1 to 86400 seconds, got 0/);
    await refusedWithLog(stack, attack(stack, { httpPrefix: 'http://x/\u0007' }), /http_prefix must be printable/);

    await stack.legit.advance();
    assert.deepEqual(stack.puts.filter((p) => !p.includes('/live/legit/')), [], 'nothing but the legitimate stream was uploaded');
    assert.ok(!stack.puts.some((p) => p.startsWith(`PUT /${OTHER_BUCKET}/`)));
  } finally {
    await stack.close();
  }
});

test('an over-long line ends that connection only; the legitimate session goes on', async () => {
  const stack = await startSecureStack();
  try {
    const reply = await exchange(stack.port, 'x'.repeat(20_000) + '\n');
    assert.match(reply, /^ERR message longer than 16384 bytes/);
    await stack.log.settle();
    assert.ok(stack.log.entries.some((e) => e.message === 'message refused' && /longer than/.test(String(e.reason)) && /^127\.0\.0\.1:/.test(String(e.peer))));
    const before = stack.legit.next;
    await stack.legit.advance();
    await stack.legit.advance();
    assert.equal(stack.legit.next, before + 2);
  } finally {
    await stack.close();
  }
});

test('a peer repeating one refused message gets ERR every time; the log says it once, and another kind on its own line', async () => {
  const stack = await startSecureStack();
  try {
    for (let n = 1; n <= 20; n++) {
      const reply = await exchange(stack.port, attack(stack, { outputDirectory: '/etc', outputPrefix: `probe${n}` }));
      assert.match(reply, /^ERR segment file \/etc\/probe\d+-00001\.ts lies outside/, `ERR for probe ${n}`);
    }
    await refusedWithLog(stack, attack(stack, { bucketName: OTHER_BUCKET }), /bucket "other" is not one/);
    await stack.log.settle();
    const refused = stack.log.entries.filter((e) => e.message === 'message refused');
    assert.deepEqual(
      refused.map((e) => String(e.reason).replace(/probe\d+/, 'probe#')),
      ['segment file /etc/probe#-00001.ts lies outside the directories this uploader may read (--allow-dir)', 'bucket "other" is not one this uploader writes to (--allow-bucket)'],
    );
    assert.equal(stack.service.server.malformed, 21, 'every refusal is counted');
  } finally {
    await stack.close();
  }
});
