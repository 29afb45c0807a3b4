/**
 * The segmenter daemon's entry: the only file that touches argv, stdin, signals and exit.
 */
import fs from 'node:fs';
import os from 'node:os';
import { hideBin } from 'yargs/helpers';
import { lazyLogger } from './lazy-logger';
import { checkEnvironment, configPathFrom, effectiveSettings, readConfigFile, streamName, type OptionTable } from '@hlsrelay/protocol';
import { buildParser, SEGMENTER_ENV_PREFIX, settingsFrom, type SegmenterSettings } from './cli';
import { fileChunks } from './live/file-source';
import { LiveSegmenter } from './live/live-segmenter';
import { Notifier } from './delivery/notifier';
import { Spool } from './delivery/spool';
import { StatusLine } from './live/status-line';
import { uploaderAccess, type UploaderAccess } from './delivery/uploader-access';
// The ladder's modules load only for `segmenter ladder` (ladderMain): a plain run starts faster.
import type { LadderSettings } from './ladder/ladder-cli';

async function main(): Promise<number> {
  if (hideBin(process.argv)[0] === 'ladder') return ladderMain(hideBin(process.argv).slice(1));
  let settings: SegmenterSettings;
  try {
    const parser = buildParser(hideBin(process.argv), process.stdout.columns).fail((message, error) => {
      throw error ?? new TypeError(message);
    });
    // Checked before yargs coerces them, so a bad value names its variable or file.
    const table = (parser as unknown as { getOptions(): OptionTable }).getOptions();
    checkEnvironment(process.env, SEGMENTER_ENV_PREFIX, table);
    const configFile = configPathFrom(hideBin(process.argv), process.env, SEGMENTER_ENV_PREFIX);
    if (configFile !== undefined) parser.config(readConfigFile(configFile, table));
    const args = await parser.parseAsync();
    if (args['print-config']) {
      process.stdout.write(JSON.stringify(effectiveSettings(args, table), null, 2) + '\n');
      return 0;
    }
    settings = settingsFrom(args, process.env);
  } catch (e) {
    process.stderr.write(`segmenter: ${(e as Error).message}\nRun "segmenter --help" for usage.\n`);
    return 2;
  }

  // Every line names the stream, in the uploader's form (s3://bucket/prefix/index), so the two
  // daemons' logs of one stream can be joined.
  const logger = lazyLogger({ service: 'segmenter', level: settings.logLevel, json: settings.logJson }).child({ stream: streamName(settings) });
  try {
    fs.mkdirSync(settings.outputDirectory, { recursive: true });
  } catch (e) {
    logger.error('cannot create the output directory', { dir: settings.outputDirectory, error: (e as Error).message });
    return 1;
  }

  let spool: Spool | undefined;
  try {
    spool = settings.spoolDir === undefined ? undefined : new Spool(settings.spoolDir, { maxMessages: settings.spoolMaxMessages, logger, owner: processOwner() });
  } catch (e) {
    logger.error('cannot open the spool directory', { dir: settings.spoolDir, error: (e as Error).message });
    return 1;
  }
  if (spool) logger.info('undelivered index messages are spooled', { dir: spool.dir, from: settings.spoolDefault ? 'default (--spool-dir moves it)' : '--spool-dir' });
  else logger.warn('no spool (--spool-dir none): index messages not yet acknowledged live in memory only; a restart of this segmenter loses them');
  let access: UploaderAccess;
  try {
    access = uploaderAccess(settings, process.env.HLSRELAY_TOKEN);
  } catch (e) {
    process.stderr.write(`segmenter: ${(e as Error).message}\n`);
    return 2;
  }
  const notifier = new Notifier({ uploader: settings.uploader, logger, spool, shipBytes: settings.shipBytes, ...access });
  const segmenter = new LiveSegmenter({
    ...settings,
    notify: (message) => {
      logger.debug('index message', { message });
      notifier.send(message);
    },
    logger,
  });

  const stop = new AbortController();
  let stopSignals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (++stopSignals > 1) {
      logger.warn(`second ${signal}: exiting without finishing`, { queued: notifier.pending });
      process.exit(130);
    }
    logger.info(`${signal}: finishing the current segment`);
    stop.abort();
    if (settings.input === '-') process.stdin.destroy();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const showStatus = settings.status === 'always' || (settings.status === 'auto' && process.stderr.isTTY);
  const status = new StatusLine(Date.now());
  const statusTimer = showStatus
    ? setInterval(() => process.stderr.write(status.render(segmenter.stats, Date.now(), notifier.pending) + '\n'), 2000)
    : undefined;

  let code = 0;
  logger.info('segmenting', {
    input: settings.input === '-' ? 'stdin' : settings.input,
    target: settings.segmentDuration,
    dir: settings.outputDirectory,
    prefix: settings.outputPrefix,
    first: settings.startNumber,
    uploader: `${settings.uploader.host}:${settings.uploader.port}`,
  });
  try {
    const chunks = settings.input === '-' ? process.stdin : fileChunks(settings.input, settings.readSize, stop.signal);
    for await (const chunk of chunks) {
      segmenter.push(chunk as Uint8Array);
      if (stop.signal.aborted) break;
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (!stop.signal.aborted) {
      logger.error('input failed', { input: settings.input, code: err.code, error: err.message });
      code = 1;
    }
  }
  segmenter.finish();
  if (statusTimer) clearInterval(statusTimer);

  const stats = segmenter.stats;
  logger.info('input ended', { ...stats, queuedMessages: notifier.pending });
  if (notifier.pending > 0) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      notifier.onIdle(),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, settings.drainTimeout * 1000))),
      new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true })),
    ]);
    clearTimeout(timer);
  }
  const undelivered = notifier.close();
  spool?.close();
  if (undelivered.length > 0 && spool) {
    logger.warn('index messages not yet delivered stay in the spool; the next run with this --spool-dir delivers them first', {
      count: undelivered.length,
      dir: settings.spoolDir,
    });
  } else if (undelivered.length > 0) {
    logger.error('index messages never delivered: the uploader was unreachable', { count: undelivered.length, first: undelivered[0] });
    code = code || 1;
  }
  return code;
}

/** This process, for the spool directory's lock. */
function processOwner(): { pid: number; host: string } {
  return { pid: process.pid, host: os.hostname() };
}

/** `segmenter ladder …`: one source, one ffmpeg, a segmenter per rendition (ladder.ts). */
async function ladderMain(argv: string[]): Promise<number> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { buildLadderParser, ladderSettingsFrom } = require('./ladder/ladder-cli') as typeof import('./ladder/ladder-cli');
  const { ladderArgs, runLadder } = require('./ladder/ladder') as typeof import('./ladder/ladder');
  const { defaultFfmpegPath } = require('./ladder/ffmpeg-path') as typeof import('./ladder/ffmpeg-path');
  /* eslint-enable @typescript-eslint/no-require-imports */
  let settings: LadderSettings;
  try {
    const args = await buildLadderParser(argv, process.stdout.columns)
      .fail((message, error) => {
        throw error ?? new TypeError(message);
      })
      .parseAsync();
    settings = ladderSettingsFrom(args, (file) => fs.readFileSync(file, 'utf8'), defaultFfmpegPath, process.env);
  } catch (e) {
    process.stderr.write(`segmenter ladder: ${(e as Error).message}\nRun "segmenter ladder --help" for usage.\n`);
    return 2;
  }
  if (settings.printFfmpeg) {
    process.stdout.write([settings.ffmpegPath, ...ladderArgs(settings)].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ') + '\n');
    return 0;
  }
  let access: UploaderAccess;
  try {
    access = uploaderAccess(settings, process.env.HLSRELAY_TOKEN);
  } catch (e) {
    process.stderr.write(`segmenter ladder: ${(e as Error).message}\n`);
    return 2;
  }
  const logger = lazyLogger({ service: 'segmenter', level: settings.logLevel, json: settings.logJson });
  try {
    fs.mkdirSync(settings.outputDirectory, { recursive: true });
  } catch (e) {
    logger.error('cannot create the output directory', { dir: settings.outputDirectory, error: (e as Error).message });
    return 1;
  }
  const stop = new AbortController();
  let stopSignals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (++stopSignals > 1) {
      logger.warn(`second ${signal}: exiting without finishing`);
      process.exit(130);
    }
    logger.info(`${signal}: ffmpeg finishes, then every rendition's last segment is sent with end=1`);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return runLadder(settings, { logger, stdin: process.stdin, stop: stop.signal, access, owner: processOwner() });
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`segmenter: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
