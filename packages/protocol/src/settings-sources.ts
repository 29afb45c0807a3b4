/**
 * Where a daemon's settings come from besides its flags, shared by both daemons so the rules
 * are the same: a config file (`--config FILE`, JSON or YAML: config-file.ts) and environment
 * variables with the daemon's prefix (`HLSRELAY_UPLOADER_WINDOW=6` is `--window 6`), both named
 * exactly like the flags. Precedence: flag > environment > file > default.
 *
 * yargs would coerce `"six"` to NaN and swallow a config file's parse error into "Invalid JSON";
 * these checks run first so the message names the file or the variable, the setting, what was
 * expected and what came. Pure: argv and the environment come in as arguments.
 */
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

/**
 * Variables of the `HLSRELAY_` family that are not a daemon's settings. Each daemon checks its own
 * prefix; a name in the family that is none of these and under no daemon's prefix is a typo.
 */
export const SHARED_VARIABLES: readonly string[] = [
  'HLSRELAY_TOKEN',
  'HLSRELAY_FTP_PASSWORD',
  'HLSRELAY_SFTP_PASSWORD',
  'HLSRELAY_SFTP_KEY_FILE',
  'HLSRELAY_SFTP_KEY_PASSPHRASE',
  // The demo's mark on the environment of the processes it starts (scripts/demo/children.ts).
  'HLSRELAY_DEMO_RUN',
];
/** The daemons' prefixes: `HLSRELAY_UPLOADER_<NAME>`, `HLSRELAY_SEGMENTER_<NAME>`. */
export const DAEMON_PREFIXES: readonly string[] = ['HLSRELAY_UPLOADER', 'HLSRELAY_SEGMENTER'];
const FAMILY = 'HLSRELAY_';

/**
 * Separator of a repeatable setting (`--target`, `--allow-dir`, `--allow-bucket`) given in one
 * variable: `HLSRELAY_UPLOADER_ALLOW_DIR=/var/hls,/mnt/live hls`. Spaces belong to the items;
 * an item holding a comma needs the JSON form `["/srv/a,b", "/var/hls"]`.
 */
export const LIST_SEPARATOR = ',';

/** Checks every `<PREFIX>_*` variable names a setting and holds a value of its type. */
export function checkEnvironment(env: Readonly<Record<string, string | undefined>>, envPrefix: string, options: OptionTable): void {
  environmentSettings(env, envPrefix, options);
}

/**
 * The settings the `<PREFIX>_*` variables give, typed as the flags are (numbers, booleans, lists
 * split at LIST_SEPARATOR), checked as checkEnvironment does. Also refuses an unknown variable of
 * the `HLSRELAY_` family, which names no daemon's setting: a misspelt prefix would otherwise be
 * ignored without a word.
 */
export function environmentSettings(env: Readonly<Record<string, string | undefined>>, envPrefix: string, options: OptionTable): Record<string, unknown> {
  const prefix = `${envPrefix}_`;
  const settings: Record<string, unknown> = {};
  for (const [variable, raw] of Object.entries(env)) {
    if (raw === undefined) continue;
    if (!variable.startsWith(prefix)) {
      if (prefix.startsWith(FAMILY)) checkFamily(variable);
      continue;
    }
    if (variable === `${prefix}CONFIG`) continue;
    const name = variable.slice(prefix.length).toLowerCase().replace(/_/g, '-');
    const where = `$${variable} (--${name})`;
    if (!known(name, options)) throw new SettingsError(`$${variable}: no setting --${name}; ${knownList(options)}`);
    let v: unknown = raw;
    if (options.array.includes(name)) v = listFromVariable(where, raw);
    else if (options.number.includes(name)) v = raw.trim() === '' ? NaN : Number(raw);
    else if (options.boolean.includes(name)) {
      if (!/^(true|false|1|0)$/i.test(raw)) throw new SettingsError(`${where} must be true or false, got "${raw}"`);
      v = /^(true|1)$/i.test(raw);
    }
    if (typeof v === 'number' && Number.isNaN(v)) throw new SettingsError(`${where} must be a number, got "${raw}"`);
    checkSetting(where, name, v, options);
    settings[name] = v;
  }
  return settings;
}

function checkFamily(variable: string): void {
  if (!variable.startsWith(FAMILY) || SHARED_VARIABLES.includes(variable)) return;
  if (DAEMON_PREFIXES.some((p) => variable.startsWith(`${p}_`))) return;
  throw new SettingsError(
    `$${variable}: not a variable hlsrelay reads; expected ${DAEMON_PREFIXES.map((p) => `${p}_<SETTING>`).join(', ')} or one of ${SHARED_VARIABLES.join(', ')}`,
  );
}

/** `a,b` or `["a", "b"]`: the items of a repeatable setting given in one variable. */
export function listFromVariable(where: string, raw: string): string[] {
  if (raw.trimStart().startsWith('[')) {
    let list: unknown;
    try {
      list = JSON.parse(raw);
    } catch (err) {
      throw new SettingsError(`${where}: a list starting with "[" must be a JSON list of strings (${(err as Error).message}), got ${JSON.stringify(raw)}`);
    }
    if (!Array.isArray(list) || !list.every((item) => typeof item === 'string')) {
      throw new SettingsError(`${where}: expected a JSON list of strings, got ${JSON.stringify(raw)}`);
    }
    return list as string[];
  }
  const items = raw.split(LIST_SEPARATOR).map((item) => item.trim());
  if (items.some((item) => item === '')) {
    throw new SettingsError(`${where}: expected items separated by "${LIST_SEPARATOR}" (e.g. "s3:${LIST_SEPARATOR}file:///srv/hls"), got an empty item in ${JSON.stringify(raw)}`);
  }
  return items;
}

export function checkSetting(where: string, name: string, v: unknown, options: OptionTable): void {
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

export function describeValue(v: unknown): string {
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
