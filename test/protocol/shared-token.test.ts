import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authArgument, checkToken, classifySessionLine, formatAuth, ProtocolError, tokenMatches } from '@hlsrelay/protocol';

const TOKEN = 'f3c1a9d07be24e6a9c55d1e0a7b38c42';

test('tokens: checked for length and shape, a trailing line end dropped, never echoed in errors', () => {
  assert.equal(checkToken(TOKEN + '\n', '--token-file x'), TOKEN);
  assert.equal(checkToken(TOKEN + '\r\n', '--token-file x'), TOKEN);
  assert.throws(() => checkToken('short', '$HLSRELAY_TOKEN'), /\$HLSRELAY_TOKEN: the token must be 16 to 1024 characters, got 5/);
  assert.throws(() => checkToken('a'.repeat(1025), 'f'), /got 1025/);
  for (const bad of [`${TOKEN} x`, `${TOKEN}\n\n`, `${TOKEN}é`, `${TOKEN}\u0000`]) {
    assert.throws(() => checkToken(bad, 'f'), (e: Error) => /printable ASCII/.test(e.message) && !e.message.includes(TOKEN));
  }
});

test('AUTH travels as a session command and compares in constant time', () => {
  const line = formatAuth(TOKEN);
  const c = classifySessionLine(line);
  assert.equal(c.kind, 'command');
  assert.ok(c.kind === 'command' && c.verb === 'AUTH');
  const offered = authArgument(c.kind === 'command' ? c.args : []);
  assert.equal(tokenMatches(offered, TOKEN), true);
  assert.equal(tokenMatches(TOKEN.slice(0, -1), TOKEN), false);
  assert.equal(tokenMatches(TOKEN + 'x', TOKEN), false);
  assert.equal(tokenMatches('', TOKEN), false);
  assert.throws(() => authArgument([]), ProtocolError);
  assert.throws(() => authArgument(['a', 'b']), /exactly one token/);
});
