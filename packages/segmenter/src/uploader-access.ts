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
