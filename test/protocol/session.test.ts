import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  classifySessionLine,
  formatAck,
  formatGreeting,
  formatHello,
  isHello,
  parseAck,
  parseGreeting,
  ProtocolError,
} from '@hlsrelay/protocol';

test('golden lines of the acknowledged session', () => {
  assert.equal(formatGreeting(), 'HLSRELAY 1 ack');
  assert.equal(formatGreeting(['ack', 'auth', 'payload']), 'HLSRELAY 1 ack auth payload');
  assert.equal(formatHello(), 'HLSRELAY 1');
  assert.equal(formatAck({ ok: true, seq: 1 }), 'OK 1');
  assert.equal(formatAck({ ok: false, seq: 7, reason: 'segment_duration must be a whole number,\r\ngot "x"' }), 'ERR 7 segment_duration must be a whole number, got "x"');
  assert.equal(formatAck({ ok: false, seq: 2, reason: '' }), 'ERR 2 refused');
});

test('greeting: parsed with its features; anything else is not a greeting', () => {
  assert.deepEqual(parseGreeting('HLSRELAY 1 ack'), { version: 1, features: ['ack'] });
  assert.deepEqual(parseGreeting('HLSRELAY 2 ack auth\r'), { version: 2, features: ['ack', 'auth'] });
  assert.equal(parseGreeting('ERR expected at least 10 comma-separated fields, got 1'), undefined);
  assert.equal(parseGreeting('HLSRELAY x'), undefined);
  assert.equal(parseGreeting(''), undefined);
  assert.throws(() => formatGreeting(['Auth']), ProtocolError);
});

test('hello is told apart from an index message', () => {
  assert.equal(isHello('HLSRELAY 1'), true);
  assert.equal(isHello('s.m3u8, /tmp/, 10, p, http://h/, 1, 1, 0, b, k'), false);
  assert.equal(isHello('HLSRELAY 0'), false);
});

test('commands (AUTH, …) are never mistaken for index messages, nor the reverse', () => {
  assert.deepEqual(classifySessionLine('AUTH s3cr3t'), { kind: 'command', verb: 'AUTH', args: ['s3cr3t'] });
  assert.deepEqual(classifySessionLine('PAYLOAD 188 x'), { kind: 'command', verb: 'PAYLOAD', args: ['188', 'x'] });
  assert.deepEqual(classifySessionLine('PING'), { kind: 'command', verb: 'PING', args: [] });
  const message = 'AUTH.m3u8, /tmp/, 10, p, http://h/, 1, 1, 0, b, k';
  assert.deepEqual(classifySessionLine(message), { kind: 'message', line: message });
  assert.deepEqual(classifySessionLine('lower case'), { kind: 'message', line: 'lower case' });
});

test('acks round-trip; a malformed answer is a ProtocolError naming what came', () => {
  for (const ack of [{ ok: true as const, seq: 0 }, { ok: true as const, seq: 123456 }, { ok: false as const, seq: 3, reason: 'bad message' }]) {
    assert.deepEqual(parseAck(formatAck(ack)), ack);
  }
  assert.throws(() => parseAck('OK'), (e: unknown) => e instanceof ProtocolError && /got "OK"/.test(e.message));
  assert.throws(() => parseAck('HLSRELAY 1 ack'), ProtocolError);
  assert.throws(() => formatAck({ ok: true, seq: -1 }), ProtocolError);
});
