/**
 * Who may talk to the uploader, end to end: a wrong or missing token, original segmenters when a
 * token is required, slow and silent clients, too many connections from one peer, a flood of
 * messages, and TLS — each refused or slowed while a legitimate session keeps its stream
 * advancing in the store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import tls from 'node:tls';
import { formatHello, formatMessage, frameMessage } from '@hlsrelay/protocol';
import { until } from '../../support/until';
import { FakeStream } from '../../support/uploader-rig';
import { connect, exchange, startSecureStack, BUCKET } from '../../support/secure-stack';
import { makeThrowawayPki } from '../../support/throwaway-ca';
import { tempDir } from '../../support/temp-dir';

const TOKEN = '5b0c3d7e9a1f42c8b6e0d4a2f9c1e7b3';

/** Collects a socket's text; resolves `closed` when the uploader closes it. */
function watch(socket: import('node:net').Socket) {
  const state = { text: '', closed: false, socket };
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (state.text += d));
  socket.on('error', () => {});
  socket.on('close', () => (state.closed = true));
  return state;
}

test('token: wrong, missing or late AUTH is refused and the connection closed; original segmenters are refused', async () => {
  const stack = await startSecureStack({ token: TOKEN });
  try {
    await writeFile(path.join(stack.segments, 'evil-00001.ts'), 'x');
    const message = formatMessage({
      index: 'evil.m3u8', outputDirectory: stack.segments, segmentDuration: 2, outputPrefix: 'evil', httpPrefix: '',
      firstSegment: 1, lastSegment: 1, end: false, bucketName: BUCKET, keyPrefix: 'live/evil', ext: {},
    });

    // The greeting says a token is wanted.
    const probe = watch(await connect(stack.port));
    await until(() => probe.text.includes('\n'));
    assert.match(probe.text, /^HLSRELAY 1 .*\bauth\b/);

    // A wrong token.
    const wrong = await connect(stack.port);
    const w = watch(wrong);
    wrong.write(frameMessage(formatHello()) + frameMessage(`AUTH ${TOKEN.replace(/.$/, 'x')}`) + frameMessage(message));
    await until(() => w.closed);
    assert.match(w.text, /^ERR 1 wrong token$/m);
    assert.doesNotMatch(w.text, /^OK/m);

    // No AUTH at all: the message is refused and the connection closed.
    const none = await connect(stack.port);
    const n = watch(none);
    none.write(frameMessage(formatHello()) + frameMessage(message));
    await until(() => n.closed);
    assert.match(n.text, /^ERR 1 authentication required: send AUTH <token> first$/m);

    // The 2009 framing cannot present a token.
    assert.match(await exchange(stack.port, message), /^ERR authentication required: this uploader serves only segmenters that present its token/);

    await stack.log.settle();
    const failures = stack.log.entries.filter((e) => e.message === 'authentication failed');
    assert.ok(failures.length >= 3, JSON.stringify(failures));
    assert.ok(failures.every((e) => /^127\.0\.0\.1:\d+$/.test(String(e.peer))), 'each names the peer');
    assert.ok(!JSON.stringify(stack.log.entries).includes(TOKEN), 'the token never appears in the log');
    assert.deepEqual(stack.puts.filter((p) => p.includes('/evil')), [], 'nothing of the refused messages was uploaded');
    // The authenticated legitimate session was never disturbed.
    await stack.legit.advance();
    await stack.legit.advance();
  } finally {
    await stack.close();
  }
});

test('slowloris: a client trickling bytes without finishing a line is dropped; a silent one too', async () => {
  const stack = await startSecureStack({ limits: { lineTimeoutMs: 1500 } });
  try {
    const slow = await connect(stack.port);
    const s = watch(slow);
    const silent = watch(await connect(stack.port));
    // One byte every 200 ms: always "active", never a line.
    const trickle = setInterval(() => slow.writable && slow.write('x'), 200);
    try {
      await until(() => s.closed && silent.closed, 15_000);
    } finally {
      clearInterval(trickle);
    }
    assert.match(s.text, /ERR no complete line within 1\.5 s; connection closed/);
    assert.match(silent.text, /ERR no complete line within 1\.5 s/);
    await stack.log.settle();
    assert.ok(stack.log.entries.some((e) => e.message === 'message refused' && /no complete line/.test(String(e.reason))));
    // The legitimate session sends a line every few seconds and is never cut.
    await stack.legit.advance();
    await stack.legit.advance();
  } finally {
    await stack.close();
  }
});

test('connections per peer are capped; the slot frees when one closes; the legitimate session keeps flowing', async () => {
  // The legitimate session holds one of the three slots of 127.0.0.1.
  const stack = await startSecureStack({ limits: { maxConnectionsPerPeer: 3 } });
  try {
    const held = [watch(await connect(stack.port)), watch(await connect(stack.port))];
    const extra = await connect(stack.port);
    const e = watch(extra);
    await until(() => e.closed);
    assert.match(e.text, /^ERR too many connections from 127\.0\.0\.1 \(limit 3\)/);
    assert.ok(!e.text.startsWith('HLSRELAY'), 'refused before the greeting');
    await stack.log.settle();
    assert.ok(stack.log.entries.some((x) => x.message === 'connection refused' && /too many connections/.test(String(x.reason))));
    await stack.legit.advance();
    assert.ok(held.every((h) => !h.closed));
    assert.equal(stack.service.server.gateStats.refusedConnections, 1);
    // A slot frees when a connection closes.
    held[0].socket.destroy();
    await until(() => held[0].closed);
    await until(async () => {
      const again = watch(await connect(stack.port));
      await until(() => again.text.includes('\n') || again.closed);
      again.socket.destroy();
      return again.text.startsWith('HLSRELAY 1');
    });
  } finally {
    await stack.close();
  }
});

test('a flood of messages on one connection is slowed, not dropped; another session keeps flowing', async () => {
  const stack = await startSecureStack({ limits: { messagesPerSecond: 20, messageBurst: 5 } });
  try {
    const flood = await connect(stack.port);
    const f = watch(flood);
    // 60 messages at once, for a stream of its own.
    const s = new FakeStream(stack.segments, {
      index: 'flood.m3u8', segmentDuration: 2, outputPrefix: 'flood', httpPrefix: '', firstSegment: 1, bucketName: BUCKET, keyPrefix: 'live/flood',
    });
    for (let n = 1; n <= 60; n++) await s.cut(n);
    flood.write(frameMessage(formatHello()));
    flood.write(Array.from({ length: 60 }, (_, i) => frameMessage(s.message(i + 1))).join(''));
    // While the flood is being paced, the legitimate stream still advances.
    await stack.legit.advance();
    await until(() => (f.text.match(/^OK \d+$/gm) ?? []).length === 60, 30_000);
    assert.equal((f.text.match(/^ERR/gm) ?? []).length, 0, 'nothing dropped or refused');
    assert.ok(stack.service.server.gateStats.pacedLines > 0, 'the flood was paced');
  } finally {
    await stack.close();
  }
});

test('TLS: a segmenter trusting the CA gets through; plain TCP and a client trusting another CA do not', async () => {
  const dir = tempDir('tls');
  const pki = makeThrowawayPki(dir);
  const stack = await startSecureStack({
    token: TOKEN,
    service: { tls: { cert: await readFile(pki.serverCert), key: await readFile(pki.serverKey) } },
    legitTls: { ca: await readFile(pki.caCert) },
  });
  try {
    // Plain TCP to a TLS port: no handshake, no greeting, no service.
    const plain = watch(await connect(stack.port));
    // A client that trusts another CA refuses the uploader's certificate.
    const otherCa = await readFile(pki.otherCaCert);
    const refused = await new Promise<Error | undefined>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: stack.port, ca: otherCa }, () => resolve(undefined));
      s.on('error', (err) => resolve(err));
    });
    assert.ok(refused, 'the handshake fails');
    assert.match(refused.message, /self[- ]signed|unable to verify|certificate/i);
    // The legitimate stream is on TLS with the token, and flows.
    await stack.legit.advance();
    await stack.legit.advance();
    // At most the line that says this port takes TLS (protocol TLS_REQUIRED), never a greeting.
    assert.equal(/^HLSRELAY \d/.test(plain.text), false, 'plain TCP gets no greeting');
  } finally {
    await stack.close();
    await rm(dir, { recursive: true, force: true });
  }
});
