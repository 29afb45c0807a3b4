/**
 * `npm run bench:uploader` — the uploader daemon against a store that answers every request after
 * 40 ms and costs almost nothing itself (bench/latency-store.ts, its own process), with the
 * original one-shot messages: how many live renditions it carries, at what latency, for how much
 * CPU per store request — beside the floor (also paced at each step's own rate: a request alone on
 * its wake-up costs more than one in a saturated loop), a bare SDK loop and the naive serial design
 * measured in the same run. (`--store s3rver` runs the older s3rver variant, bench-uploader.ts.)
 *
 * Options: --counts 50,200,400,600,800  --seconds 26  --delay 40  --concurrency 64
 *          --baseline-messages 3000  --serial-messages 100  --cpu-prof DIR (profiles the daemon)
 *          --state-dir DIR|none (the daemon's journal, fsync'd before each playlist it covers; default a
 *          fresh directory per step under the system's temporary directory, on disk as users run it)
 *          --repeat N (each count N times, to see how much a figure moves between runs)
 *          --drain S (how long after the last message a segment may still be listed before it counts as
 *          missing; default 15: a step that falls far behind reports its backlog as missing)
 *
 * Per step it also prints where the machine's CPU went (uploader, store, this load generator and
 * everything else on the machine, from /proc) and how late each process's event loop ran: a late
 * loop in a process that used little CPU was waiting for a core, not running our code.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runBaselines, runPacedFloor, type BaselineResult } from './bench/baselines';
import { liveStep, percentile, SEGMENT_SECONDS, type LiveResult } from './bench/live-load';
import { LatencyStore, readLoopDelay, UploaderDaemon } from './bench/processes';
import type { LoopDelay } from './bench/loop-delay';

const SEGMENT_BYTES = 600 * 1024;

interface Options {
  counts: number[];
  seconds: number;
  delay: number;
  concurrency: number;
  baselineMessages: number;
  serialMessages: number;
  cpuProf?: string;
  stateDir?: string;
  repeat: number;
  drainSeconds: number;
}

function parseOptions(argv: string[]): Options {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (name: string, dflt: number, min: number) => {
    const v = Number(get(name) ?? dflt);
    if (!Number.isFinite(v) || v < min) throw new Error(`--${name} must be a number ≥ ${min}, got ${get(name)}`);
    return v;
  };
  const counts = (get('counts') ?? '50,200,400,600,800').split(',').map(Number);
  if (counts.some((c) => !Number.isInteger(c) || c < 1)) throw new Error(`--counts must be whole numbers ≥ 1, got ${get('counts')}`);
  return {
    counts,
    seconds: num('seconds', 26, 4),
    delay: num('delay', 40, 0),
    concurrency: num('concurrency', 64, 1),
    baselineMessages: num('baseline-messages', 3000, 10),
    serialMessages: num('serial-messages', 100, 5),
    cpuProf: get('cpu-prof'),
    stateDir: get('state-dir'),
    repeat: num('repeat', 1, 1),
    drainSeconds: num('drain', 15, 1),
  };
}

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '—');
/** `all` without one occurrence of each of `some` (both sorted). */
function without(all: number[], some: number[]): number[] {
  const out: number[] = [];
  let j = 0;
  for (const x of all) {
    if (j < some.length && x === some[j]) j++;
    else out.push(x);
  }
  return out;
}
const loopText = (l: LoopDelay | undefined) => (l ? `${fmt(l.p99)} / ${fmt(l.max)}` : '—');

function machine(): string {
  const model = /model name\s*:\s*(.*)/.exec(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '')?.[1] ?? os.cpus()[0]?.model;
  return `${os.availableParallelism()} cores (${model}), Node ${process.version}, load average at start ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`;
}

export async function main(argv: string[]): Promise<void> {
  // The SDK's notice about future Node versions would only clutter the figures.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const o = parseOptions(argv);
  const base = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const root = await mkdtemp(path.join(base, 'hlsrelay-bench-latency-'));
  const source = path.join(root, 'segment.ts');
  await writeFile(source, randomBytes(SEGMENT_BYTES));
  console.log(`hlsrelay uploader benchmark, latency store — ${machine()}`);
  console.log(`store answers every request after ${o.delay} ms (own process); ${SEGMENT_BYTES / 1024} KB segment every ${SEGMENT_SECONDS} s per rendition, ` +
    `original one-shot messages (a connection each), ${o.seconds} s per step, --concurrency ${o.concurrency}, window 5\n`);
  const storeLoopFile = path.join(root, 'store-loop-delay.json');
  const store = await LatencyStore.start(o.delay, storeLoopFile);
  try {
    // Baselines first, best of two (the machine may be busy with other work for a moment).
    const best = new Map<string, BaselineResult>();
    for (let round = 0; round < 2; round++) {
      for (const b of await runBaselines({ endpoint: store.endpoint, file: source, messages: o.baselineMessages, serialMessages: o.serialMessages, concurrency: o.concurrency })) {
        const prev = best.get(b.name);
        if (!prev || b.cpuMsPerRequest < prev.cpuMsPerRequest) best.set(b.name, b);
      }
    }
    const baselines = [...best.values()];
    const floor = baselines[0].cpuMsPerRequest;
    console.log('Baselines, same store, this process (best of 2; one message = a 600 KB segment PUT + a playlist PUT):');
    for (const b of baselines) {
      console.log(`  ${b.name.padEnd(50)} CPU ${fmt(b.cpuMsPerRequest, 3)} ms / request (${fmt(b.cpuMsPerRequest / floor, 2)}× floor), ` +
        `${fmt(b.messagesPerSecond)} messages/s ≈ ${fmt(b.messagesPerSecond * SEGMENT_SECONDS)} renditions`);
    }
    console.log('');

    // The floor at each step's own rate (N renditions: N / 2 messages a second), best of two.
    const paced = new Map<number, number>();
    for (const n of new Set(o.counts)) {
      let best = Infinity;
      for (let round = 0; round < 2; round++) {
        const r = await runPacedFloor({ endpoint: store.endpoint, file: source, messagesPerSecond: n / SEGMENT_SECONDS, seconds: 6, concurrency: o.concurrency });
        best = Math.min(best, r.cpuMsPerRequest);
      }
      paced.set(n, best);
      console.log(`  ${`floor paced at ${n} renditions (${n / SEGMENT_SECONDS} messages/s)`.padEnd(50)} CPU ${fmt(best, 3)} ms / request (${fmt(best / floor, 2)}× floor)`);
    }
    console.log('');

    const results: LiveResult[] = [];
    const uploaderLoops: Array<LoopDelay | undefined> = [];
    const counts = o.counts.flatMap((n) => Array<number>(o.repeat).fill(n));
    for (const [step, n] of counts.entries()) {
      const dir = path.join(root, `segments-${step}`);
      await mkdir(dir);
      const profDir = o.cpuProf && path.resolve(o.cpuProf);
      const stateDir = o.stateDir ?? (await mkdtemp(path.join(os.tmpdir(), 'hlsrelay-bench-state-')));
      const loopFile = path.join(root, `uploader-loop-delay-${step}.json`);
      const daemon = await UploaderDaemon.start({
        endpoint: store.endpoint, allowDir: dir, concurrency: o.concurrency, stateDir, loopDelayFile: loopFile,
        nodeFlags: profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=uploader-${n}-${step}.cpuprofile`] : [],
      });
      const r = await liveStep({
        renditions: n, segmentsEach: Math.floor(o.seconds / SEGMENT_SECONDS), daemon, store, source, dir, drainMs: o.drainSeconds * 1000, step: `step${step}`,
        rssEvery: Math.max(1000, Math.ceil((n * o.seconds) / SEGMENT_SECONDS / 10)),
      });
      const exit = await daemon.stop();
      await rm(dir, { recursive: true, force: true });
      if (!o.stateDir) await rm(stateDir, { recursive: true, force: true });
      results.push(r);
      const uploaderLoop = readLoopDelay(loopFile);
      uploaderLoops.push(uploaderLoop);
      for (const [why, count] of r.refusals) console.log(`  … refused ${count}×: ${why}`);
      const perRequest = r.uploaderCpuMs / r.requests.PUT;
      console.log(`  … ${n} renditions: ${r.sent} messages, p50 ${fmt(percentile(r.latencies, 50))} ms, p99 ${fmt(percentile(r.latencies, 99))} ms, ` +
        `missing ${r.missing}, refused ${r.refused}, ${r.requests.PUT} PUTs, uploader CPU ${fmt(perRequest, 3)} ms / request (${fmt(perRequest / floor, 2)}× floor, ` +
        `${fmt(perRequest / paced.get(n)!, 2)}× the floor at this rate), ` +
        `store CPU ${fmt(r.storeCpuMs / r.requests.PUT, 3)} ms / request, daemon exit ${exit}`);
      const later = r.latencies.length - r.firstLatencies.length;
      console.log(`     a stream's first message: p50 ${fmt(percentile(r.firstLatencies, 50))} ms, p99 ${fmt(percentile(r.firstLatencies, 99))} ms (${r.firstLatencies.length}); ` +
        `the ${later} others: p99 ${fmt(percentile(without(r.latencies, r.firstLatencies), 99))} ms`);
      const slowConnects = r.connectMs.filter((ms) => ms >= 900).length;
      console.log(`     TCP connect to the uploader: p50 ${fmt(percentile(r.connectMs, 50), 1)} ms, p99 ${fmt(percentile(r.connectMs, 99), 1)} ms, ` +
        `${slowConnects} of ${r.connectMs.length} took ≥ 0.9 s (a dropped SYN sent again: the accept queue was full)`);
      const core = (ms: number) => `${fmt((100 * ms) / r.elapsedMs)} %`;
      const others = r.machineCpuMs - r.uploaderCpuMs - r.storeCpuMs - r.generatorCpuMs;
      console.log(`     CPU, % of one core: uploader ${core(r.uploaderCpuMs)}, store ${core(r.storeCpuMs)}, load generator ${core(r.generatorCpuMs)}, ` +
        `everything else on the machine ${core(others)} (of ${os.availableParallelism() * 100} %)`);
      console.log(`     event loop late, p99 / max ms: uploader ${loopText(uploaderLoop)}, load generator ${loopText(r.generatorLoopDelay)}`);
    }

    console.log('\nLive load — latency: message written → the store answered the PUT of a playlist listing its segment');
    console.log('renditions | messages | p50 ms | p99 ms | max ms | missing | PUTs  | uploader CPU ms/request | × floor | × floor at its rate | uploader CPU % of a core | RSS MB start→end');
    console.log('---------- | -------- | ------ | ------ | ------ | ------- | ----- | ----------------------- | ------- | ------------------- | ------------------------ | ----------------');
    for (const r of results) {
      const perRequest = r.uploaderCpuMs / r.requests.PUT;
      console.log(
        `${String(r.renditions).padStart(10)} | ${String(r.sent).padStart(8)} | ${fmt(percentile(r.latencies, 50)).padStart(6)} | ` +
          `${fmt(percentile(r.latencies, 99)).padStart(6)} | ${fmt(r.latencies.at(-1) ?? NaN).padStart(6)} | ${String(r.missing).padStart(7)} | ` +
          `${String(r.requests.PUT).padStart(5)} | ${fmt(perRequest, 3).padStart(23)} | ${fmt(perRequest / floor, 2).padStart(7)} | ` +
          `${fmt(perRequest / paced.get(r.renditions)!, 2).padStart(19)} | ` +
          `${fmt((100 * r.uploaderCpuMs) / r.elapsedMs).padStart(24)} | ${fmt(r.rss[0]?.[1] ?? NaN)} → ${fmt(r.rss.at(-1)![1])}`,
      );
    }
    const kneeAt = results.findIndex((r) => percentile(r.latencies, 99) > 1000 || r.missing > 0);
    console.log(`\nknee (p99 > 1 s or anything missing): ${kneeAt < 0 ? `not reached up to ${o.counts.at(-1)} renditions` :
      `between ${kneeAt > 0 ? results[kneeAt - 1].renditions : 0} and ${results[kneeAt].renditions} renditions`}`);
    const longest = results.reduce((a, b) => (b.sent > a.sent ? b : a));
    console.log(`uploader RSS over the ${longest.sent} messages of the ${longest.renditions}-rendition step (messages: MB): ` +
      longest.rss.map(([m, mb]) => `${m}: ${fmt(mb)}`).join(', '));
  } finally {
    await store.stop();
    const storeLoop = readLoopDelay(storeLoopFile);
    if (storeLoop) console.log(`the store's event loop over the whole run, late p99 / max ms: ${loopText(storeLoop)}`);
    await rm(root, { recursive: true, force: true });
  }
}
