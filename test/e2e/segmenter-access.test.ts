/**
 * The segmenter's side of a guarded uploader: its notifier presents the token only when asked,
 * speaks TLS trusting one CA, and keeps its messages (retrying) when the token is wrong.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { until } from '../support/until';
import { getObject, listedUris, FakeStream } from '../support/uploader-rig';
import { Notifier, uploaderAccess } from '@hlsrelay/segmenter';
import { BUCKET, startSecureStack } from '../support/secure-stack';
import { captureLog } from '../support/log-capture';
import { makeThrowawayPki } from '../support/throwaway-ca';
import { tempDir } from '../support/temp-dir';

const TOKEN = '9d1e6f3a0c7b4e2a8f5d1c9b7a3e6d0f';

test('segmenter access: --token-file and $HLSRELAY_TOKEN read and checked, naming the option, never the token', async () => {
  const dir = tempDir('access');
  try {
    await writeFile(path.join(dir, 'token'), TOKEN + '\n');
    await writeFile(path.join(dir, 'short'), 'abc\n');
    await writeFile(path.join(dir, 'ca.pem'), 'PEM');
    assert.equal(uploaderAccess({ tokenFile: path.join(dir, 'token') }, 'ignored-when-a-file-is-given').token, TOKEN);
    assert.equal(uploaderAccess({}, TOKEN).token, TOKEN);
    assert.deepEqual(uploaderAccess({}, undefined), {});
    assert.throws(() => uploaderAccess({ tokenFile: path.join(dir, 'short') }, undefined), /--token-file .*short: the token must be 16 to 1024 characters, got 3/);
    assert.throws(() => uploaderAccess({ tokenFile: path.join(dir, 'missing') }, undefined), /--token-file .*missing: cannot read it \(ENOENT\)/);
    assert.equal(uploaderAccess({ tlsCa: path.join(dir, 'ca.pem') }, undefined).tls?.ca.toString(), 'PEM');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a notifier with the token over TLS delivers; one with a wrong token keeps its message and says why', async () => {
  const dir = tempDir('notifier-tls');
  const pki = makeThrowawayPki(dir);
  const ca = await readFile(pki.caCert);
  const stack = await startSecureStack({
    token: TOKEN,
    service: { tls: { cert: await readFile(pki.serverCert), key: await readFile(pki.serverKey) } },
    legitTls: { ca },
  });
  const good = captureLog('segmenter');
  const bad = captureLog('segmenter');
  const uploader = { host: '127.0.0.1', port: stack.port };
  const right = new Notifier({ uploader, logger: good.logger, token: TOKEN, tls: { ca }, initialRetryMs: 50, maxRetryMs: 200 });
  const wrong = new Notifier({ uploader, logger: bad.logger, token: TOKEN.replace(/^./, 'x'), tls: { ca }, initialRetryMs: 50, maxRetryMs: 200 });
  try {
    const s = new FakeStream(stack.segments, {
      index: 'tls.m3u8', segmentDuration: 2, outputPrefix: 'tls', httpPrefix: '', firstSegment: 1, bucketName: BUCKET, keyPrefix: 'live/tls',
    });
    await s.cut(1);
    await s.cut(2);
    right.send(s.message(1));
    right.send(s.message(2, true));
    wrong.send(s.message(1));
    await right.onIdle();
    await good.settle();
    assert.equal(right.acknowledged, 2, JSON.stringify(good.entries));
    await until(async () => listedUris((await getObject(stack.store, BUCKET, 'live/tls/tls.m3u8')).body.toString()).length === 2);
    await until(async () => (await bad.settle(), bad.entries.some((e) => /refused the token/.test(String(e.error)))));
    assert.equal(wrong.pending, 1, 'the message is kept for when the token is fixed');
    assert.ok(!JSON.stringify(bad.entries).includes(TOKEN.slice(1)), 'the token is never logged');
    await stack.legit.advance();
  } finally {
    right.close();
    wrong.close();
    await stack.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a notifier without a token is told the uploader wants one', async () => {
  const stack = await startSecureStack({ token: TOKEN });
  const log = captureLog('segmenter');
  const notifier = new Notifier({ uploader: { host: '127.0.0.1', port: stack.port }, logger: log.logger, initialRetryMs: 50, maxRetryMs: 200 });
  try {
    notifier.send('x.m3u8, /tmp, 2, x, , 1, 1, 0, mybucket, live');
    await until(async () => (await log.settle(), log.entries.some((e) => /the uploader wants a token/.test(String(e.error)))));
    assert.equal(notifier.pending, 1);
  } finally {
    notifier.close();
    await stack.close();
  }
});
