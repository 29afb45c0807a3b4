/**
 * Live load against the uploader daemon: N renditions, each cutting one segment every 2 s and
 * announcing it the way the original segmenter does — a new TCP connection per message, the
 * message without a line end, then EOF. Starts are staggered across the 2 s, as independent
 * encoders would be. A message's latency runs from the moment it is written to the moment the
 * store answered the PUT of a playlist that lists its segment (the store stamps that moment).
 */
import { link } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { formatMessage, segmentFileName } from '@hlsrelay/protocol';
import { watchLoopDelay, type LoopDelay } from './loop-delay';
import { machineBusyMs, type LatencyStore, type StoreCounts, type UploaderDaemon } from './processes';

export const SEGMENT_SECONDS = 2;
export const BUCKET = 'bench';

const wallMs = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface LiveResult {
  renditions: number;
  sent: number;
  /** Messages whose segment no stored playlist listed by the end of the drain time. */
  missing: number;
  /** TCP handshake times of the messages' connections, sorted, ms. */
  connectMs: number[];
  /** Messages the uploader answered with anything but silence (ERR lines). */
  refused: number;
  /** Refusal texts (their numbers cut out) and how often each came. */
  refusals: Map<string, number>;
  latencies: number[];
  /** The same, of each stream's first message only (the uploader then also looks for a stored playlist and checks the bucket). */
  firstLatencies: number[];
  uploaderCpuMs: number;
  storeCpuMs: number;
  /** This process (the load generator: connections, links, latency bookkeeping). */
  generatorCpuMs: number;
  /** Every process on the machine, all cores: what is left after ours is other work. */
  machineCpuMs: number;
  /** How late this process's event loop ran during the step: its send times are the latency's start. */
  generatorLoopDelay: LoopDelay;
  /** Store requests answered during the step. */
  requests: StoreCounts;
  /** [messages sent so far, uploader RSS MB], sampled every `rssEvery` messages. */
  rss: Array<[number, number]>;
  elapsedMs: number;
}

/**
 * One message, original framing; resolves with what the uploader said after its greeting.
 * `connected` gets how long the TCP handshake took: a second or more is a SYN the kernel dropped
 * and sent again (the listener's accept queue was full), not time the uploader spent.
 */
function sendOneShot(port: number, text: string, connected: (ms: number) => void): Promise<string> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = net.connect(port, '127.0.0.1', () => {
      connected(performance.now() - started);
      socket.end(text);
    });
    let reply = '';
    socket.setEncoding('utf8');
    // Read everything until the uploader closes: unread bytes at close would turn it into a RST.
    socket.on('data', (d: string) => (reply += d));
    socket.on('error', (err) => (reply += `\nERR ${err.message}`));
    socket.on('close', () => resolve(reply.replace(/^HLSRELAY [^\n]*\n/, '')));
  });
}

export async function liveStep(o: {
  renditions: number;
  segmentsEach: number;
  daemon: UploaderDaemon;
  store: LatencyStore;
  source: string;
  dir: string;
  drainMs: number;
  rssEvery: number;
  /** Keys go under live/<step>/: each step's streams are new to the store, as to the daemon's fresh state directory. */
  step: string;
}): Promise<LiveResult> {
  const { renditions, daemon, store } = o;
  const sentAt = Array.from({ length: renditions }, () => new Map<number, number>());
  const latencies: number[] = [];
  const firstLatencies: number[] = [];
  const connectMs: number[] = [];
  store.onStored((batch) => {
    for (const [key, last, at] of batch) {
      const r = Number(/\/r(\d+)\.m3u8$/.exec(key)?.[1] ?? -1);
      const pending = sentAt[r];
      if (!pending) continue;
      for (const [n, t0] of pending) {
        if (n > last) continue;
        latencies.push(at - t0);
        if (n === 1) firstLatencies.push(at - t0);
        pending.delete(n);
      }
    }
  });
  const counts0 = await store.counts();
  const cpu0 = daemon.cpuMs();
  const storeCpu0 = store.cpuMs();
  const generatorCpu0 = process.cpuUsage();
  const machine0 = machineBusyMs();
  const loop = watchLoopDelay();
  const rss: Array<[number, number]> = [];
  let sent = 0;
  let refused = 0;
  const refusals = new Map<string, number>();
  const replies: Array<Promise<void>> = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: renditions }, async (_, r) => {
      const offset = (r * SEGMENT_SECONDS * 1000) / renditions;
      for (let n = 1; n <= o.segmentsEach; n++) {
        const wait = started + offset + (n - 1) * SEGMENT_SECONDS * 1000 - performance.now();
        if (wait > 0) await sleep(wait);
        const name = segmentFileName(`r${r}`, n);
        // A new name per segment (the uploader removes each file once it is listed).
        await link(o.source, path.join(o.dir, name));
        const text = formatMessage({
          index: `r${r}.m3u8`, outputDirectory: o.dir, segmentDuration: SEGMENT_SECONDS, outputPrefix: `r${r}`,
          httpPrefix: '', firstSegment: 1, lastSegment: n, end: false,
          bucketName: BUCKET, keyPrefix: `live/${o.step}/r${r}`, ext: {},
        });
        sentAt[r].set(n, wallMs());
        replies.push(
          sendOneShot(daemon.port, text, (ms) => connectMs.push(ms)).then((reply) => {
            if (reply.trim() === '') return;
            refused += 1;
            const why = reply.trim().replace(/\d+/g, 'N');
            refusals.set(why, (refusals.get(why) ?? 0) + 1);
          }),
        );
        sent += 1;
        if (sent % o.rssEvery === 0) rss.push([sent, daemon.rssMB()]);
      }
    }),
  );
  await Promise.all(replies);
  const deadline = performance.now() + o.drainMs;
  const outstanding = () => sentAt.reduce((n, m) => n + m.size, 0);
  while (outstanding() > 0 && performance.now() < deadline) await sleep(50);
  // Let the last batch of store events arrive.
  await sleep(100);
  const elapsedMs = performance.now() - started;
  const generator = process.cpuUsage(generatorCpu0);
  const generatorLoopDelay = loop.read();
  loop.stop();
  const counts1 = await store.counts();
  const requests = Object.fromEntries(Object.keys(counts1).map((k) => [k, counts1[k as keyof StoreCounts] - counts0[k as keyof StoreCounts]])) as unknown as StoreCounts;
  rss.push([sent, daemon.rssMB()]);
  return {
    renditions,
    sent,
    missing: outstanding(),
    refused,
    refusals,
    latencies: latencies.sort((a, b) => a - b),
    firstLatencies: firstLatencies.sort((a, b) => a - b),
    connectMs: connectMs.sort((a, b) => a - b),
    uploaderCpuMs: daemon.cpuMs() - cpu0,
    storeCpuMs: store.cpuMs() - storeCpu0,
    generatorCpuMs: (generator.user + generator.system) / 1000,
    machineCpuMs: machineBusyMs() - machine0,
    generatorLoopDelay,
    requests,
    rss,
    elapsedMs,
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
