/**
 * The uploader's command line: the flags (declared once, with their checks) and settingsFrom(),
 * which turns the parsed flags into what the daemon is built from. Pure: argv and the
 * environment come in as arguments (yargs reads the environment only when main.ts parses).
 */
import yargs from 'yargs';
import { DEFAULT_PORT, defaultStateDir, MAX_PAYLOAD_BYTES, NO_DIR, parseHostPort, type HostPort } from '@hlsrelay/protocol';
import { checkSecurityFlags, SECURITY_OPTIONS } from './access/security-options';
import { DEFAULT_MAX_PAYLOAD_BYTES } from './ingest/payload-spool';
import { PRICES_2009 } from './ops/cost';
import { parseStatusListen } from './ops/status-server';
import type { SpendPrices } from './ops/uploader-metrics';
import { DEFAULT_CONCURRENCY, DEFAULT_REORDER_HOLD_MS, DEFAULT_WINDOW } from './publish/uploader';
import { DEFAULT_ARCHIVE_PATTERN } from './state/event-archive';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './targets/retry-policy';
import type { EncryptionMethod } from './publish/stream-encryption';
import type { S3TargetOptions } from './targets/s3-target';
import { parseFileMode, parseTargetUrl, type TargetSpec } from './targets/target-url';

/** Environment variables `HLSRELAY_UPLOADER_<FLAG NAME>` set any flag. */
export const ENV_PREFIX = 'HLSRELAY_UPLOADER';

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The daemon's flags and their checks, for `args` (argv without node and the script). Settings
 * from the environment and a config file reach it through protocol's loadSettingsSources (main.ts).
 */
export function uploaderParser(args: readonly string[], env: Env, version = 'unknown') {
  return yargs(args)
    .scriptName('uploader')
    .usage(
      '$0 [options]\n\n' +
        "Accepts index messages from segmenters on a TCP port, keeps each stream's live sliding-window " +
        'playlist and uploads every segment, then the playlist that lists it, to S3. Credentials come ' +
        'only from the standard AWS chain (environment, AWS_PROFILE and shared config, instance or ' +
        'container roles), never from flags.',
    )
    .wrap(100)
    .command('cost', 'what-if: what a live stream costs on S3 + CloudFront ("uploader cost --help")')
    .option('listen', {
      type: 'string',
      default: `127.0.0.1:${DEFAULT_PORT}`,
      describe: 'HOST:PORT (or PORT, on 127.0.0.1) to accept segmenters on (0.0.0.0:10234 for transcode machines elsewhere)',
    })
    .option('window', { type: 'number', default: DEFAULT_WINDOW, describe: 'segments listed in each live playlist' })
    .option('concurrency', {
      type: 'number',
      default: DEFAULT_CONCURRENCY,
      describe: 'uploads in flight at once, all streams together (each stream stays in order)',
    })
    .option('acl', {
      choices: ['public-read', 'none'] as const,
      default: 'public-read' as const,
      describe: 'canned ACL on every object; "none" for buckets that reject ACLs (use a bucket policy or CloudFront)',
    })
    .option('target', {
      type: 'string',
      array: true,
      default: ['s3:'],
      describe: 's3: | file:///dir | ftp(s)://user@host/path | sftp://user@host/path; repeat to mirror',
    })
    .option('startup-check', {
      type: 'boolean',
      default: true,
      describe:
        'check at start that credentials resolve and every target (and each --allow-bucket) takes a probe object, and exit 1 with the reason if not; --no-startup-check skips it',
    })
    .option('file-mode', {
      type: 'string',
      default: '0644',
      describe: 'mode of files stored on file, ftp and sftp targets (octal; a target URL\'s ?file-mode= wins)',
    })
    .option('mirror-drain-timeout', {
      type: 'number',
      describe: 'with several --target: seconds to let lagging mirrors catch up at shutdown (default: as long as it takes)',
    })
    .option('s3-endpoint', { type: 'string', describe: 'S3-compatible endpoint URL (MinIO, R2, s3rver)' })
    .option('s3-region', { type: 'string', describe: 'region (default: $AWS_REGION, else us-east-1)' })
    .option('s3-path-style', { type: 'boolean', default: false, describe: 'path-style URLs (<endpoint>/<bucket>/<key>)' })
    .option('retry-max-delay', {
      type: 'number',
      default: DEFAULT_RETRY_POLICY.maxDelayMs / 1000,
      describe: 'longest wait between retries of a failed upload, seconds (retries stop only with --give-up-after)',
    })
    .option('give-up-after', {
      type: 'number',
      default: 0,
      describe: 'seconds a segment upload may keep failing before it is given up: logged as an error, counted as refused, left out of the playlist (0: retry for ever)',
    })
    .option('reorder-hold', {
      type: 'number',
      default: DEFAULT_REORDER_HOLD_MS / 1000,
      describe:
        'seconds a 2009-style message (a connection each) that skips segment numbers waits for them, at most half a segment, ' +
        'so segments whose connections overtook each other are still listed in order (0: never wait)',
    })
    .option('state-dir', {
      type: 'string',
      describe:
        'journal accepted messages and playlist state here (fsync\'d before each OK; a restart continues every stream from it). ' +
        'Default: $STATE_DIRECTORY (systemd StateDirectory=), else $XDG_STATE_HOME/hlsrelay/uploader, else ~/.local/state/hlsrelay/uploader. ' +
        'Locked: a second uploader on it exits with an error. "none": no journal — each OK waits until the segment is stored, ' +
        'a crash loses what was not stored yet, and --ship-bytes is refused',
    })
    .option('max-payload-bytes', {
      type: 'number',
      default: DEFAULT_MAX_PAYLOAD_BYTES,
      describe: 'largest segment a segmenter may ship over its connection (segmenter --ship-bytes; spooled in the state directory until stored, so not with --state-dir none)',
    })
    .option('keep-local', { type: 'boolean', default: false, describe: 'keep local segment files after they are stored (default: removed once listed)' })
    .option('delete-after', {
      type: 'boolean',
      default: false,
      describe: 'delete segments from storage once they left the playlist plus the RFC 8216 grace (their duration + the longest playlist that listed them)',
    })
    .option('archive', {
      type: 'string',
      describe: `also publish an archive playlist of every segment (EVENT, ENDLIST at the end); NAME with %s for the playlist name, default "${DEFAULT_ARCHIVE_PATTERN}"`,
    })
    .option('encrypt', {
      choices: ['aes-128'] as const,
      describe: 'store every segment AES-128 encrypted (whole segment, RFC 8216 §5.2), keys made and kept in the state directory; needs --key-uri-prefix',
    })
    .option('key-rotation', {
      type: 'number',
      describe: 'with --encrypt: a new key every N segments of a stream (default: one key per run of the stream)',
    })
    .option('key-uri-prefix', {
      type: 'string',
      describe: 'with --encrypt: the URL prefix players fetch keys from (a key server or a private CloudFront path); the key name is appended',
    })
    .option('encrypt-streams', {
      choices: ['all', 'requested'] as const,
      describe: 'with --encrypt: "all" (default) encrypts every stream; "requested" only streams whose segmenter asks (segmenter --encrypt aes-128), so one uploader serves encrypted and clear streams',
    })
    .option('key-target', {
      type: 'string',
      describe: 'with --encrypt: where key objects are stored (s3: or file:///dir); default: the stream\'s own targets, under <key prefix>/keys/',
    })
    .option('status-listen', {
      type: 'string',
      describe: 'HOST:PORT (or PORT, on 127.0.0.1) serving /healthz, /metrics (Prometheus) and /status (JSON); off when not given',
    })
    .option('price-put-per-1000', { type: 'number', default: PRICES_2009.putPer1000, describe: 'S3 PUT requests, $ per 1,000 (for the spend estimate in /metrics)' })
    .option('price-transfer-in-per-gb', { type: 'number', default: PRICES_2009.transferInPerGb, describe: 'data into S3, $ per GB (spend estimate)' })
    .option('price-storage-per-gb-month', { type: 'number', default: PRICES_2009.storagePerGbMonth, describe: 'S3 storage, $ per GB-month (spend estimate)' })
    .option('log-level', { choices: ['error', 'warn', 'info', 'debug'] as const, default: 'info' as const })
    .option('log-json', { type: 'boolean', describe: 'JSON log lines (default: when stderr is not a terminal)' })
    .options(SECURITY_OPTIONS)
    .option('config', {
      type: 'string',
      describe: `YAML (.yaml, .yml) or JSON file of settings named like the flags, e.g. {"window": 6, "target": ["s3:"]}; also $${ENV_PREFIX}_CONFIG`,
    })
    .option('print-config', { type: 'boolean', describe: 'print the effective settings (flags > environment > file > defaults) as JSON and exit' })
    .epilog(
      `Every setting can also come from the environment as ${ENV_PREFIX}_<NAME> (e.g. ${ENV_PREFIX}_S3_ENDPOINT; ` +
        `a repeatable one as a comma-separated list, ${ENV_PREFIX}_TARGET=s3:,file:///srv/hls) or from --config FILE.`,
    )
    .example('$0', 'listen on 127.0.0.1:10234 and upload to AWS S3 with public-read objects')
    .example('$0 --listen 0.0.0.0:10234 --token-file /etc/hlsrelay/token --acl none', 'accept remote segmenters that present the token; the bucket policy grants reads')
    .example('$0 --s3-endpoint http://127.0.0.1:9000 --s3-path-style', 'upload to a local MinIO')
    .example('AWS_PROFILE=live $0 --window 6 --log-level debug', 'a named credentials profile, 6-segment playlists')
    .check((a) => {
      parseHostPort(a.listen, '--listen');
      checkSecurityFlags(a);
      if (!Number.isInteger(a.window) || a.window < 1) throw new Error(`--window must be an integer ≥ 1, got ${a.window}`);
      if (!Number.isInteger(a.concurrency) || a.concurrency < 1) {
        throw new Error(`--concurrency must be an integer ≥ 1, got ${a.concurrency}`);
      }
      if (!(a['retry-max-delay'] >= 0.25)) throw new Error(`--retry-max-delay must be ≥ 0.25 s, got ${a['retry-max-delay']}`);
      if (!(a['give-up-after'] >= 0) || !Number.isFinite(a['give-up-after'])) throw new Error(`--give-up-after must be seconds ≥ 0 (0: never), got ${a['give-up-after']}`);
      if (!(a['reorder-hold'] >= 0 && a['reorder-hold'] <= 60)) throw new Error(`--reorder-hold must be seconds from 0 to 60 (0: never wait), got ${a['reorder-hold']}`);
      if (a['state-dir'] !== undefined && a['state-dir'].trim() === '') throw new Error(`--state-dir must be a directory path or "${NO_DIR}", got ""`);
      if (!Number.isSafeInteger(a['max-payload-bytes']) || a['max-payload-bytes'] < 1 || a['max-payload-bytes'] > MAX_PAYLOAD_BYTES) {
        throw new Error(`--max-payload-bytes must be a whole number of bytes from 1 to ${MAX_PAYLOAD_BYTES}, got ${a['max-payload-bytes']}`);
      }
      if (a.archive !== undefined && a.archive !== '' && !/^[^/\\]*%s[^/\\]*\.m3u8$/.test(a.archive)) {
        throw new Error(`--archive must be a playlist name containing %s and ending in .m3u8 (e.g. ${DEFAULT_ARCHIVE_PATTERN}), got "${a.archive}"`);
      }
      if (a['delete-after'] && a.archive !== undefined) {
        throw new Error('--delete-after and --archive exclude each other: the archive lists every segment, so none may be deleted');
      }
      a.target.forEach((v) => parseTargetUrl(v, env));
      parseFileMode(a['file-mode'], '--file-mode');
      if (a['status-listen'] !== undefined) parseStatusListen(a['status-listen']);
      checkEncryptionFlags(a, env);
      for (const option of ['price-put-per-1000', 'price-transfer-in-per-gb', 'price-storage-per-gb-month'] as const) {
        if (!(a[option] >= 0)) throw new Error(`--${option} must be a price ≥ 0, got ${a[option]}`);
      }
      const drain = a['mirror-drain-timeout'];
      if (drain !== undefined && !(drain >= 0)) throw new Error(`--mirror-drain-timeout must be seconds ≥ 0, got ${drain}`);
      if (a['s3-endpoint'] !== undefined && !/^https?:\/\/[^/]+/.test(a['s3-endpoint'])) {
        throw new Error(`--s3-endpoint must be an http(s) URL, got "${a['s3-endpoint']}"`);
      }
      return true;
    })
    .strict()
    .help()
    .alias('help', 'h')
    .version(version)
    .alias('version', 'V');
}

export type UploaderArgs = Awaited<ReturnType<ReturnType<typeof uploaderParser>['parse']>>;

/** What the daemon is built from, checked and in the units the code uses (ms, parsed URLs). */
export interface UploaderSettings {
  listen: HostPort;
  window: number;
  concurrency: number;
  retry: RetryPolicy;
  giveUpAfterMs: number;
  /** `--reorder-hold`: see UploaderOptions.reorderHoldMs. */
  reorderHoldMs: number;
  targets: TargetSpec[];
  s3: Pick<S3TargetOptions, 'acl' | 'endpoint' | 'region' | 'forcePathStyle' | 'maxSockets'>;
  drainTimeoutMs: number | undefined;
  /** Check credentials and targets before listening (`--no-startup-check` turns it off). */
  startupCheck: boolean;
  fileMode: number;
  /** The journal's directory; undefined with `--state-dir none`. */
  stateDir: string | undefined;
  /** Where stateDir came from: the flag (or its variable or file), the default, or the opt-out. */
  stateDirFrom: StateDirSource;
  maxPayloadBytes: number;
  removeLocal: boolean;
  deleteAfter: boolean;
  archive: string | undefined;
  statusListen: ReturnType<typeof parseStatusListen> | undefined;
  /** `--encrypt` and its key flags; undefined stores segments clear. */
  encryption: EncryptionFlags | undefined;
  prices: SpendPrices;
  log: { level: UploaderArgs['log-level']; json: boolean | undefined };
}

/** The parsed flags as settings; `env` supplies the AWS region fallback and `$VAR` secrets of target URLs. */
export function settingsFrom(argv: UploaderArgs, env: Env): UploaderSettings {
  const drainSeconds = argv['mirror-drain-timeout'];
  return {
    listen: parseHostPort(argv.listen, '--listen'),
    window: argv.window,
    concurrency: argv.concurrency,
    retry: { initialDelayMs: DEFAULT_RETRY_POLICY.initialDelayMs, maxDelayMs: argv['retry-max-delay'] * 1000 },
    giveUpAfterMs: argv['give-up-after'] * 1000,
    reorderHoldMs: argv['reorder-hold'] * 1000,
    targets: argv.target.map((v) => parseTargetUrl(v, env)),
    s3: {
      acl: argv.acl,
      endpoint: argv['s3-endpoint'],
      region: argv['s3-region'] ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION,
      forcePathStyle: argv['s3-path-style'],
      maxSockets: argv.concurrency,
    },
    drainTimeoutMs: drainSeconds === undefined ? undefined : drainSeconds * 1000,
    startupCheck: argv['startup-check'],
    fileMode: parseFileMode(argv['file-mode'], '--file-mode'),
    ...stateDirFrom(argv['state-dir'], env),
    maxPayloadBytes: argv['max-payload-bytes'],
    removeLocal: !argv['keep-local'],
    deleteAfter: argv['delete-after'],
    archive: argv.archive === undefined ? undefined : argv.archive || DEFAULT_ARCHIVE_PATTERN,
    statusListen: argv['status-listen'] === undefined ? undefined : parseStatusListen(argv['status-listen']),
    encryption: argv.encrypt === undefined ? undefined : {
      method: argv.encrypt,
      rotation: argv['key-rotation'],
      keyUriPrefix: argv['key-uri-prefix']!,
      keyTarget: argv['key-target'] === undefined ? undefined : parseTargetUrl(argv['key-target'], env),
      streams: argv['encrypt-streams'] ?? 'all',
    },
    prices: {
      putPer1000: argv['price-put-per-1000'],
      transferInPerGb: argv['price-transfer-in-per-gb'],
      storagePerGbMonth: argv['price-storage-per-gb-month'],
    },
    log: { level: argv['log-level'], json: argv['log-json'] },
  };
}

export interface EncryptionFlags {
  method: EncryptionMethod;
  rotation: number | undefined;
  keyUriPrefix: string;
  keyTarget: TargetSpec | undefined;
  streams: 'all' | 'requested';
}

type EncryptionArgs = { encrypt?: string; 'key-rotation'?: number; 'key-uri-prefix'?: string; 'key-target'?: string; 'encrypt-streams'?: string; 'state-dir'?: string };

/** The key flags only with --encrypt, and what --encrypt cannot do without. */
function checkEncryptionFlags(a: EncryptionArgs, env: Env): void {
  if (a.encrypt === undefined) {
    const stray = (['key-rotation', 'key-uri-prefix', 'key-target', 'encrypt-streams'] as const).filter((f) => a[f] !== undefined);
    if (stray.length > 0) throw new Error(`--${stray[0]} only has a meaning with --encrypt aes-128`);
    return;
  }
  const prefix = a['key-uri-prefix'];
  if (prefix === undefined || prefix.trim() === '') {
    throw new Error('--encrypt needs --key-uri-prefix URL: where players fetch keys (e.g. https://keys.example.com/live/)');
  }
  if (/["\r\n]/.test(prefix)) throw new Error(`--key-uri-prefix cannot carry quotes or line breaks, got ${JSON.stringify(prefix)}`);
  const rotation = a['key-rotation'];
  if (rotation !== undefined && !(Number.isInteger(rotation) && rotation >= 1)) {
    throw new Error(`--key-rotation must be a whole number of segments ≥ 1, got ${rotation}`);
  }
  if (a['state-dir'] === NO_DIR) throw new Error(`--encrypt needs a state directory (keys are kept there), not --state-dir ${NO_DIR}`);
  if (a['key-target'] !== undefined) {
    const spec = parseTargetUrl(a['key-target'], env);
    if (spec.scheme !== 's3' && spec.scheme !== 'file') throw new Error(`--key-target must be s3: or file:///dir (keys are stored private there), got "${a['key-target']}"`);
  }
}

export type StateDirSource = 'given' | 'default' | 'none';

/**
 * The journal's directory: as given, `none` for no journal, or by default the service manager's
 * or the user's state directory (protocol state-home.ts).
 */
export function stateDirFrom(given: string | undefined, env: Env): { stateDir: string | undefined; stateDirFrom: StateDirSource } {
  if (given === NO_DIR) return { stateDir: undefined, stateDirFrom: 'none' };
  if (given !== undefined) return { stateDir: given, stateDirFrom: 'given' };
  const dir = defaultStateDir(env, 'uploader');
  if (dir === undefined) {
    throw new Error(`no default state directory: neither $STATE_DIRECTORY, $XDG_STATE_HOME nor $HOME is set; give --state-dir DIR (or --state-dir ${NO_DIR} to run without a journal)`);
  }
  return { stateDir: dir, stateDirFrom: 'default' };
}
