/**
 * What this segmenter presents to a guarded uploader: the shared token (`--token-file`, else
 * `$HLSRELAY_TOKEN`) and the CA it trusts for TLS (`--tls-ca`). Read once at start-up; a missing
 * or malformed file stops the segmenter with a message naming the option (never the token).
 */
import { readFileSync } from 'node:fs';
import { checkToken } from '@hlsrelay/protocol';

export interface UploaderAccess {
  token?: string;
  tls?: { ca: Buffer };
}

/** The command-line options, shared by `segmenter` and `segmenter ladder` so both read the same. */
export const ACCESS_OPTIONS = {
  'token-file': { type: 'string', describe: 'file holding the shared token, for an uploader started with one (also $HLSRELAY_TOKEN)' },
  'tls-ca': { type: 'string', describe: 'PEM CA certificate: connect to the uploader over TLS and trust its certificate only if this CA signed it' },
} as const;

/** The access settings of parsed options (both commands): file paths, checked but not yet read. */
export function accessSettingsFrom(args: Record<string, unknown>): { tokenFile?: string; tlsCa?: string } {
  const tokenFile = optionalPath(args['token-file'], '--token-file');
  const tlsCa = optionalPath(args['tls-ca'], '--tls-ca');
  return { ...(tokenFile !== undefined ? { tokenFile } : {}), ...(tlsCa !== undefined ? { tlsCa } : {}) };
}

function optionalPath(value: unknown, option: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new TypeError(`${option} must be a file path, got "${String(value)}"`);
  return value;
}

export function uploaderAccess(settings: { tokenFile?: string; tlsCa?: string }, tokenFromEnv: string | undefined): UploaderAccess {
  const access: UploaderAccess = {};
  if (settings.tokenFile !== undefined) {
    access.token = checkToken(readSetting(settings.tokenFile, '--token-file'), `--token-file ${settings.tokenFile}`);
  } else if (tokenFromEnv !== undefined) {
    access.token = checkToken(tokenFromEnv, '$HLSRELAY_TOKEN');
  }
  if (settings.tlsCa !== undefined) access.tls = { ca: Buffer.from(readSetting(settings.tlsCa, '--tls-ca')) };
  return access;
}

function readSetting(file: string, option: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new TypeError(`${option} ${file}: cannot read it (${(e as NodeJS.ErrnoException).code})`);
  }
}
