/**
 * A ladder run: one ffmpeg, one in-process LiveSegmenter per rendition reading its pipe, one
 * notifier per rendition towards the uploader. In-process segmenters cost one Node process for
 * the whole ladder instead of one per rendition; each keeps its own files, numbering and
 * message order exactly as a separate `segmenter` would.
 */
import path from 'node:path';
import type { Logger } from '@hlsrelay/log';
import { renditionNames, type LadderSettings } from './ladder-cli';
import { LiveSegmenter } from '../live/live-segmenter';
import { Notifier } from '../delivery/notifier';
import { reportDelivery } from '../delivery/delivery-report';
import { Spool, spoolDirName } from '../delivery/spool';
import { removeShippedSegment } from '../delivery/payload-sender';
import { ladderFfmpegArgs } from './transcode-args';
import { TranscodeProcess } from './transcode-process';
import type { UploaderAccess } from '../delivery/uploader-access';

export interface LadderIo {
  logger: Logger;
  /** The source when the input is `-`. */
  stdin?: NodeJS.ReadableStream;
  /** Aborted on SIGINT/SIGTERM: ffmpeg is asked to finish and every rendition ends with end=1. */
  stop: AbortSignal;
  /** Builds the notifier of one rendition (tests and later transports); default a plain Notifier. */
  createNotifier?: (rendition: string) => Pick<Notifier, 'send' | 'pending' | 'onIdle' | 'close' | 'refused' | 'trouble'>;
  /** Token and TLS trust for a guarded uploader (uploader-access.ts), the same for every rendition. */
  access?: UploaderAccess;
  /** This process, for each spool directory's lock (main.ts passes its pid and host). */
  owner?: { pid: number; host: string };
}

export function ladderArgs(settings: LadderSettings): string[] {
  return ladderFfmpegArgs(
    {
      input: settings.input,
      fps: settings.config.fps,
      segmentSeconds: settings.segmentDuration,
      preset: settings.config.preset,
      realtime: settings.realtime,
    },
    settings.profiles,
  );
}

/** Runs the ladder to the end of the input (or a stop); resolves with the exit code. */
export async function runLadder(settings: LadderSettings, io: LadderIo): Promise<number> {
  const { logger } = io;
  // Each rendition is a stream of its own: its own spool, as a separate `segmenter --spool-dir` would have.
  const spools = new Map<string, Spool>();
  try {
    for (const p of settings.profiles) {
      const dir =
        settings.spoolDir !== undefined
          ? path.join(settings.spoolDir, p.name)
          : settings.spoolHome !== undefined
            ? path.join(settings.spoolHome, spoolDirName({ ...settings, index: renditionNames(settings, p).index }))
            : undefined;
      if (dir !== undefined) spools.set(p.name, new Spool(dir, { logger: logger.child({ rendition: p.name }), owner: io.owner }));
    }
  } catch (e) {
    logger.error('cannot open the spool directory', { dir: settings.spoolDir, error: (e as Error).message });
    for (const s of spools.values()) s.close();
    return 1;
  }
  const renditions = settings.profiles.map((profile) => {
    const names = renditionNames(settings, profile);
    const log = logger.child({ rendition: profile.name });
    const notifier =
      io.createNotifier?.(profile.name) ??
      new Notifier({
        uploader: settings.uploader,
        logger: log,
        spool: spools.get(profile.name),
        shipBytes: settings.shipBytes,
        onAcknowledged: settings.shipBytes && !settings.keepLocal ? removeShippedSegment(log) : undefined,
        ...io.access,
      });
    const segmenter = new LiveSegmenter({
      segmentDuration: settings.segmentDuration,
      outputDirectory: settings.outputDirectory,
      outputPrefix: names.outputPrefix,
      index: names.index,
      httpPrefix: settings.httpPrefix,
      bucketName: settings.bucketName,
      keyPrefix: settings.keyPrefix,
      startNumber: settings.startNumber,
      format: settings.format,
      master: settings.master,
      encrypt: settings.encrypt,
      discontinuityThreshold: settings.discontinuityThreshold,
      notify: (message) => {
        log.debug('index message', { message });
        notifier.send(message);
      },
      logger: log,
    });
    return { profile, notifier, segmenter };
  });

  const args = ladderArgs(settings);
  logger.info('transcoding ladder', {
    input: settings.input === '-' ? 'stdin' : settings.input,
    profiles: settings.profiles.map((p) => p.name).join(','),
    master: settings.master,
    ffmpeg: settings.ffmpegPath,
    uploader: `${settings.uploader.host}:${settings.uploader.port}`,
  });
  const ffmpeg = new TranscodeProcess({
    ffmpegPath: settings.ffmpegPath,
    args,
    outputs: renditions.length,
    onOutput: (i, chunk) => renditions[i].segmenter.push(chunk),
    stdin: settings.input === '-' ? io.stdin : undefined,
    logger,
  });
  const onStop = () => ffmpeg.stop();
  io.stop.addEventListener('abort', onStop, { once: true });
  if (io.stop.aborted) onStop();
  const exit = await ffmpeg.done;
  io.stop.removeEventListener('abort', onStop);
  // Every pipe is at its end: close each rendition's last segment, announced with end=1.
  for (const r of renditions) r.segmenter.finish();

  let code = 0;
  if (exit.error) {
    logger.error('cannot run ffmpeg (give its path with --ffmpeg)', { ffmpeg: settings.ffmpegPath, error: exit.error.message });
    code = 1;
  } else if (exit.code !== 0 && !ffmpeg.stopped) {
    logger.error('ffmpeg failed', { code: exit.code, signal: exit.signal, stderr: exit.stderrTail.join('\n') });
    code = 1;
  }
  for (const r of renditions) logger.info('rendition ended', { rendition: r.profile.name, ...r.segmenter.stats, queuedMessages: r.notifier.pending });

  const pending = renditions.filter((r) => r.notifier.pending > 0);
  if (pending.length > 0) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(pending.map((r) => r.notifier.onIdle())),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, settings.drainTimeout * 1000))),
    ]);
    clearTimeout(timer);
  }
  const failed: string[] = [];
  let refused = 0;
  let undeliveredTotal = 0;
  for (const r of renditions) {
    const undelivered = r.notifier.close();
    const spool = spools.get(r.profile.name);
    spool?.close();
    const outcome = { refused: r.notifier.refused, undelivered, trouble: r.notifier.trouble, spoolDir: spool?.dir };
    if (reportDelivery(logger.child({ rendition: r.profile.name }), outcome)) failed.push(r.profile.name);
    refused += outcome.refused;
    undeliveredTotal += undelivered.length;
  }
  if (failed.length > 0) {
    logger.error('renditions did not get every index message to the uploader', { renditions: failed.join(','), refused, undelivered: undeliveredTotal });
    code = code || 1;
  }
  return code;
}
