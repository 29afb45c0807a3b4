/**
 * A daemon's config file (`--config FILE`): a mapping of settings named like the flags, in YAML
 * (`.yaml`, `.yml`) or JSON (any other name, as before YAML was read). YAML is read with the 1.2
 * core schema, so `yes` stays a string and a repeated key is an error, not a silent override.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { checkSetting, describeValue, SettingsError, type OptionTable } from './settings-sources';

/** YAML or JSON, by the file's extension. */
export function configFormat(file: string): 'YAML' | 'JSON' {
  return /^\.ya?ml$/i.test(path.extname(file)) ? 'YAML' : 'JSON';
}

/** Reads and parses a config file by its extension; the error names the file, the line and column. */
export function parseConfigText(text: string, file: string): unknown {
  const format = configFormat(file);
  try {
    // yaml loads only when a YAML file is read: ~25 ms and ~8 MB a daemon without one need not pay.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return format === 'YAML' ? (require('yaml') as typeof import('yaml')).parse(text, { uniqueKeys: true, prettyErrors: true }) : JSON.parse(text);
  } catch (err) {
    // yaml's messages carry a code frame after the first line: keep the one line.
    throw new SettingsError(`--config ${file}: not valid ${format} (${(err as Error).message.split('\n')[0].replace(/:$/, '')})`);
  }
}

/** Reads and checks a config file: a mapping whose keys are option names. */
export function readConfigFile(file: string, options: OptionTable): Record<string, unknown> {
  return readConfigSections(file, options).settings;
}

/**
 * Reads and checks a config file whose keys are option names or one of `extraKeys` (the
 * ladder file's `fps`, `preset`, `profiles`), which come back apart for the caller to check.
 */
export function readConfigSections(
  file: string,
  options: OptionTable,
  extraKeys: readonly string[] = [],
): { settings: Record<string, unknown>; extras: Record<string, unknown> } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SettingsError(`--config ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const value = parseConfigText(text, file);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const example = configFormat(file) === 'YAML' ? 'a YAML mapping of settings such as "log-level: debug"' : 'a JSON object of settings such as {"log-level": "debug"}';
    throw new SettingsError(`--config ${file}: expected ${example}, got ${describeValue(value)}`);
  }
  const settings: Record<string, unknown> = {};
  const extras: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    if (extraKeys.includes(name)) {
      extras[name] = v;
      continue;
    }
    checkSetting(`--config ${file}: "${name}"`, name, v, options);
    settings[name] = v;
  }
  return { settings, extras };
}
