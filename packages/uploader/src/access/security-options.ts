/**
 * The uploader's security flags — what messages may touch, how much one connection may take —
 * declared once for main.ts's parser, and turned into a MessagePolicy and ConnectionLimits.
 * Pure: main.ts hands in the parsed flags and the process facts (temp directory); nothing here
 * reads argv or the environment.
 */
import { readFile } from 'node:fs/promises';
import { checkToken } from '@hlsrelay/protocol';
import { AllowedKeys, parseBucketGrant } from './allowed-keys';
import { AllowedPaths } from './allowed-paths';
import { connectionLimits, DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from './connection-limits';
import { MessagePolicy } from './message-policy';

export const SECURITY_OPTIONS = {
  'token-file': {
    type: 'string',
    describe: 'file holding the shared token segmenters must present (AUTH); also $HLSRELAY_TOKEN. Required off loopback unless --insecure',
  },
  insecure: {
    type: 'boolean',
    default: false,
    describe: 'listen on a non-loopback address without a token (any host that reaches the port may send messages)',
  },
  'tls-cert': { type: 'string', describe: 'PEM certificate (chain) file: segmenters connect over TLS (with --tls-key)' },
  'tls-key': { type: 'string', describe: 'PEM private key file for --tls-cert' },
  'allow-dir': {
    type: 'string',
    array: true,
    describe: 'directory segments may be read from, symlinks resolved (repeatable; default: the system temp directory)',
  },
  'allow-bucket': {
    type: 'string',
    array: true,
    describe: 'NAME or NAME/PREFIX that messages may write to (repeatable; default: any bucket, with a warning off loopback)',
  },
  'max-connections-per-peer': {
    type: 'number',
    default: DEFAULT_CONNECTION_LIMITS.maxConnectionsPerPeer,
    describe: 'connections open at once from one IP address',
  },
  'line-timeout': {
    type: 'number',
    default: DEFAULT_CONNECTION_LIMITS.lineTimeoutMs / 1000,
    describe: 'seconds a segmenter has to finish a message it started (or its first one after connecting)',
  },
  'idle-timeout': {
    type: 'number',
    default: DEFAULT_CONNECTION_LIMITS.idleTimeoutMs / 1000,
    describe: 'seconds a connection may stay silent before it is closed',
  },
  'max-messages-per-second': {
    type: 'number',
    default: DEFAULT_CONNECTION_LIMITS.messagesPerSecond,
    describe: 'sustained messages per second on one connection; faster ones wait (never dropped)',
  },
} as const;

export interface SecurityFlags {
  'token-file'?: string;
  insecure: boolean;
  'tls-cert'?: string;
  'tls-key'?: string;
  'allow-dir'?: string[];
  'allow-bucket'?: string[];
  'max-connections-per-peer': number;
  'line-timeout': number;
  'idle-timeout': number;
  'max-messages-per-second': number;
}

/** Start-up validation of the flags that need no I/O; throws naming the flag, what was expected and what came. */
export function checkSecurityFlags(a: SecurityFlags): void {
  if ((a['tls-cert'] === undefined) !== (a['tls-key'] === undefined)) {
    throw new TypeError(`--tls-cert and --tls-key go together, got only ${a['tls-cert'] === undefined ? '--tls-key' : '--tls-cert'}`);
  }
  for (const grant of a['allow-bucket'] ?? []) parseBucketGrant(grant);
  limitsFrom(a);
}

function limitsFrom(a: SecurityFlags): ConnectionLimits {
  const seconds = (flag: 'line-timeout' | 'idle-timeout'): number => {
    const v = a[flag];
    if (!(v > 0) || !Number.isFinite(v)) throw new TypeError(`--${flag} must be seconds > 0, got ${v}`);
    return Math.max(1, Math.round(v * 1000));
  };
  const perPeer = a['max-connections-per-peer'];
  if (!Number.isInteger(perPeer) || perPeer < 1) throw new TypeError(`--max-connections-per-peer must be a whole number ≥ 1, got ${perPeer}`);
  const rate = a['max-messages-per-second'];
  if (!(rate > 0) || !Number.isFinite(rate)) throw new TypeError(`--max-messages-per-second must be a number > 0, got ${rate}`);
  return connectionLimits({
    maxConnectionsPerPeer: perPeer,
    lineTimeoutMs: seconds('line-timeout'),
    idleTimeoutMs: seconds('idle-timeout'),
    messagesPerSecond: rate,
    // A segmenter back from an outage may deliver a few seconds' worth at once.
    messageBurst: Math.max(DEFAULT_CONNECTION_LIMITS.messageBurst, Math.ceil(rate * 5)),
  });
}

export interface SecuritySettings {
  policy: MessagePolicy;
  limits: ConnectionLimits;
  /** The shared token segmenters must present; undefined: none asked (original segmenters served). */
  token?: string;
  tls?: { cert: Buffer; key: Buffer };
  /** Things the operator should hear about at start (logged as warnings). */
  warnings: string[];
}

/**
 * Resolves the allowed directories (they must exist) and builds the policy and limits.
 * `dirs`: where segments may be read when no --allow-dir is given (the system temp directory).
 * `ownDirs`: the uploader's own spool and state, always allowed. `listenHost`: to warn when a
 * network may reach an uploader that writes to any bucket.
 */
export async function securitySettings(
  a: SecurityFlags,
  defaults: { dirs: string[]; ownDirs?: string[]; listenHost: string; tokenFromEnv?: string },
): Promise<SecuritySettings> {
  const warnings: string[] = [];
  const token =
    a['token-file'] !== undefined
      ? checkToken(await readSetting(a['token-file'], '--token-file'), `--token-file ${a['token-file']}`)
      : defaults.tokenFromEnv !== undefined
        ? checkToken(defaults.tokenFromEnv, '$HLSRELAY_TOKEN')
        : undefined;
  const loopback = isLoopback(defaults.listenHost);
  if (!token && !loopback) {
    if (!a.insecure) {
      throw new TypeError(
        `--listen ${defaults.listenHost} is reachable from other machines: give segmenters a shared token (--token-file FILE or $HLSRELAY_TOKEN), or accept any sender with --insecure`,
      );
    }
    warnings.push(`listening on ${defaults.listenHost} without a token (--insecure): any host that reaches the port may send messages`);
  }
  const tls =
    a['tls-cert'] !== undefined && a['tls-key'] !== undefined
      ? { cert: Buffer.from(await readSetting(a['tls-cert'], '--tls-cert')), key: Buffer.from(await readSetting(a['tls-key'], '--tls-key')) }
      : undefined;
  const given = a['allow-dir']?.length ? a['allow-dir'] : defaults.dirs;
  const paths = await AllowedPaths.resolve([...given, ...(defaults.ownDirs ?? [])]);
  const keys = new AllowedKeys((a['allow-bucket'] ?? []).map((g) => parseBucketGrant(g)));
  if (!keys.restricted && !loopback) {
    warnings.push(
      `listening on ${defaults.listenHost} with no --allow-bucket: any segmenter that connects may write to any bucket these credentials reach`,
    );
  }
  return { policy: new MessagePolicy({ paths, keys }), limits: limitsFrom(a), token, tls, warnings };
}

async function readSetting(file: string, flag: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new TypeError(`${flag} ${file}: cannot read it (${(err as NodeJS.ErrnoException).code})`);
  }
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\./.test(h);
}
