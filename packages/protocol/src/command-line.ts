/**
 * What every command (`segmenter`, `segmenter ladder`, `uploader`, `uploader cost`) does around
 * its yargs parser, so the conventions are the same everywhere: settings from a config file and
 * the environment loaded through the checks of settings-sources.ts, and a refused command line
 * told in one line that says what was wrong, what is expected and where the value came from
 * (a flag, a `$HLSRELAY_…` variable or the config file), never the whole help.
 * Pure: argv and the environment come in as arguments.
 */
import { readConfigSections } from './config-file';
import { configPathFrom, environmentSettings, SettingsError, type OptionTable } from './settings-sources';

/** The part of a yargs parser this module uses. */
export interface SettingsParser {
  getOptions(): OptionTable;
  config(settings: Record<string, unknown>): unknown;
}

export interface LoadedSources {
  table: OptionTable;
  /** The config file's keys that are not options (`fileKeys`), for the caller to check. */
  fileExtras: Record<string, unknown>;
  /** Where each setting that did not come from a flag came from: `$VAR` or `--config FILE`. */
  origins: ReadonlyMap<string, string>;
}

/**
 * Checks the flags' values, the `<envPrefix>_*` variables and the config file, then hands file
 * and environment to the parser (flag > environment > file > default). Throws SettingsError.
 */
export function loadSettingsSources(
  parser: SettingsParser,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  envPrefix: string,
  fileKeys: readonly string[] = [],
): LoadedSources {
  const table = parser.getOptions();
  checkFlagValues(argv, table);
  const fromEnv = environmentSettings(env, envPrefix, table);
  const file = configPathFrom(argv, env, envPrefix);
  const sections = file === undefined ? { settings: {}, extras: {} } : readConfigSections(file, table, fileKeys);
  const origins = new Map<string, string>();
  for (const name of Object.keys(sections.settings)) origins.set(name, `--config ${file}`);
  for (const name of Object.keys(fromEnv)) origins.set(name, `$${envPrefix}_${name.toUpperCase().replace(/-/g, '_')}`);
  parser.config({ ...sections.settings, ...fromEnv });
  return { table, fileExtras: sections.extras, origins };
}

/** `--window six` and a bare `--window`: refused here, before yargs turns them into NaN or the default. */
export function checkFlagValues(argv: readonly string[], table: OptionTable): void {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') break;
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m || !table.number.includes(m[1])) continue;
    const value = m[2] ?? argv[i + 1];
    if (value === undefined || (m[2] === undefined && /^--?[a-z]/i.test(value))) throw new SettingsError(`--${m[1]} needs a number`);
    if (value.trim() === '' || !Number.isFinite(Number(value))) throw new SettingsError(`--${m[1]} must be a number, got "${value}"`);
  }
}

/**
 * The one line a refused command line gets: yargs' own messages (unknown option, invalid
 * choice, missing value) rephrased, and the origin of a setting that came from the environment
 * or the config file named.
 */
export function usageErrorLine(message: string, argv: readonly string[], table: OptionTable | undefined, origins?: ReadonlyMap<string, string>): string {
  const flags = table ? Object.keys(table.key) : [];
  let line = message;
  let m: RegExpExecArray | null;
  if ((m = /^Unknown arguments?: (.*)$/s.exec(message))) {
    // yargs names a dashed option twice, the second time camel-cased (`logLevl`).
    const names = [...new Set(m[1].split(', ').map((n) => n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)))];
    line = names
      .map((name) => {
        const asFlag = argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`) || a === `-${name}`);
        if (!asFlag) return `unexpected argument "${name}"`;
        const near = closest(name, flags);
        return `unknown option ${name.length === 1 ? '-' : '--'}${name}${near ? ` (did you mean --${near}?)` : ''}`;
      })
      .join('; ');
  } else if ((m = /^Invalid values:\s+Argument: ([^,]+), Given: (.*), Choices: (.*)$/s.exec(message))) {
    line = `--${m[1]} must be one of ${m[3].trim()}, got ${m[2]}`;
  } else if ((m = /^Not enough arguments following: (.*)$/.exec(message))) {
    line = `--${m[1]} needs a value`;
  }
  line = line.replace(/\s*\n\s*/g, '; ');
  const named = /(?:^|[\s(])--([a-z0-9][a-z0-9-]*)/.exec(line)?.[1];
  const origin = named === undefined ? undefined : origins?.get(named);
  const onCommandLine = named !== undefined && argv.some((a) => a === `--${named}` || a.startsWith(`--${named}=`) || a === `--no-${named}`);
  if (origin !== undefined && !onCommandLine && !line.includes(origin)) line += ` (from ${origin})`;
  return line;
}

/** The known name closest to a misspelt one, when it is close enough to be meant. */
function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/** What a command prints for a refused command line (main.ts exits 2 after it). */
export function usageErrorText(command: string, message: string, argv: readonly string[], table?: OptionTable, origins?: ReadonlyMap<string, string>): string {
  return `${command}: ${usageErrorLine(message, argv, table, origins)}\nRun "${command} --help" for usage.\n`;
}
