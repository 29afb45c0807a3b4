/**
 * Where a daemon's settings come from besides its flags, shared by both daemons so the rules
 * are the same: a JSON config file (`--config FILE`) and environment variables with the daemon's
 * prefix (`HLSRELAY_UPLOADER_WINDOW=6` is `--window 6`), both named exactly like the flags.
 * Precedence: flag > environment > file > default (yargs applies them in that order).
 *
 * yargs would coerce `"six"` to NaN and swallow a config file's parse error into "Invalid JSON";
 * these checks run first so the message names the file or the variable, the setting, what was
 * expected and what came. Pure: argv and the environment come in as arguments.
 */
import { readFileSync } from 'node:fs';

/** The part of yargs' `getOptions()` the checks need. */
export interface OptionTable {
  key: Record<string, unknown>;
  alias?: Record<string, string[]>;
  number: string[];
  string: string[];
  boolean: string[];
  array: string[];
  choices: Record<string, readonly unknown[]>;
}

export class SettingsError extends TypeError {
  override readonly name = 'SettingsError';
}

/** Options that never come from a file or the environment. */
const NOT_SETTINGS = new Set(['help', 'version', 'config', 'print-config']);

/** `--config FILE` / `--config=FILE` on the command line, else `<PREFIX>_CONFIG`. */
export function configPathFrom(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, envPrefix: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') break;
    if (argv[i] === '--config') return argv[i + 1];
    if (argv[i].startsWith('--config=')) return argv[i].slice('--config='.length);
  }
  return env[`${envPrefix}_CONFIG`] || undefined;
}

/** Reads and checks a JSON config file: an object whose keys are option names. */
export function readConfigFile(file: string, options: OptionTable): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SettingsError(`--config ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new SettingsError(`--config ${file}: not valid JSON (${(err as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SettingsError(`--config ${file}: expected a JSON object of settings such as {"log-level": "debug"}, got ${describeValue(value)}`);
  }
  const settings = value as Record<string, unknown>;
  for (const [name, v] of Object.entries(settings)) checkSetting(`--config ${file}: "${name}"`, name, v, options);
  return settings;
}

/** Checks every `<PREFIX>_*` variable names a setting and holds a value of its type. */
export function checkEnvironment(env: Readonly<Record<string, string | undefined>>, envPrefix: string, options: OptionTable): void {
  const prefix = `${envPrefix}_`;
  for (const [variable, raw] of Object.entries(env)) {
    if (!variable.startsWith(prefix) || raw === undefined || variable === `${prefix}CONFIG`) continue;
    const name = variable.slice(prefix.length).toLowerCase().replace(/_/g, '-');
    const where = `$${variable} (--${name})`;
    if (!known(name, options)) throw new SettingsError(`$${variable}: no setting --${name}; ${knownList(options)}`);
    let v: unknown = raw;
    if (options.number.includes(name)) v = raw.trim() === '' ? NaN : Number(raw);
    else if (options.boolean.includes(name)) {
      if (!/^(true|false|1|0)$/i.test(raw)) throw new SettingsError(`${where} must be true or false, got "${raw}"`);
      v = /^(true|1)$/i.test(raw);
    }
    if (typeof v === 'number' && Number.isNaN(v)) throw new SettingsError(`${where} must be a number, got "${raw}"`);
    checkSetting(where, name, v, options);
  }
}

function checkSetting(where: string, name: string, v: unknown, options: OptionTable): void {
  if (!known(name, options)) throw new SettingsError(`${where} is not a setting; ${knownList(options)}`);
  const isArray = options.array.includes(name);
  const items = isArray && Array.isArray(v) ? v : [v];
  const type = options.number.includes(name) ? 'number' : options.boolean.includes(name) ? 'boolean' : 'string';
  for (const item of items) {
    if (typeof item !== type || (type === 'number' && !Number.isFinite(item))) {
      throw new SettingsError(`${where} must be ${isArray ? `a ${type} or a list of them` : `a ${type}`}, got ${describeValue(v)}`);
    }
    const choices = options.choices[name];
    if (choices && !choices.includes(item)) {
      throw new SettingsError(`${where} must be one of ${choices.map((c) => JSON.stringify(c)).join(', ')}, got ${describeValue(item)}`);
    }
  }
}

function known(name: string, options: OptionTable): boolean {
  return !NOT_SETTINGS.has(name) && name in options.key;
}

function knownList(options: OptionTable): string {
  return `known settings: ${Object.keys(options.key).filter((k) => !NOT_SETTINGS.has(k)).sort().join(', ')}`;
}

function describeValue(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? `a list ${JSON.stringify(v)}` : `${JSON.stringify(v)} (${typeof v})`;
}

/** Names whose values are secrets (a `-file` setting holds a path, which is not). */
const SECRET = /(password|passphrase|secret|token|credential)s?$/i;

/**
 * The settings a daemon runs with, for `--print-config`: every option from the table with its
 * effective value, secrets masked, passwords in URLs masked. The output is itself a valid config file.
 */
export function effectiveSettings(args: Record<string, unknown>, options: OptionTable): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(options.key).sort()) {
    if (NOT_SETTINGS.has(name) || args[name] === undefined) continue;
    const v = args[name];
    out[name] = SECRET.test(name) ? '***' : maskUrls(v);
  }
  return out;
}

function maskUrls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(maskUrls);
  return typeof v === 'string' ? v.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:?#]*):[^/@?#]*@/i, '$1:***@') : v;
}
