/**
 * Against an original uploader (it never writes), the segmenter learns the peer's form on a
 * connection opened at start-up, so the first segment's message does not wait out the greeting
 * timeout after it is cut; a peer that answers a 2009-form message was no uploader.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { silentLogger } from '@hlsrelay/log';
import { Notifier } from '@hlsrelay/segmenter';
import { until } from '../../support/until';

/** A 2009 uploader: reads each connection to its EOF, never writes; `answer` makes it an impostor that does. */
async function originalUploader(answer?: string) {
  const connections: Array<{ text: string; ended: boolean }> = [];
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    const c = { text: '', ended: false };
    connections.push(c);
    socket.on('data', (d) => (c.text += d.toString()));
    socket.on('end', () => {
      c.ended = true;
      socket.end(answer ?? "");
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { connections, port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

test('the first message goes on the connection opened at start-up, already known to be an original uploader', async () => {
  const up = await originalUploader();
  const notifier = new Notifier({ uploader: { host: '127.0.0.1', port: up.port }, logger: silentLogger(), greetingTimeoutMs: 200 });
  try {
    await until(() => up.connections.length === 1, 5_000, 'the connection opened ahead');
    notifier.send('first, message');
    await notifier.onIdle();
    await until(() => up.connections[0].ended, 5_000, 'the first connection ended');
    assert.equal(up.connections[0].text, 'first, message', 'carried by the connection opened ahead');
    assert.equal(notifier.delivered, 1);
  } finally {
    notifier.close();
    up.close();
  }
});

test('a peer that answers a 2009-form message is no uploader: the message stays undelivered', async () => {
  const impostor = await originalUploader('HTTP/1.1 400 Bad Request\r\n\r\n');
  const notifier = new Notifier({ uploader: { host: '127.0.0.1', port: impostor.port }, logger: silentLogger(), greetingTimeoutMs: 100, initialRetryMs: 50, maxRetryMs: 50 });
  try {
    notifier.send('first, message');
    await until(() => impostor.connections.filter((c) => c.text !== '').length >= 2, 10_000, 'a second attempt');
    assert.equal(notifier.delivered, 0);
    assert.equal(notifier.pending, 1);
    assert.match(notifier.trouble, /an HTTP server/);
  } finally {
    notifier.close();
    impostor.close();
  }
});
