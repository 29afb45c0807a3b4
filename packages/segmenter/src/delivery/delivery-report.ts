/**
 * The last word of a run on delivery, shared by `segmenter` and `segmenter ladder`: a run that
 * did not get every index message to the uploader did not do its job, and says so — refused
 * messages (never sent again) and undelivered ones, with why, and where a spool keeps them.
 */
import type { Logger } from '@hlsrelay/log';

export interface DeliveryOutcome {
  /** Messages the uploader refused (ERR). */
  refused: number;
  /** Messages still undelivered at exit, oldest first. */
  undelivered: readonly string[];
  /** Why they were not delivered (Notifier.trouble). */
  trouble: string;
  /** The spool that keeps the undelivered ones for the next run, if any. */
  spoolDir?: string;
}

/** Logs the outcome; returns true when the run must exit non-zero. */
export function reportDelivery(logger: Logger, outcome: DeliveryOutcome): boolean {
  if (outcome.refused > 0) {
    logger.error('the uploader refused index messages (their reasons are logged above); those segments are not published', { refused: outcome.refused });
  }
  const count = outcome.undelivered.length;
  if (count > 0 && outcome.spoolDir !== undefined) {
    logger.error('index messages not delivered: they stay in the spool and the next run with this --spool-dir delivers them first', {
      count,
      dir: outcome.spoolDir,
      why: outcome.trouble,
    });
  } else if (count > 0) {
    logger.error(`index messages never delivered: ${outcome.trouble}`, { count, first: outcome.undelivered[0] });
  }
  return outcome.refused > 0 || count > 0;
}
