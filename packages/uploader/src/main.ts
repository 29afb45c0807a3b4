/**
 * `uploader`: the long-running daemon. The only file that touches argv, the environment,
 * signals and the exit code; the flags and their meaning are cli.ts's.
 */
import os from 'node:os';
import { hideBin } from 'yargs/helpers';
import { createLogger, type Logger } from '@hlsrelay/log';
import { acquireDirLock, checkFlagValues, effectiveSettings, loadSettingsSources, runtimeSupportNotice, streamName, usageErrorText, type AcquiredLock, type LoadedSources, type OptionTable, type SettingsParser } from '@hlsrelay/protocol';
import { securitySettings } from './access/security-options';
import { ENV_PREFIX, settingsFrom, uploaderParser, type UploaderSettings } from './cli';
import { createPayloadSpoolDir } from './ingest/payload-spool';
import { createEncryptionWorkDir } from './publish/segment-encryption';
import { buildCostParser, costReport } from './ops/cost-command';
import { shutdownReport, uploadsKeepFailing } from './ops/shutdown-report';
import { startStatusServer } from './ops/status-server';
import { UploaderMetrics } from './ops/uploader-metrics';
import { buildTargetStack, startUploaderService } from './service';
import { createTransferTarget } from './targets/create-target';
import { S3Target } from './targets/s3-target';
import { MirrorTarget } from './targets/wrappers/mirror-target';
import { TargetCheckError } from './targets/target-check';
import { BucketSightings, checkTargetsAtStart } from './targets/target-checks';
import { parseBucketGrant } from './access/allowed-keys';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION = (require('../package.json') as { version: string }).version;

/** A refused command line: one line and the --help hint on stderr, exit code 2. */
const USAGE_EXIT = 2;

type YargsFail = { fail(f: (message: string, error?: Error) => void): unknown };
/** yargs prints the whole help on a mistake unless told otherwise: raise it for one line instead. */
function throwOnFail<P extends YargsFail>(parser: P): P {
  parser.fail((message, error) => {
    throw error ?? new TypeError(message);
  });
  return parser;
}

function refuse(command: string, err: unknown, argv: readonly string[], parser: unknown, sources?: LoadedSources): void {
  const table = sources?.table ?? (parser as { getOptions(): OptionTable }).getOptions();
  process.stderr.write(usageErrorText(command, (err as Error).message, argv, table, sources?.origins));
  process.exitCode = USAGE_EXIT;
}

async function costMain(argv: string[]): Promise<void> {
  const parser = throwOnFail(buildCostParser(argv, VERSION));
  try {
    // The calculator reads no environment or config file: its flags are all it takes.
    checkFlagValues(argv, (parser as unknown as SettingsParser).getOptions());
    process.stdout.write(costReport(await parser.parseAsync()) + '\n');
  } catch (err) {
    refuse('uploader cost', err, argv, parser);
  }
}

async function main(): Promise<void> {
  const args = hideBin(process.argv);
  if (args[0] === 'cost') return costMain(args.slice(1));
  const parser = throwOnFail(uploaderParser(args, process.env, VERSION));
  let sources: LoadedSources | undefined;
  let argv;
  try {
    // Checked before yargs coerces them, so a bad value names its variable or file.
    sources = loadSettingsSources(parser as unknown as SettingsParser, args, process.env, ENV_PREFIX);
    argv = await parser.parseAsync();
  } catch (err) {
    return refuse('uploader', err, args, parser, sources);
  }
  if (argv['print-config']) {
    process.stdout.write(JSON.stringify(effectiveSettings(argv, sources.table), null, 2) + '\n');
    return;
  }

  const settings = settingsFrom(argv, process.env);
  const logger = createLogger({ service: 'uploader', level: settings.log.level, json: settings.log.json });
  const runtime = runtimeSupportNotice(process.version, new Date());
  if (runtime) logger.warn(runtime.message, runtime.meta);
  const { host, port } = settings.listen;
  const stateLock = lockStateDir(settings, logger);
  // Every exit but a kill -9 leaves the directory free; after one, the next start takes it over.
  process.once('exit', () => stateLock?.release());
  // Shipped segment bytes are read from the spool under --state-dir, whatever --allow-dir says.
  const spoolDirs = settings.stateDir === undefined ? [] : [createPayloadSpoolDir(settings.stateDir)];
  // Ciphertext waiting to be stored is read by the targets from there too (never the keys' folder).
  if (settings.encryption && settings.stateDir !== undefined) spoolDirs.push(createEncryptionWorkDir(settings.stateDir));
  const security = await securitySettings(argv, {
    dirs: [os.tmpdir()],
    ownDirs: spoolDirs,
    listenHost: host,
    tokenFromEnv: process.env.HLSRELAY_TOKEN,
  });
  for (const warning of security.warnings) logger.warn(warning);
  const makeS3 = () => new S3Target(settings.s3);
  const metrics = settings.statusListen && new UploaderMetrics({ prices: settings.prices, build: { version: VERSION, node: process.version } });
  const created = await Promise.all(
    settings.targets.map((s) => createTransferTarget(s, { logger, env: process.env, s3: makeS3, fileMode: settings.fileMode })),
  );
  const keyTarget = settings.encryption?.keyTarget && (await createTransferTarget(settings.encryption.keyTarget, { logger, env: process.env, s3: makeS3, fileMode: settings.fileMode }));
  const keyless = settings.encryption && (keyTarget ? [keyTarget] : created).find((t) => t.putKey === undefined);
  if (keyless) {
    logger.error('--encrypt: this target cannot store content keys privately; give --key-target s3: or file:///dir', { target: keyless.name });
    setImmediate(() => process.exit(1));
    return;
  }
  const granted = (argv['allow-bucket'] ?? []).map((g) => parseBucketGrant(g));
  if (settings.startupCheck) {
    try {
      await checkTargetsAtStart(keyTarget ? [...created, keyTarget] : created, granted, logger);
    } catch (err) {
      if (!(err instanceof TargetCheckError)) throw err;
      logger.error(`start-up check failed: ${err.message}`, { ...err.fields(), skip: '--no-startup-check' });
      await Promise.all([...created, ...(keyTarget ? [keyTarget] : [])].map((t) => t.close()));
      // Let winston flush before leaving.
      setImmediate(() => process.exit(1));
      return;
    }
  } else {
    logger.warn('start-up checks skipped (--no-startup-check): credentials, buckets and targets are first tried by the first upload');
  }
  const sightings = settings.startupCheck ? new BucketSightings(created, logger, granted) : undefined;
  const target = buildTargetStack({
    targets: created,
    policy: security.policy,
    logger,
    metrics,
    concurrency: settings.concurrency,
    retry: settings.retry,
    giveUpAfterMs: settings.giveUpAfterMs,
    drainTimeoutMs: settings.drainTimeoutMs,
  });
  const service = await startUploaderService({
    target,
    logger,
    host,
    port,
    window: settings.window,
    concurrency: settings.concurrency,
    retry: settings.retry,
    giveUpAfterMs: settings.giveUpAfterMs,
    reorderHoldMs: settings.reorderHoldMs,
    policy: security.policy,
    limits: security.limits,
    token: security.token,
    tls: security.tls,
    stateDir: settings.stateDir,
    maxPayloadBytes: settings.maxPayloadBytes,
    removeLocal: settings.removeLocal,
    deleteAfter: settings.deleteAfter,
    archive: settings.archive,
    encryption: settings.encryption && { ...settings.encryption, keyTarget },
    onAdmitted: sightings && ((m) => sightings.sight({ bucket: m.bucketName, prefix: m.keyPrefix }, { stream: streamName(m), segment: m.lastSegment })),
  });
  // Unhealthy from the first stop signal on: load balancers stop sending while the queue drains.
  let stopping = false;
  let status: Awaited<ReturnType<typeof startStatusServer>> | undefined;
  // The handlers come before the first line that says the uploader is up: a SIGTERM sent on
  // reading it would otherwise end the process unhandled (no report, no drain, no exit code).
  const waitingFor = () => shutdownReport(service.uploader, target);
  const keepsFailing = () => uploadsKeepFailing(service.uploader, target);
  let signals = 0;
  const stop = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      logger.error('second signal: quitting at once with uploads not done', {
        signal,
        ...waitingFor(),
        left: settings.stateDir === undefined ? 'lost: with --state-dir none nothing remembers them' : `kept in the journal in ${settings.stateDir}: the next start uploads them`,
      });
      setImmediate(() => process.exit(1));
      return;
    }
    stopping = true;
    const waiting = waitingFor();
    if (!keepsFailing()) {
      logger.info('stopping: no new connections; finishing queued uploads (a second SIGTERM or SIGINT quits at once)', { signal, ...waiting });
    } else {
      logger.warn('stopping: waiting for uploads that keep failing; a second SIGTERM or SIGINT quits at once and leaves them', { signal, ...waiting });
    }
    // While uploads keep failing, say so now and then: a silent wait looks like a hang.
    const reminder = setInterval(() => {
      const now = waitingFor();
      if (keepsFailing()) logger.warn('still stopping: waiting for uploads that keep failing; a second SIGTERM or SIGINT quits at once', now);
    }, 10_000);
    reminder.unref();
    service.close().then(
      () => {
        clearInterval(reminder);
        if (target instanceof MirrorTarget) {
          for (const { name, ...totals } of target.stats()) logger.info('mirror totals', { target: name, ...totals });
        }
        logger.info('all uploads done; bye', { ...service.uploader.stats });
        void status?.close();
        void keyTarget?.close();
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
  logger.info('listening for segmenters', {
    address: `${service.address.host}:${service.address.port}`,
    target: target.name,
    token: security.token ? 'required' : 'none',
    tls: security.tls ? 'on' : 'off',
    encryption: settings.encryption ? `${settings.encryption.method}, keys fetched from ${settings.encryption.keyUriPrefix}` : 'off',
  });
  logger.info('messages may read segments under', { dirs: security.policy.paths.roots.join(' '), buckets: security.policy.keys.describe().join(' ') || 'any' });
  metrics?.watch(service.uploader);
  status =
    settings.statusListen && metrics
      ? await startStatusServer(settings.statusListen.host, settings.statusListen.port, { metrics, logger, healthy: () => !stopping })
      : undefined;
  if (status) logger.info('status listening', { address: `${status.address.host}:${status.address.port}`, paths: '/healthz /metrics /status' });
}

/**
 * Takes the state directory's lock (a second uploader there would interleave journal records),
 * or says at warn what running without a journal gives up.
 */
function lockStateDir(settings: UploaderSettings, logger: Logger): AcquiredLock | undefined {
  if (settings.stateDir === undefined) {
    logger.warn(
      'no state directory (--state-dir none): nothing is journaled. Each message is acknowledged only once its segment is stored, ' +
        'so segmenters wait longer; a crash forgets queued messages the segmenters have not been told OK for (they resend them) and ' +
        'every playlist\'s state (recovered from the stored playlist, behind a discontinuity); --ship-bytes is refused',
    );
    return undefined;
  }
  const lock = acquireDirLock(settings.stateDir, { pid: process.pid, host: os.hostname(), what: 'state directory' });
  if (lock.tookOverFrom) {
    logger.warn('took over the lock of a process that is gone (a crash or kill); continuing from its journal', {
      dir: settings.stateDir,
      pid: lock.tookOverFrom.pid,
      host: lock.tookOverFrom.host,
    });
  }
  logger.info('journal in the state directory', { dir: settings.stateDir, from: settings.stateDirFrom === 'default' ? 'default (--state-dir moves it)' : '--state-dir' });
  return lock;
}

main().catch((err: unknown) => {
  process.stderr.write(`uploader: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
