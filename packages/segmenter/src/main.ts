/**
 * The segmenter daemon's entry: the only file that touches argv, stdin, signals and exit.
 */
import fs from 'node:fs';
import os from 'node:os';
import { addAbortSignal } from 'node:stream';
import { hideBin } from 'yargs/helpers';
import { lazyLogger } from './lazy-logger';
import {
  configPathFrom,
  effectiveSettings,
  loadSettingsSources,
  runtimeSupportNotice,
  streamName,
  usageErrorText,
  type LoadedSources,
  type SettingsParser,
} from '@hlsrelay/protocol';
import type { Logger } from '@hlsrelay/log';
import { buildParser, SEGMENTER_ENV_PREFIX, settingsFrom, type SegmenterSettings } from './cli';
import { descriptorChunks, fileChunks } from './live/file-source';
import { LiveSegmenter } from './live/live-segmenter';
import { Notifier } from './delivery/notifier';
import { reportDelivery } from './delivery/delivery-report';
import { Spool } from './delivery/spool';
import { removeShippedSegment } from './delivery/payload-sender';
import { StatusLine } from './live/status-line';
import { InputCheck, NOT_TS_HINT, notMpegTs } from './live/input-check';
import { uploaderAccess, type UploaderAccess } from './delivery/uploader-access';
// The ladder's modules load only for `segmenter ladder` (ladderMain): a plain run starts faster.
import type { LadderSettings } from './ladder/ladder-cli';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION = (require('../package.json') as { version: string }).version;

/** A refused command line: one line and the --help hint on stderr. */
const USAGE_EXIT = 2;

type YargsParser = SettingsParser & { fail(f: (message: string, error?: Error) => void): unknown };

/**
 * Loads the config file and `HLSRELAY_SEGMENTER_*` into `parser` and parses; a mistake is one
 * line on stderr (usageErrorText) and undefined. `fileKeys`: the ladder's own keys of its file.
 */
async function parseCommandLine<A>(command: string, parser: { parseAsync(): Promise<A> }, argv: string[], fileKeys: readonly string[] = []) {
  const p = parser as unknown as YargsParser;
  // yargs prints the whole help on a mistake unless the failure is raised instead.
  p.fail((message, error) => {
    throw error ?? new TypeError(message);
  });
  let sources: LoadedSources | undefined;
  try {
    // Checked before yargs coerces them, so a bad value names its variable or file.
    sources = loadSettingsSources(p, argv, process.env, SEGMENTER_ENV_PREFIX, fileKeys);
    return { args: await parser.parseAsync(), sources };
  } catch (e) {
    process.stderr.write(usageErrorText(command, (e as Error).message, argv, sources?.table ?? p.getOptions(), sources?.origins));
    return undefined;
  }
}

/** Our own line, once, when Node.js is near or past its end of life. */
function warnOfRuntime(logger: Logger): void {
  const notice = runtimeSupportNotice(process.version, new Date());
  if (notice) logger.warn(notice.message, notice.meta);
}

async function main(): Promise<number> {
  if (hideBin(process.argv)[0] === 'ladder') return ladderMain(hideBin(process.argv).slice(1));
  const argv = hideBin(process.argv);
  const parsed = await parseCommandLine('segmenter', buildParser(argv, process.stdout.columns, VERSION), argv);
  if (!parsed) return USAGE_EXIT;
  if (parsed.args['print-config']) {
    process.stdout.write(JSON.stringify(effectiveSettings(parsed.args, parsed.sources.table), null, 2) + '\n');
    return 0;
  }
  let settings: SegmenterSettings;
  try {
    settings = settingsFrom(parsed.args, process.env);
  } catch (e) {
    process.stderr.write(usageErrorText('segmenter', (e as Error).message, argv, parsed.sources.table, parsed.sources.origins));
    return USAGE_EXIT;
  }

  // Every line names the stream, in the uploader's form (s3://bucket/prefix/index), so the two
  // daemons' logs of one stream can be joined.
  const logger = lazyLogger({ service: 'segmenter', level: settings.logLevel, json: settings.logJson }).child({ stream: streamName(settings) });
  warnOfRuntime(logger);
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
  const notifier = new Notifier({
    uploader: settings.uploader,
    logger,
    spool,
    shipBytes: settings.shipBytes,
    onAcknowledged: settings.shipBytes && !settings.keepLocal ? removeShippedSegment(logger) : undefined,
    ...access,
  });
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
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const showStatus = settings.status === 'always' || (settings.status === 'auto' && process.stderr.isTTY);
  const status = new StatusLine(Date.now());
  const statusTimer = showStatus
    ? setInterval(() => process.stderr.write(status.render(segmenter.stats, Date.now(), notifier.pending) + '\n'), 2000)
    : undefined;

  const inputCheck = new InputCheck({ startedAt: Date.now() });
  const inputTimer = setInterval(() => {
    const warning = inputCheck.check(segmenter.stats, Date.now());
    if (warning) logger.warn(warning, { input: settings.input === '-' ? 'stdin' : settings.input });
  }, 1000);

  let code = 0;
  logger.info('segmenting', {
    input: settings.input === '-' ? 'stdin' : settings.input,
    target: settings.segmentDuration,
    dir: settings.outputDirectory,
    prefix: settings.outputPrefix,
    format: settings.format,
    first: settings.startNumber,
    uploader: `${settings.uploader.host}:${settings.uploader.port}`,
  });
  try {
    const chunks =
      settings.input === '-'
        ? descriptorChunks(0, settings.readSize, stop.signal, () => addAbortSignal(stop.signal, process.stdin))
        : fileChunks(settings.input, settings.readSize, stop.signal);
    for await (const chunk of chunks) {
      segmenter.push(chunk as Uint8Array);
      if (stop.signal.aborted) break;
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (settings.format === 'fmp4' && isUnsupportedCodec(e)) {
      // Not a failure of the input but of the chosen format: say so, and stop before any segment.
      logger.error(`cannot segment this input as --format ${settings.format}`, { input: settings.input, error: err.message });
      code = 1;
    } else if (!stop.signal.aborted) {
      logger.error('input failed', { input: settings.input, code: err.code, error: err.message });
      code = 1;
    }
  }
  clearInterval(inputTimer);
  const noSegment = segmenter.noSegmentReason();
  // An fMP4 run refused at its first units (MP3, another codec) writes no last segment.
  if (code === 0 || settings.format !== 'fmp4') segmenter.finish();
  if (statusTimer) clearInterval(statusTimer);

  const stats = segmenter.stats;
  logger.info('input ended', { ...stats, queuedMessages: notifier.pending });
  // An input that never gave a segment (not MPEG-TS, no keyframe …): the run did not do its job.
  if (noSegment !== undefined && stats.inputBytes > 0 && !stop.signal.aborted) {
    logger.error(`no segment was cut: ${noSegment}`, { input: settings.input === '-' ? 'stdin' : settings.input, ...(notMpegTs(stats) ? { hint: NOT_TS_HINT } : {}) });
    code = code || 1;
  }
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
  if (reportDelivery(logger, { refused: notifier.refused, undelivered, trouble: notifier.trouble, spoolDir: settings.spoolDir })) code = code || 1;
  return code;
}

/**
 * @hlsrelay/fmp4 loads only for `--format fmp4` (~20 ms and ~8 MB a TS run need not pay); by then
 * the remuxer has loaded it, so this require costs nothing.
 */
function isUnsupportedCodec(e: unknown): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return e instanceof (require('@hlsrelay/fmp4') as typeof import('@hlsrelay/fmp4')).UnsupportedCodecError;
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
  const { chooseFfmpeg, ffmpegVersionLine } = require('./ladder/ffmpeg-path') as typeof import('./ladder/ffmpeg-path');
  const { LADDER_KEYS, ladderFileForm } = require('./ladder/ladder-profile') as typeof import('./ladder/ladder-profile');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const command = 'segmenter ladder';
  const parsed = await parseCommandLine(command, buildLadderParser(argv, process.stdout.columns, VERSION), argv, LADDER_KEYS);
  if (!parsed) return USAGE_EXIT;
  const { args, sources } = parsed;
  let settings: LadderSettings;
  try {
    const file = configPathFrom(argv, process.env, SEGMENTER_ENV_PREFIX);
    const ladderFile = file === undefined ? undefined : { source: `--config ${file}`, value: sources.fileExtras };
    settings = ladderSettingsFrom(args, ladderFile, (flag) => chooseFfmpeg({ flag, env: process.env }), process.env);
  } catch (e) {
    process.stderr.write(usageErrorText(command, (e as Error).message, argv, sources.table, sources.origins));
    return USAGE_EXIT;
  }
  if (args['print-config']) {
    const printed = { ...effectiveSettings(args, sources.table), ...ladderFileForm(settings.config) };
    process.stdout.write(JSON.stringify(printed, null, 2) + '\n');
    return 0;
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
  warnOfRuntime(logger);
  logger.info('using ffmpeg', { path: settings.ffmpegPath, from: settings.ffmpegSource, version: ffmpegVersionLine(settings.ffmpegPath) });
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
