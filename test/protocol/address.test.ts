import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHostPort, DEFAULT_PORT } from '@hlsrelay/protocol';

const cases: Array<[string, { host: string; port: number }]> = [
  ['127.0.0.1:10234', { host: '127.0.0.1', port: 10234 }],
  ['0.0.0.0:9000', { host: '0.0.0.0', port: 9000 }],
  ['uploader.internal', { host: 'uploader.internal', port: DEFAULT_PORT }],
  [':4000', { host: '127.0.0.1', port: 4000 }],
  ['[::1]:5000', { host: '::1', port: 5000 }],
  // A bare number is a port on 127.0.0.1, as --status-listen takes it.
  ['10300', { host: '127.0.0.1', port: 10300 }],
];
for (const [input, expected] of cases) {
  test(`parseHostPort("${input}")`, () => assert.deepEqual(parseHostPort(input), expected));
}

test('parseHostPort names the option and the bad value', () => {
  assert.throws(() => parseHostPort('host:99999', '--listen'), /--listen must be HOST:PORT .* got "host:99999"/);
  assert.throws(() => parseHostPort('a:b:c', '--uploader'), /--uploader must be HOST:PORT/);
});
