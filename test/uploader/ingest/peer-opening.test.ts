/**
 * The first moments of a connection to the index port (protocol session.ts): who is greeted,
 * who is never written to before its EOF, and what the TLS port tells a plaintext peer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { formatMessage, GREETING_DELAY_MS } from '@hlsrelay/protocol';
import { FileTarget, startUploaderService, type UploaderServiceOptions } from '@hlsrelay/uploader';
import { captureLog, type CapturedLog } from '../../support/log-capture';
import { tempStream } from '../../support/stream-fixture';
import { makeThrowawayPki } from '../../support/throwaway-ca';
import { sleep, until } from '../../support/until';

async function withService(options: Partial<UploaderServiceOptions>, body: (port: number, log: CapturedLog, s: ReturnType<typeof tempStream>) => Promise<void>): Promise<void> {
  const s = tempStream('opening');
  const log = captureLog('uploader', 'info');
  const service = await startUploaderService({ target: new FileTarget({ root: s.root }), logger: log.logger, host: '127.0.0.1', port: 0, ...options });
  try {
    await body(service.address.port, log, s);
  } finally {
    await service.close();
    s.done();
  }
}

/** Everything the peer is sent. */
function record(socket: net.Socket): { text: () => string } {
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString()));
  return { text: () => text };
}

test('a peer that speaks first is never written to before its EOF; a silent one is greeted', async () => {
  await withService({}, async (port, _log, s) => {
    const speaker = net.connect(port, '127.0.0.1');
    const heard = record(speaker);
    await new Promise((r) => speaker.once('connect', r));
    speaker.write(formatMessage(s.message(1)));
    // Well past the greeting delay: a greeting would have come by now.
    await sleep(GREETING_DELAY_MS * 3);
    assert.equal(heard.text(), '', 'no greeting for a peer that spoke first');
    const closed = new Promise((r) => speaker.once('close', r));
    speaker.end();
    await closed;
    assert.equal(heard.text(), '', 'a good message gets no answer in the 2009 form');
    await until(() => fs.existsSync(path.join(s.root, 'b/live/s-00001.ts')), 10_000, 'segment 1 stored');

    const quiet = net.connect(port, '127.0.0.1');
    const greeted = record(quiet);
    await until(() => greeted.text().includes('\n'), 5_000, 'the greeting');
    assert.match(greeted.text(), /^HLSRELAY 1 ack\n$/);
    quiet.destroy();
  });
});

test('the TLS port: a silent plaintext peer is told "HLSRELAY TLS …"; a plaintext sender only after its EOF; both are warned about', async () => {
  const s0 = tempStream('tls-door');
  const pki = makeThrowawayPki(s0.dir);
  const tlsOptions = { cert: fs.readFileSync(pki.serverCert), key: fs.readFileSync(pki.serverKey) };
  try {
    await withService({ tls: tlsOptions }, async (port, log, s) => {
      const quiet = net.connect(port, '127.0.0.1');
      const told = record(quiet);
      await new Promise((r) => quiet.once('close', r));
      assert.equal(told.text(), 'HLSRELAY TLS this port takes TLS only: give the segmenter --tls-ca FILE\n');

      const sender = net.connect(port, '127.0.0.1');
      const answer = record(sender);
      await new Promise((r) => sender.once('connect', r));
      sender.write(formatMessage(s.message(1)));
      await sleep(GREETING_DELAY_MS * 3);
      assert.equal(answer.text(), '', 'nothing before its EOF');
      sender.end();
      await new Promise((r) => sender.once('close', r));
      assert.match(answer.text(), /^HLSRELAY TLS /);

      // A client that does not trust the certificate: the handshake fails, said at warn.
      const untrusting = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: true });
      untrusting.on('error', () => {});
      await new Promise((r) => untrusting.once('close', r));

      await until(async () => (await log.settle(), log.entries.some((e) => /^TLS handshake failed/.test(e.message))), 5_000, 'the handshake warning').catch((e) => assert.fail(`${e.message}: ${log.text()}`));
      const warnings = log.entries.filter((e) => e.level === 'warn').map((e) => `${e.message} | ${e.fix}`);
      assert.ok(warnings.some((w) => /plaintext peer waited for a greeting on the TLS index port.*without --tls-ca/.test(w)), warnings.join('\n'));
      assert.ok(warnings.some((w) => /plaintext bytes on the TLS index port/.test(w)), warnings.join('\n'));
      assert.ok(warnings.some((w) => /^TLS handshake failed.*\| the segmenter does not trust this certificate/.test(w)), warnings.join('\n'));
      assert.ok(!fs.existsSync(path.join(s.root, 'b/live/s-00001.ts')), 'nothing sent in plaintext is taken on the TLS port');
    });
  } finally {
    s0.done();
  }
});

test('the plaintext port: a TLS client is closed at once and warned about', async () => {
  await withService({}, async (port, log) => {
    const client = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
    const failed = new Promise<Error>((r) => client.once('error', r));
    assert.match((await failed).message, /socket disconnected|ECONNRESET/);
    await until(async () => (await log.settle(), log.entries.some((e) => e.message === 'a TLS client on the plaintext index port; connection closed')), 5_000, 'the warning');
  });
});
