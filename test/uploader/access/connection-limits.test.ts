import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionGuard, connectionLimits, DEFAULT_CONNECTION_LIMITS, MessageRate, PeerConnections, type GuardTimers } from '@hlsrelay/uploader';

/** Time that moves only when the test says: the guard's rate and deadlines without racing a loaded machine. */
function manualTimers() {
  let now = 0;
  const due: Array<{ at: number; fn: () => void; ms: number; live: boolean }> = [];
  const timers: GuardTimers = {
    now: () => now,
    after(ms, fn) {
      const t = { at: now + ms, fn, ms, live: true };
      due.push(t);
      return { cancel: () => void (t.live = false), refresh: () => void (t.at = now + t.ms) };
    },
  };
  const advance = (ms: number) => {
    const until = now + ms;
    for (let next = due.find((t) => t.live && t.at <= until); next; next = due.find((t) => t.live && t.at <= until)) {
      now = Math.max(now, next.at);
      next.live = false;
      next.fn();
    }
    now = until;
  };
  return { timers, advance };
}

test('limits: defaults filled in; bad values named with what came', () => {
  assert.deepEqual(connectionLimits(), DEFAULT_CONNECTION_LIMITS);
  assert.equal(connectionLimits({ lineTimeoutMs: 500 }).lineTimeoutMs, 500);
  assert.equal(connectionLimits({ messagesPerSecond: 0.5 }).messagesPerSecond, 0.5);
  assert.throws(() => connectionLimits({ maxConnectionsPerPeer: 0 }), /maxConnectionsPerPeer must be a whole number > 0, got 0/);
  assert.throws(() => connectionLimits({ lineTimeoutMs: 1.5 }), /lineTimeoutMs must be a whole number > 0, got 1.5/);
  assert.throws(() => connectionLimits({ messagesPerSecond: Number.NaN }), /messagesPerSecond must be a number > 0, got NaN/);
});

test('peer connections: per-address and total caps; released slots are reused', () => {
  const peers = new PeerConnections(connectionLimits({ maxConnectionsPerPeer: 2, maxConnections: 3 }));
  assert.equal(peers.admit('10.0.0.1'), undefined);
  assert.equal(peers.admit('10.0.0.1'), undefined);
  assert.match(peers.admit('10.0.0.1') ?? '', /too many connections from 10\.0\.0\.1 \(limit 2\)/);
  assert.equal(peers.admit('10.0.0.2'), undefined);
  assert.match(peers.admit('10.0.0.3') ?? '', /3 connections open, its limit/);
  assert.equal(peers.total, 3);
  peers.release('10.0.0.1');
  assert.equal(peers.from('10.0.0.1'), 1);
  assert.equal(peers.admit('10.0.0.3'), undefined);
  peers.release('10.0.0.9'); // never admitted: nothing changes
  assert.equal(peers.total, 3);
});

test('message rate: a burst at once, then the sustained rate', () => {
  let now = 0;
  const rate = new MessageRate(10, 3, () => now);
  assert.deepEqual([rate.take(), rate.take(), rate.take()], [0, 0, 0]);
  assert.equal(rate.take(), 100); // one token per 100 ms
  now = 50;
  assert.equal(rate.take(), 50);
  now = 100;
  assert.equal(rate.take(), 0);
  now = 10_000; // a long pause refills only up to the burst
  assert.deepEqual([rate.take(), rate.take(), rate.take(), rate.take() > 0], [0, 0, 0, true]);
});

test('guard: lines past the rate wait in order while reading pauses; nothing is dropped', async () => {
  const events: string[] = [];
  const socket = { pause: () => events.push('pause'), resume: () => events.push('resume') };
  const time = manualTimers();
  const guard = new ConnectionGuard({
    limits: connectionLimits({ messagesPerSecond: 200, messageBurst: 2 }),
    socket,
    onExpired: (reason) => events.push(`expired ${reason}`),
    timers: time.timers,
  });
  const handled: string[] = [];
  guard.deliver(['a', '', 'b', 'c', '  ', 'd'], (l) => handled.push(l));
  assert.deepEqual(handled, ['a', 'b'], 'the burst passes at once; blank lines cost nothing');
  assert.deepEqual(events, ['pause']);
  time.advance(5000);
  assert.deepEqual(handled, ['a', 'b', 'c', 'd']);
  assert.deepEqual(events, ['pause', 'resume']);
  assert.ok(guard.throttledLines >= 2);
  guard.close();
});

test('guard: a line left unfinished, or a silent connection, expires; closing hands over what was received', async () => {
  const expired: string[] = [];
  const socket = { pause() {}, resume() {} };
  const limits = connectionLimits({ lineTimeoutMs: 30, idleTimeoutMs: 60_000 });
  const silent = new ConnectionGuard({ limits, socket, onExpired: (r) => expired.push(r) });
  const trickle = new ConnectionGuard({ limits, socket, onExpired: (r) => expired.push(`trickle: ${r}`) });
  trickle.received(1, 0); // a first line complete: no deadline now
  trickle.received(0, 3); // a new line begins…
  for (let i = 0; i < 10 && expired.length < 2; i++) {
    trickle.received(0, 4 + i); // …and trickles: the deadline is not pushed back
    await new Promise((r) => setTimeout(r, 10));
  }
  const deadline = Date.now() + 5000;
  while (expired.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(expired.sort(), ['no complete line within 0.03 s', 'trickle: no complete line within 0.03 s']);
  silent.close();
  trickle.close();

  const handled: string[] = [];
  const slow = new ConnectionGuard({ limits: connectionLimits({ messagesPerSecond: 0.001, messageBurst: 1 }), socket, onExpired: () => {} });
  slow.deliver(['x', 'y', 'z'], (l) => handled.push(l));
  assert.deepEqual(handled, ['x']);
  slow.close();
  assert.deepEqual(handled, ['x', 'y', 'z']);
});

test('guard: while the uploader has no room, lines wait unread and the deadlines wait with them; room again hands them over in order', () => {
  const events: string[] = [];
  const socket = { pause: () => events.push('pause'), resume: () => events.push('resume') };
  const time = manualTimers();
  let room = false;
  let waiter: (() => void) | undefined;
  const guard = new ConnectionGuard({
    limits: connectionLimits({ lineTimeoutMs: 1000, idleTimeoutMs: 5000 }),
    socket,
    onExpired: (reason) => events.push(`expired ${reason}`),
    timers: time.timers,
    room: { hasRoom: () => room, whenRoom: (fn) => void (waiter = fn) },
  });
  const handled: string[] = [];
  guard.received(3, 0);
  guard.deliver(['a', 'b', 'c'], (l) => handled.push(l));
  assert.deepEqual(handled, []);
  assert.deepEqual(events, ['pause']);
  time.advance(60_000);
  assert.deepEqual(events, ['pause'], 'no deadline passes while the uploader holds the lines');
  room = true;
  waiter!();
  assert.deepEqual(handled, ['a', 'b', 'c']);
  assert.deepEqual(events, ['pause', 'resume']);
  time.advance(4000);
  assert.deepEqual(events, ['pause', 'resume'], 'the idle time starts again from the resume');
  time.advance(2000);
  assert.deepEqual(events, ['pause', 'resume', 'expired idle for 5 s']);
  guard.close();
});
