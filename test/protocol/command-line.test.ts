/** usageErrorLine(): yargs' refusals as one line that says what, what is expected and from where. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import yargs from 'yargs';
import { checkFlagValues, usageErrorLine, type OptionTable } from '@hlsrelay/protocol';

const table = (yargs([]).option('window', { type: 'number' }).option('acl', { choices: ['public-read', 'none'] }).option('log-level', { type: 'string' }) as unknown as { getOptions(): OptionTable }).getOptions();
const origins = new Map([['window', '$HLSRELAY_UPLOADER_WINDOW']]);

const cases: Array<[string, string[], string]> = [
  ['Unknown argument: windo', ['--windo', '3'], 'unknown option --windo (did you mean --window?)'],
  ['Unknown arguments: log-levl, logLevl', ['--log-levl', 'x'], 'unknown option --log-levl (did you mean --log-level?)'],
  ['Unknown argument: zzzzzz', ['--zzzzzz'], 'unknown option --zzzzzz'],
  ['Unknown argument: extra', ['extra'], 'unexpected argument "extra"'],
  ['Invalid values:\n  Argument: acl, Given: "x", Choices: "public-read", "none"', ['--acl', 'x'], '--acl must be one of "public-read", "none", got "x"'],
  ['Not enough arguments following: acl', ['--acl'], '--acl needs a value'],
  ['--window must be an integer ≥ 1, got 0', [], '--window must be an integer ≥ 1, got 0 (from $HLSRELAY_UPLOADER_WINDOW)'],
  ['--window must be an integer ≥ 1, got 0', ['--window', '0'], '--window must be an integer ≥ 1, got 0'],
  ['two\nlines', [], 'two; lines'],
];
for (const [message, argv, line] of cases) {
  test(`usageErrorLine(${JSON.stringify(message)})`, () => assert.equal(usageErrorLine(message, argv, table, origins), line));
}

test('checkFlagValues: a number flag with a word or nothing after it', () => {
  assert.throws(() => checkFlagValues(['--window', 'six'], table), /^SettingsError: --window must be a number, got "six"$/);
  assert.throws(() => checkFlagValues(['--window=six'], table), /--window must be a number, got "six"/);
  assert.throws(() => checkFlagValues(['--window', '--acl', 'none'], table), /--window needs a number/);
  assert.doesNotThrow(() => checkFlagValues(['--window', '-1', '--', '--window', 'x'], table));
});
