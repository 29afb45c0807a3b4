/**
 * `uploader`: the long-running daemon. The only file that touches argv, the environment,
 * signals and the exit code; the flags and their meaning are cli.ts's.
 */
import os from 'node:os';
import { hideBin } from 'yargs/helpers';
import { createLogger, type Logger } from '@hlsrelay/log';
import { acquireDirLock, checkEnvironment, configPathFrom, effectiveSettings, readConfigFile, type AcquiredLock, type OptionTable } from '@hlsrelay/protocol';
import { securitySettings } from './access/security-options';
import { ENV_PREFIX, settingsFrom, uploaderParser, type UploaderSettings } from './cli';
import { createPayloadSpoolDir } from './ingest/payload-spool';
import { buildCostParser, costReport } from './ops/cost-command';
import { startStatusServer } from './ops/status-server';
import { UploaderMetrics } from './ops/uploader-metrics';
import { buildTargetStack, startUploaderService } from './service';
import { createTransferTarget } from './targets/create-target';
import { S3Target } from './targets/s3-target';
import { MirrorTarget } from './targets/wrappers/mirror-target';

async function main(): Promise<void> {
  if (hideBin(process.argv)[0] === 'cost') {
    const args = await buildCostParser(hideBin(process.argv).slice(1)).parseAsync();
    process.stdout.write(costReport(args) + '\n');
    return;
  }
  const args = hideBin(process.argv);
  const parser = uploaderParser(args, process.env);
  // Checked before yargs coerces them, so a bad value names its variable or file.
  const table = (parser as unknown as { getOptions(): OptionTable }).getOptions();
  checkEnvironment(process.env, ENV_PREFIX, table);
  const configFile = configPathFrom(args, process.env, ENV_PREFIX);
  if (configFile !== undefined) parser.config(readConfigFile(configFile, table));
  const argv = await parser.parse();
  if (argv['print-config']) {
    process.stdout.write(JSON.stringify(effectiveSettings(argv, table), null, 2) + '\n');
    return;
  }

  const settings = settingsFrom(argv, process.env);
  const logger = createLogger({ service: 'uploader', level: settings.log.level, json: settings.log.json });
  const { host, port } = settings.listen;
  const stateLock = lockStateDir(settings, logger);
  // Every exit but a kill -9 leaves the directory free; after one, the next start takes it over.
  process.once('exit', () => stateLock?.release());
  // Shipped segment bytes are read from the spool under --state-dir, whatever --allow-dir says.
  const spoolDirs = settings.stateDir === undefined ? [] : [createPayloadSpoolDir(settings.stateDir)];
  const security = await securitySettings(argv, {
    dirs: [os.tmpdir()],
    ownDirs: spoolDirs,
    listenHost: host,
    tokenFromEnv: process.env.HLSRELAY_TOKEN,
  });
  for (const warning of security.warnings) logger.warn(warning);
  const makeS3 = () => new S3Target(settings.s3);
  const metrics = settings.statusListen && new UploaderMetrics({ prices: settings.prices });
  const created = await Promise.all(settings.targets.map((s) => createTransferTarget(s, { logger, env: process.env, s3: makeS3 })));
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
    policy: security.policy,
    limits: security.limits,
    token: security.token,
    tls: security.tls,
    stateDir: settings.stateDir,
    maxPayloadBytes: settings.maxPayloadBytes,
    removeLocal: settings.removeLocal,
    deleteAfter: settings.deleteAfter,
    archive: settings.archive,
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
    settings.statusListen && metrics
      ? await startStatusServer(settings.statusListen.host, settings.statusListen.port, { metrics, logger, healthy: () => !stopping })
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
