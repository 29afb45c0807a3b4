/**
 * `uploader`: the long-running daemon. The only file that touches argv, the environment,
 * signals and the exit code.
 */
import os from 'node:os';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { createLogger } from '@hlsrelay/log';
import {
  checkEnvironment,
  configPathFrom,
  DEFAULT_PORT,
  effectiveSettings,
  parseHostPort,
  readConfigFile,
  type OptionTable,
} from '@hlsrelay/protocol';
import { DEFAULT_RETRY_POLICY } from './targets/retry-policy';
import { PRICES_2009 } from './ops/cost';
import { S3Target, type CannedAcl } from './targets/s3-target';
import { createTransferTarget } from './targets/create-target';
import { buildCostParser, costReport } from './ops/cost-command';
import { parseStatusListen, startStatusServer } from './ops/status-server';
import { UploaderMetrics, type SpendPrices } from './ops/uploader-metrics';
import { MirrorTarget } from './targets/wrappers/mirror-target';
import { parseTargetUrl } from './targets/target-url';
import { DEFAULT_ARCHIVE_PATTERN } from './state/event-archive';
import { buildTargetStack, startUploaderService } from './service';
import { checkSecurityFlags, SECURITY_OPTIONS, securitySettings } from './access/security-options';
import { DEFAULT_CONCURRENCY, DEFAULT_WINDOW } from './publish/uploader';
import { createPayloadSpoolDir, DEFAULT_MAX_PAYLOAD_BYTES } from './ingest/payload-spool';
import { MAX_PAYLOAD_BYTES } from '@hlsrelay/protocol';

/** Environment variables `HLSRELAY_UPLOADER_<FLAG NAME>` set any flag. */
const ENV_PREFIX = 'HLSRELAY_UPLOADER';

async function main(): Promise<void> {
  if (hideBin(process.argv)[0] === 'cost') {
    const args = await buildCostParser(hideBin(process.argv).slice(1)).parseAsync();
    process.stdout.write(costReport(args) + '\n');
    return;
  }
  const parser = yargs(hideBin(process.argv))
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
      describe: 'HOST:PORT to accept segmenters on (0.0.0.0:10234 for transcode machines elsewhere)',
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
    .option('state-dir', {
      type: 'string',
      describe: 'journal accepted messages and playlist state here (fsync\'d before each OK); a restart continues every stream from it',
    })
    .option('max-payload-bytes', {
      type: 'number',
      default: DEFAULT_MAX_PAYLOAD_BYTES,
      describe: 'largest segment a segmenter may ship over its connection (segmenter --ship-bytes; taken only with --state-dir, spooled there until stored)',
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
      describe: `JSON file of settings named like the flags, e.g. {"window": 6, "target": ["s3:"]}; also $${ENV_PREFIX}_CONFIG`,
    })
    .option('print-config', { type: 'boolean', describe: 'print the effective settings (flags > environment > file > defaults) as JSON and exit' })
    .env(ENV_PREFIX)
    .epilog(`Every setting can also come from the environment as ${ENV_PREFIX}_<NAME> (e.g. ${ENV_PREFIX}_S3_ENDPOINT) or from --config FILE.`)
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
      if (a['state-dir'] !== undefined && a['state-dir'].trim() === '') throw new Error('--state-dir must be a directory path, got ""');
      if (!Number.isSafeInteger(a['max-payload-bytes']) || a['max-payload-bytes'] < 1 || a['max-payload-bytes'] > MAX_PAYLOAD_BYTES) {
        throw new Error(`--max-payload-bytes must be a whole number of bytes from 1 to ${MAX_PAYLOAD_BYTES}, got ${a['max-payload-bytes']}`);
      }
      if (a.archive !== undefined && a.archive !== '' && !/^[^/\\]*%s[^/\\]*\.m3u8$/.test(a.archive)) {
        throw new Error(`--archive must be a playlist name containing %s and ending in .m3u8 (e.g. ${DEFAULT_ARCHIVE_PATTERN}), got "${a.archive}"`);
      }
      if (a['delete-after'] && a.archive !== undefined) {
        throw new Error('--delete-after and --archive exclude each other: the archive lists every segment, so none may be deleted');
      }
      a.target.forEach((v) => parseTargetUrl(v, process.env));
      if (a['status-listen'] !== undefined) parseStatusListen(a['status-listen']);
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
    .help();
  // Checked before yargs coerces them, so a bad value names its variable or file.
  const table = (parser as unknown as { getOptions(): OptionTable }).getOptions();
  checkEnvironment(process.env, ENV_PREFIX, table);
  const configFile = configPathFrom(hideBin(process.argv), process.env, ENV_PREFIX);
  if (configFile !== undefined) parser.config(readConfigFile(configFile, table));
  const argv = await parser.parse();
  if (argv['print-config']) {
    process.stdout.write(JSON.stringify(effectiveSettings(argv, table), null, 2) + '\n');
    return;
  }

  const logger = createLogger({ service: 'uploader', level: argv['log-level'], json: argv['log-json'] });
  const { host, port } = parseHostPort(argv.listen, '--listen');
  // Shipped segment bytes are read from the spool under --state-dir, whatever --allow-dir says.
  const spoolDirs = argv['state-dir'] === undefined ? [] : [createPayloadSpoolDir(argv['state-dir'])];
  const security = await securitySettings(argv, {
    dirs: [os.tmpdir()],
    ownDirs: spoolDirs,
    listenHost: host,
    tokenFromEnv: process.env.HLSRELAY_TOKEN,
  });
  for (const warning of security.warnings) logger.warn(warning);
  const retry = { initialDelayMs: DEFAULT_RETRY_POLICY.initialDelayMs, maxDelayMs: argv['retry-max-delay'] * 1000 };
  const specs = argv.target.map((v) => parseTargetUrl(v, process.env));
  const makeS3 = () =>
    new S3Target({
      acl: argv.acl as CannedAcl,
      endpoint: argv['s3-endpoint'],
      region: argv['s3-region'] ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION,
      forcePathStyle: argv['s3-path-style'],
      maxSockets: argv.concurrency,
    });
  const statusListen = argv['status-listen'] === undefined ? undefined : parseStatusListen(argv['status-listen']);
  const prices: SpendPrices = {
    putPer1000: argv['price-put-per-1000'],
    transferInPerGb: argv['price-transfer-in-per-gb'],
    storagePerGbMonth: argv['price-storage-per-gb-month'],
  };
  const metrics = statusListen && new UploaderMetrics({ prices });
  const created = await Promise.all(specs.map((s) => createTransferTarget(s, { logger, env: process.env, s3: makeS3 })));
  const drainSeconds = argv['mirror-drain-timeout'];
  const target = buildTargetStack({
    targets: created,
    policy: security.policy,
    logger,
    metrics,
    concurrency: argv.concurrency,
    retry,
    giveUpAfterMs: argv['give-up-after'] * 1000,
    drainTimeoutMs: drainSeconds === undefined ? undefined : drainSeconds * 1000,
  });
  const service = await startUploaderService({
    target,
    logger,
    host,
    port,
    window: argv.window,
    concurrency: argv.concurrency,
    retry,
    giveUpAfterMs: argv['give-up-after'] * 1000,
    policy: security.policy,
    limits: security.limits,
    token: security.token,
    tls: security.tls,
    stateDir: argv['state-dir'],
    maxPayloadBytes: argv['max-payload-bytes'],
    removeLocal: !argv['keep-local'],
    deleteAfter: argv['delete-after'],
    archive: argv.archive === undefined ? undefined : argv.archive || DEFAULT_ARCHIVE_PATTERN,
  });
  logger.info('listening for segmenters', {
    address: `${service.address.host}:${service.address.port}`,
    target: target.name,
    token: security.token ? 'required' : 'none',
    tls: security.tls ? 'on' : 'off',
  });
  logger.info('messages may read segments under', { dirs: security.policy.paths.roots.join(' '), buckets: security.policy.keys.describe().join(' ') || 'any' });
  metrics?.watch(service.uploader);
  // Unhealthy from the first stop signal on: load balancers stop sending while the queue drains.
  let stopping = false;
  const status =
    statusListen && metrics
      ? await startStatusServer(statusListen.host, statusListen.port, { metrics, logger, healthy: () => !stopping })
      : undefined;
  if (status) logger.info('status listening', { address: `${status.address.host}:${status.address.port}`, paths: '/healthz /metrics /status' });

  let signals = 0;
  const stop = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      logger.error('second signal: exiting with uploads still queued', { signal, queued: service.uploader.stats.queued });
      process.exit(1);
    }
    stopping = true;
    logger.info('stopping: no new connections; finishing queued uploads', { signal, queued: service.uploader.stats.queued });
    service.close().then(
      () => {
        if (target instanceof MirrorTarget) {
          for (const { name, ...totals } of target.stats()) logger.info('mirror totals', { target: name, ...totals });
        }
        logger.info('all uploads done; bye', { ...service.uploader.stats });
        void status?.close();
        // Let winston flush before leaving.
        setImmediate(() => process.exit(0));
      },
      (err: unknown) => {
        logger.error('shutdown failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`uploader: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
