/**
 * The whole uploader wired together — the target stack, index server, upload queue — for
 * main.ts, the demo and the benchmarks (which run it in-process).
 */
import type { Logger } from '@hlsrelay/log';
import { initFilePath, parseMessage, segmentFilePath, type IndexMessage } from '@hlsrelay/protocol';
import { Journal, type PendingMessage } from './state/journal';
import { DEFAULT_MAX_PAYLOAD_BYTES, PayloadSpool, payloadSpoolDir } from './ingest/payload-spool';
import type { MessagePolicy } from './access/message-policy';
import { BacklogLimit } from './access/backlog-limit';
import type { UploaderMetrics } from './ops/uploader-metrics';
import type { RetryPolicy } from './targets/retry-policy';
import { ConfinedTarget } from './targets/wrappers/confined-target';
import { MeteredTarget } from './targets/wrappers/metered-target';
import { MirrorTarget } from './targets/wrappers/mirror-target';
import { IndexServer, type IndexServerOptions, type ListenAddress } from './ingest/index-server';
import type { TransferTarget } from './targets/transfer-target';
import { Uploader, type UploaderOptions } from './publish/uploader';
import { newestPlaylistText } from './playlist/stored-playlist';

export interface UploaderServiceOptions extends Omit<UploaderOptions, 'logger' | 'target'> {
  target: TransferTarget;
  logger: Logger;
  host: string;
  /** 0 picks a free port. */
  port: number;
  maxLineBytes?: number;
  /**
   * What messages may touch (allowed directories, buckets and keys, sane values), checked as each
   * message arrives. Without one, every message the parser accepts is served, as in 2009; main.ts
   * always passes one. The read-time half is the target stack's: buildTargetStack confines
   * every leaf target (each mirror member) to the same policy.
   */
  policy?: MessagePolicy;
  /** Connection caps, the shared token and TLS of the index port (server.ts). */
  limits?: IndexServerOptions['limits'];
  token?: string;
  tls?: IndexServerOptions['tls'];
  /**
   * `--state-dir`: accepted messages and playlist state are journaled there before they are
   * acknowledged, and a restart continues from it. Without one, state lives in memory.
   */
  stateDir?: string;
  /**
   * Largest segment a segmenter may ship over its connection (`--max-payload-bytes`). Bytes are
   * taken only with a `stateDir`: they are spooled under it until stored.
   */
  maxPayloadBytes?: number;
  /** Called with each message the policy admits, before it is queued (the first-sight bucket check). */
  onAdmitted?: (message: IndexMessage) => void;
  /** See IndexServerOptions.warningRepeatMs. */
  warningRepeatMs?: number;
  /**
   * Messages accepted and not yet stored past which segmenters are no longer read (they keep the
   * rest in their spools until there is room): access/backlog-limit.ts. Default 4096.
   */
  maxQueuedMessages?: number;
}

export interface UploaderService {
  address: ListenAddress;
  uploader: Uploader;
  server: IndexServer;
  /** Stops accepting, uploads everything queued, then closes the target. */
  close(): Promise<void>;
}

export interface TargetStackOptions {
  /** The targets of `--target`, in order: one, or the members of a mirror set. */
  targets: TransferTarget[];
  /** The read- and write-time checks every leaf target gets: the same allowed paths and keys as the message policy. */
  policy: Pick<MessagePolicy, 'paths' | 'keys'>;
  logger: Logger;
  /** Counts each target on its own (inside a mirror: per member). */
  metrics?: UploaderMetrics;
  /** Per mirror member: transfers in flight, retries and give-up (see MirrorTarget). */
  concurrency?: number;
  retry?: RetryPolicy;
  giveUpAfterMs?: number;
  drainTimeoutMs?: number;
}

/**
 * The target the uploader writes to: each leaf confined to the policy (always: a lagging mirror
 * reads a segment later, and is checked then), metered when there are metrics, and mirrored when
 * there are several — each mirror with its own queue, retries and give-up time.
 */
export function buildTargetStack(options: TargetStackOptions): TransferTarget {
  const { policy, metrics } = options;
  const confined = options.targets.map((t) => new ConfinedTarget(t, policy.paths, policy.keys));
  const leaves = metrics ? confined.map((t) => new MeteredTarget(t, metrics)) : confined;
  if (leaves.length === 1) return leaves[0];
  return new MirrorTarget({
    targets: leaves,
    logger: options.logger,
    concurrency: options.concurrency,
    retry: options.retry,
    // Each mirror gives up on its own: the uploader's own give-up never sees a lagging one.
    giveUpAfterMs: options.giveUpAfterMs,
    drainTimeoutMs: options.drainTimeoutMs,
    choose: newestPlaylistText,
  });
}

export async function startUploaderService(options: UploaderServiceOptions): Promise<UploaderService> {
  const { host, port, maxLineBytes, policy, stateDir, limits, token, tls, maxPayloadBytes, onAdmitted, warningRepeatMs, maxQueuedMessages, ...uploaderOptions } = options;
  const opened = stateDir === undefined ? undefined : await Journal.open(stateDir, { logger: options.logger });
  const spool = stateDir === undefined ? undefined : openPayloadSpool(stateDir, opened!.recovered.pending, options.logger);
  // Segments to encrypt are read past the same read-time check the confined targets make.
  const openSource = policy && ((file: string) => policy.paths.open(file));
  const uploader = new Uploader({ ...uploaderOptions, journal: opened?.journal, stateDir, spool, ...(openSource ? { openSource } : {}) });
  // What an earlier run accepted goes first, before any segmenter can connect.
  if (opened) uploader.restore(opened.recovered);
  const server = new IndexServer({
    logger: options.logger,
    maxLineBytes,
    limits,
    token,
    tls,
    warningRepeatMs,
    room: new BacklogLimit(() => uploader.queuedMessages, maxQueuedMessages),
    payload: spool && { spool, maxBytes: maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES },
    onMessage: (message, peer, how) => {
      policy?.check(message);
      onAdmitted?.(message);
      return uploader.accept(message, peer, how);
    },
  });
  const address = await server.listen(host, port);
  let closing: Promise<void> | undefined;
  return {
    address,
    uploader,
    server,
    close() {
      closing ??= (async () => {
        await server.close();
        await uploader.close();
        await opened?.journal.close();
        await options.target.close();
      })();
      return closing;
    },
  };
}

/**
 * The spool for shipped segment bytes, cleared of what an earlier run left that no journaled
 * message needs (bytes cut off by a stop or crash, or never acknowledged and so sent again).
 */
function openPayloadSpool(stateDir: string, pending: readonly PendingMessage[], logger: Logger): PayloadSpool {
  const spool = new PayloadSpool(payloadSpoolDir(stateDir));
  const keep: string[] = [];
  for (const { line, message } of pending) {
    try {
      const m = message ?? parseMessage(line ?? '');
      keep.push(segmentFilePath(m));
      const init = initFilePath(m);
      if (init !== undefined) keep.push(init);
    } catch {
      // the journal's replay says why it cannot read this one
    }
  }
  const removed = spool.sweep(keep);
  if (removed > 0) logger.info('segment bytes no journaled message needs were removed from the spool', { dir: spool.dir, files: removed });
  return spool;
}
