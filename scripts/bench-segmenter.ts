/**
 * npm run bench:segmenter — how fast the installed segmenter cuts a large file, against the
 * tools a user would compare it with, all measured in the same run on the same file:
 *   - `cp` (the floor: GNU cp may copy inside the kernel) and `cat FILE > OUT` (the same bytes
 *     through user space, as any program that looks at them must move them);
 *   - `ffmpeg -c copy -f hls` (the bundled ffmpeg), the usual tool for the same job.
 *
 * Two inputs, generated once into .bench/ (git-ignored) with the bundled ffmpeg:
 *   - live-shaped: 720p30 H.264/AAC at ~7.5 Mb/s, a keyframe every 2 s, ~288 MB, cut at 2 s
 *     (~150 segments): what one rendition of a live event looks like;
 *   - heavy: 720p30 at ~40 Mb/s, ~350 MB, cut at 6 s (the case the README first reported).
 *
 * Besides wall time (best of BENCH_RUNS, default 5, contenders interleaved so a busy neighbour
 * hurts them alike) it prints CPU time (user + sys, best run), peak RSS, and splits the
 * segmenter's cost into start-up, per segment and per byte: the same bytes cut at 2 s and at
 * 10 s differ only in the number of segments, and a one-segment input is almost all start-up.
 *
 * The message sink answers like the uploader (greeting, one acknowledged session); a second
 * sink is a silent 2009 uploader (never greets, one connection per message), and the time to
 * the first index message is printed for both: against the silent one a new segmenter waits
 * for the greeting before it speaks the original form.
 *
 * BENCH_BASELINE=path/to/segmenter-bin.js adds an earlier build as "segmenter (baseline)" (and
 * "--format fmp4 (baseline)"), so before and after come from the same run. BENCH_ONLY=fmp4 runs
 * only the fMP4 comparison: cp, cat, ffmpeg (TS and fMP4 HLS), the segmenter in both formats.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { formatAck, formatGreeting, frameMessage, isHello, MessageDecoder } from '@hlsrelay/protocol';

const ROOT = path.resolve(__dirname, '..');
const BENCH = path.join(ROOT, '.bench');
/**
 * This run's own outputs, /usr/bin/time reports and segmenter state (spools): two benches at once
 * never share a spool directory (the second would be refused) or an output folder.
 */
fs.mkdirSync(BENCH, { recursive: true });
const SCRATCH = fs.mkdtempSync(path.join(BENCH, 'run-'));
process.env.XDG_STATE_HOME = path.join(SCRATCH, 'state');
process.on('exit', () => fs.rmSync(SCRATCH, { recursive: true, force: true }));
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const FFMPEG: string = require('@ffmpeg-installer/ffmpeg').path;
const SEGMENTER = path.join(ROOT, 'node_modules', '.bin', 'segmenter');
const BASELINE = process.env.BENCH_BASELINE;
const FMP4_ONLY = process.env.BENCH_ONLY === 'fmp4';
const TIME = '/usr/bin/time';

interface Input {
  file: string;
  /** Bitrate of the generated clip, and how long a clip is looped to reach minBytes. */
  videoBitrate: string;
  clipSeconds: number;
  minBytes: number;
}

const LIVE: Input = { file: path.join(BENCH, 'live-720p-7M-gop2s.ts'), videoBitrate: '7M', clipSeconds: 30, minBytes: 250e6 };
const HEAVY: Input = { file: path.join(BENCH, 'input-h264-aac.ts'), videoBitrate: '40M', clipSeconds: 20, minBytes: 300 * 1024 * 1024 };
/** The first few seconds of the live input: one or two segments, so its run is nearly all start-up. */
const TINY = path.join(BENCH, 'tiny-4s.ts');

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.toString().slice(-2000)}`);
}

/** A constant-bitrate 720p30 clip with a keyframe every 2 s, looped with -c copy (quick to make). */
function ensureInput(input: Input): void {
  if (fs.existsSync(input.file) && fs.statSync(input.file).size >= input.minBytes) return;
  fs.mkdirSync(BENCH, { recursive: true });
  const clip = path.join(BENCH, 'clip.ts');
  console.log(`generating a ${input.clipSeconds} s 1280x720 H.264/AAC clip at ${input.videoBitrate}b/s, keyframe every 2 s ...`);
  const rate = input.videoBitrate;
  run(FFMPEG, [
    '-v', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(input.clipSeconds),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0',
    '-b:v', rate, '-minrate', rate, '-maxrate', rate, '-bufsize', rate, '-x264-params', 'nal-hrd=cbr',
    '-c:a', 'aac', '-b:a', '128k', '-f', 'mpegts', clip,
  ]);
  const loops = Math.ceil(input.minBytes / fs.statSync(clip).size);
  console.log(`looping it ${loops} times with -c copy into ${path.relative(ROOT, input.file)} ...`);
  run(FFMPEG, ['-v', 'error', '-y', '-stream_loop', String(loops - 1), '-i', clip, '-c', 'copy', '-f', 'mpegts', input.file]);
  fs.rmSync(clip);
}

function ensureTiny(): void {
  if (fs.existsSync(TINY)) return;
  run(FFMPEG, ['-v', 'error', '-y', '-i', LIVE.file, '-t', '4', '-c', 'copy', '-f', 'mpegts', TINY]);
}

/**
 * The floor for any Node segmenter: the same bytes read in 1 MB chunks (the next read overlapped
 * on the thread pool, as the segmenter does), written synchronously into `segments` files with
 * a temporary name and a rename each, without looking at a single packet or sending a message.
 * argv: input, output dir, segments.
 */
const NODE_FLOOR = `
const fs = require('fs');
const [input, dir, count] = process.argv.slice(1);
const per = Math.ceil(fs.statSync(input).size / Number(count));
const fd = fs.openSync(input, 'r');
const bufs = [new Uint8Array(1 << 20), new Uint8Array(1 << 20)];
const read = (b) => new Promise((res, rej) => fs.read(fd, b, 0, b.length, null, (e, n) => (e ? rej(e) : res(n))));
let seg = 0, out = -1, written = 0;
const tmp = (n) => dir + '/.f-' + n + '.ts.tmp';
const begin = () => (out = fs.openSync(tmp(seg), 'w'));
const commit = () => { fs.closeSync(out); fs.renameSync(tmp(seg), dir + '/f-' + seg + '.ts'); seg++; };
(async () => {
  let turn = 0, next = read(bufs[0]);
  begin();
  for (;;) {
    const n = await next;
    if (n === 0) break;
    const b = bufs[turn];
    turn ^= 1;
    next = read(bufs[turn]);
    for (let off = 0; off < n; ) {
      const k = Math.min(per - written, n - off);
      fs.writeSync(out, b, off, k);
      off += k;
      written += k;
      if (written >= per) { commit(); written = 0; begin(); }
    }
  }
  commit();
})();
`;

// ---- message sinks ----

/** A listener standing in for the uploader; records when the first index message arrived. */
interface Sink {
  port: number;
  messages: number;
  firstAt: bigint | undefined;
  reset(): void;
  close(): void;
}

function listen(onSocket: (s: net.Socket, sink: Sink) => void): Promise<Sink> {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    onSocket(s, sink);
  });
  const sink: Sink = {
    port: 0,
    messages: 0,
    firstAt: undefined,
    reset() {
      this.messages = 0;
      this.firstAt = undefined;
    },
    close: () => server.close(),
  };
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      sink.port = (server.address() as net.AddressInfo).port;
      resolve(sink);
    }),
  );
}

const received = (sink: Sink): void => {
  sink.messages++;
  sink.firstAt ??= process.hrtime.bigint();
};

/** Greets and acknowledges each message at once, as the uploader does (protocol session.ts). */
const ackSink = (): Promise<Sink> =>
  listen((s, sink) => {
    const decoder = new MessageDecoder();
    let seq = 0;
    s.write(frameMessage(formatGreeting()));
    s.on('data', (chunk: Buffer) => {
      for (const line of decoder.push(chunk)) {
        if (isHello(line)) continue;
        received(sink);
        s.write(frameMessage(formatAck({ ok: true, seq: ++seq })));
      }
    });
  });

/** The 2009 uploader: says nothing; each connection carries one message, ended by FIN. */
const silentSink = (): Promise<Sink> =>
  listen((s, sink) => {
    let bytes = 0;
    s.on('data', (chunk: Buffer) => (bytes += chunk.length));
    s.on('end', () => {
      if (bytes > 0) received(sink);
      s.end();
    });
  });

// ---- timing ----

interface Timing {
  seconds: number;
  /** user + sys CPU seconds of the process tree, from /usr/bin/time. */
  cpu?: number;
  user?: number;
  sys?: number;
  peakRssKb?: number;
  /** ms from start to the first index message at the sink. */
  firstMessageMs?: number;
}

/** Runs a command to completion; wall time measured here (monotonic), CPU and peak RSS from /usr/bin/time. */
function timed(cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv; sink?: Sink } = {}): Promise<Timing> {
  const haveTime = fs.existsSync(TIME);
  const report = path.join(SCRATCH, 'time-report.txt');
  options.sink?.reset();
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const [c, a] = haveTime ? [TIME, ['-o', report, '-f', '%U %S %M', cmd, ...args]] : [cmd, args];
    const child = spawn(c, a, { stdio: ['ignore', 'ignore', 'pipe'], env: options.env ?? process.env });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ended = process.hrtime.bigint();
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      const t: Timing = { seconds: Number(ended - started) / 1e9 };
      if (haveTime) {
        const [user, sys, rss] = fs.readFileSync(report, 'utf8').trim().split(/\s+/).slice(-3).map(Number);
        Object.assign(t, { user, sys, cpu: user + sys, peakRssKb: rss });
      }
      const first = options.sink?.firstAt;
      if (first !== undefined) t.firstMessageMs = Number(first - started) / 1e6;
      resolve(t);
    });
  });
}

/**
 * A live stream's first index message: the tiny input fed through a pipe at its own bitrate (as
 * an encoder writes it), so its first segment is complete only ~2 s after start — long after the
 * greeting wait (at most 1 s, and spent while that segment is being cut). Resolves with ms from
 * start to the first message at the sink.
 */
async function livePacedFirstMessage(sink: Sink, seconds: number): Promise<number> {
  const bytes = fs.readFileSync(TINY);
  const dir = fresh('segmenter-paced');
  const [, ...args] = segmenterArgs(SEGMENTER, '-', 2, dir, sink);
  sink.reset();
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [...shebangFlags(SEGMENTER), SEGMENTER, ...args], { stdio: ['pipe', 'ignore', 'ignore'] });
  const chunk = 64 * 1024;
  const perChunkMs = (seconds * 1000 * chunk) / bytes.length;
  for (let off = 0; off < bytes.length; off += chunk) {
    child.stdin.write(bytes.subarray(off, off + chunk));
    const due = Number(started) / 1e6 + ((off + chunk) / chunk) * perChunkMs;
    await new Promise((r) => setTimeout(r, Math.max(0, due - Number(process.hrtime.bigint()) / 1e6)));
  }
  child.stdin.end();
  await new Promise((r) => child.once('close', r));
  fs.rmSync(dir, { recursive: true });
  if (sink.firstAt === undefined) throw new Error('paced run: no index message arrived');
  return Number(sink.firstAt - started) / 1e6;
}

/** Per contender: the best wall time, the best CPU time, the highest peak RSS, the earliest first message. */
class Results {
  readonly best = new Map<string, Timing>();
  readonly order: string[] = [];

  keep(name: string, t: Timing): void {
    const b = this.best.get(name);
    if (!b) {
      this.order.push(name);
      this.best.set(name, t);
      return;
    }
    const min = (x?: number, y?: number) => (x === undefined ? y : y === undefined ? x : Math.min(x, y));
    this.best.set(name, {
      seconds: Math.min(b.seconds, t.seconds),
      cpu: min(b.cpu, t.cpu),
      user: (b.cpu ?? 0) <= (t.cpu ?? 0) ? b.user : t.user,
      sys: (b.cpu ?? 0) <= (t.cpu ?? 0) ? b.sys : t.sys,
      peakRssKb: Math.max(b.peakRssKb ?? 0, t.peakRssKb ?? 0) || undefined,
      firstMessageMs: min(b.firstMessageMs, t.firstMessageMs),
    });
  }

  get(name: string): Timing {
    const t = this.best.get(name);
    if (!t) throw new Error(`no result for ${name}`);
    return t;
  }

  print(title: string, bytes: number): void {
    console.log(`\n${title}: ${(bytes / 1e6).toFixed(0)} MB, best of ${RUNS} runs (page cache warm)`);
    console.log(`${''.padEnd(40)} ${'wall'.padStart(8)} ${'MB/s'.padStart(6)} ${'cpu'.padStart(8)} ${'(user + sys)'.padEnd(15)} peak RSS`);
    for (const name of this.order) {
      const t = this.get(name);
      const cpu = t.cpu === undefined ? ''.padStart(8) : `${t.cpu.toFixed(3)} s`.padStart(8);
      const split = t.user === undefined ? '' : `(${t.user.toFixed(2)} + ${t.sys!.toFixed(2)})`;
      const rss = t.peakRssKb ? `${(t.peakRssKb / 1024).toFixed(1)} MB` : '';
      console.log(`${name.padEnd(40)} ${`${t.seconds.toFixed(3)} s`.padStart(8)} ${(bytes / 1e6 / t.seconds).toFixed(0).padStart(6)} ${cpu} ${split.padEnd(15)} ${rss}`);
    }
  }
}

function fresh(name: string): string {
  const dir = path.join(SCRATCH, 'out', name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

const countSegments = (dir: string): number => fs.readdirSync(dir).filter((f) => f.endsWith('.ts')).length;

/**
 * The Node options a bin's `#!/usr/bin/env -S node …` line gives it (the segmenter's young-generation
 * size): the bin is run by this Node, as installed, with the flags its command would start with.
 */
function shebangFlags(bin: string): string[] {
  const first = fs.readFileSync(bin, 'utf8').split('\n', 1)[0];
  const m = /^#!\S*env -S node(?: (.*))?$/.exec(first);
  return m?.[1] ? m[1].trim().split(/\s+/) : [];
}

/** The eight positional arguments, then options. */
function segmenterArgs(bin: string, input: string, seconds: number, dir: string, sink: Sink): string[] {
  return [bin, input, String(seconds), dir, 'bench', 'bench.m3u8', 'http://cdn.invalid/', 'bench', 'bench', '--uploader', `127.0.0.1:${sink.port}`, '--log-level', 'warn'];
}

/** Runs the segmenter and checks that every segment it wrote was announced. */
async function segmenterRun(results: Results, name: string, bin: string, input: string, seconds: number, sink: Sink, env?: NodeJS.ProcessEnv): Promise<number> {
  const dir = fresh('segmenter');
  const t = await timed(process.execPath, [...shebangFlags(bin), ...segmenterArgs(bin, input, seconds, dir, sink)], { env, sink });
  const segments = countSegments(dir);
  if (sink.messages !== segments) throw new Error(`${name}: ${segments} segments written but ${sink.messages} index messages received`);
  results.keep(name, t);
  fs.rmSync(dir, { recursive: true });
  return segments;
}

async function baselines(results: Results, input: string, seconds: number): Promise<number> {
  const dir = fresh('copy');
  const out = path.join(dir, 'copy.ts');
  results.keep('cp', await timed('cp', [input, out]));
  fs.rmSync(out);
  results.keep('cat FILE > OUT', await timed('sh', ['-c', `cat '${input}' > '${out}'`]));
  fs.rmSync(out);
  const hls = fresh('ffmpeg-hls');
  results.keep(`ffmpeg -c copy -f hls -hls_time ${seconds}`, await timed(FFMPEG, ['-v', 'error', '-y', '-i', input, '-c', 'copy', '-f', 'hls', '-hls_time', String(seconds), '-hls_list_size', '0', path.join(hls, 'index.m3u8')]));
  const segments = countSegments(hls);
  fs.rmSync(hls, { recursive: true });
  return segments;
}

const EMPTY_NODE = 'node -e 0 (with the bin\'s flags)';
const NODE_YARGS = 'node, yargs loaded (nothing else)';

const ratio = (x: number, y: number): string => `${(x / y).toFixed(2)}x`;
const mark = (ok: boolean): string => (ok ? 'met' : 'NOT met');

/** `--format fmp4` and ffmpeg's own fMP4 HLS muxer on the same input. */
async function fmp4Rows(results: Results, input: string, seconds: number, sink: Sink): Promise<void> {
  for (const [name, bin] of [['segmenter --format fmp4', SEGMENTER], ...(BASELINE ? [['--format fmp4 (baseline)', BASELINE]] : [])]) {
    const dir = fresh('segmenter-fmp4');
    results.keep(name, await timed(process.execPath, [...shebangFlags(bin), ...segmenterArgs(bin, input, seconds, dir, sink), '--format', 'fmp4'], { sink }));
    fs.rmSync(dir, { recursive: true });
  }
  const hls = fresh('ffmpeg-hls-fmp4');
  results.keep(
    `ffmpeg -c copy -f hls -hls_segment_type fmp4 -hls_time ${seconds}`,
    await timed(FFMPEG, ['-v', 'error', '-y', '-i', input, '-c', 'copy', '-bsf:a', 'aac_adtstoasc', '-f', 'hls', '-hls_segment_type', 'fmp4', '-hls_time', String(seconds), '-hls_list_size', '0', path.join(hls, 'index.m3u8')]),
  );
  fs.rmSync(hls, { recursive: true });
}

function compareFmp4(results: Results, seconds: number, name = 'segmenter --format fmp4'): void {
  const ts = results.get('segmenter').seconds;
  const f = results.get(name);
  const ff = results.get(`ffmpeg -c copy -f hls -hls_segment_type fmp4 -hls_time ${seconds}`).seconds;
  console.log(`  ${name}:`);
  console.log(`    fmp4 MB/s / TS MB/s:          ${(ts / f.seconds).toFixed(2)}  (goal ≥ 0.60: ${mark(ts / f.seconds >= 0.6)})`);
  console.log(`    ffmpeg fmp4 time / fmp4 time: ${ratio(ff, f.seconds)} wall  (goal > 1x: ${mark(ff > f.seconds)})`);
  console.log(`    fmp4 peak RSS:                ${((f.peakRssKb ?? 0) / 1024).toFixed(1)} MB`);
}

function compare(results: Results, seconds: number, name = 'segmenter'): void {
  const seg = results.get(name);
  const ff = results.get(`ffmpeg -c copy -f hls -hls_time ${seconds}`);
  const cp = results.get('cp');
  const cat = results.get('cat FILE > OUT');
  const speedup = ff.seconds / seg.seconds;
  const vsCp = seg.seconds / cp.seconds;
  console.log(`  ffmpeg time / ${name} time:   ${ratio(ff.seconds, seg.seconds)} wall, ${ratio(ff.cpu ?? NaN, seg.cpu ?? NaN)} cpu  (goal ≥ 2x: ${mark(speedup >= 2)})`);
  console.log(`  ${name} time / cp time:       ${ratio(seg.seconds, cp.seconds)} wall, ${ratio(seg.cpu ?? NaN, cp.cpu ?? NaN)} cpu  (goal ≤ 2x: ${mark(vsCp <= 2)})`);
  console.log(`  ${name} time / cat time:      ${ratio(seg.seconds, cat.seconds)} wall, ${ratio(seg.cpu ?? NaN, cat.cpu ?? NaN)} cpu`);
  const rss = (seg.peakRssKb ?? 0) / 1024;
  console.log(`  ${name} peak RSS:             ${rss.toFixed(1)} MB  (goal < 48 MB: ${mark(rss > 0 && rss < 48)})`);
  const empty = results.best.get(EMPTY_NODE)?.peakRssKb;
  const yargs = results.best.get(NODE_YARGS)?.peakRssKb;
  if (empty && yargs) console.log(`    above an empty node (${(empty / 1024).toFixed(1)} MB): ${(rss - empty / 1024).toFixed(1)} MB; node with yargs alone: ${(yargs / 1024).toFixed(1)} MB`);
}

async function main(): Promise<void> {
  ensureInput(LIVE);
  ensureInput(HEAVY);
  ensureTiny();
  const liveBytes = fs.statSync(LIVE.file).size;
  const heavyBytes = fs.statSync(HEAVY.file).size;
  const tinyBytes = fs.statSync(TINY).size;
  // Read once so every contender starts from the page cache.
  for (const f of [LIVE.file, HEAVY.file, TINY]) run('cat', [f]);

  const ack = await ackSink();
  const silent = await silentSink();
  // This machine may set NODE_EXTRA_CA_CERTS: Node then parses a CA bundle before any of our code runs.
  const extraCa = process.env.NODE_EXTRA_CA_CERTS;
  const noExtraCa = { ...process.env };
  delete noExtraCa.NODE_EXTRA_CA_CERTS;

  const live = new Results();
  const heavy = new Results();
  const costs = new Results();
  const segs = { live: 0, ten: 0, tiny: 0, ffmpegLive: 0, heavy: 0 };
  if (FMP4_ONLY) {
    for (let i = 0; i < RUNS; i++) {
      process.stdout.write(`round ${i + 1}/${RUNS} ...\r`);
      segs.ffmpegLive = await baselines(live, LIVE.file, 2);
      segs.live = await segmenterRun(live, 'segmenter', SEGMENTER, LIVE.file, 2, ack);
      await fmp4Rows(live, LIVE.file, 2, ack);
      segs.heavy = await segmenterRun(heavy, 'segmenter', SEGMENTER, HEAVY.file, 6, ack);
      await fmp4Rows(heavy, HEAVY.file, 6, ack);
      await baselines(heavy, HEAVY.file, 6);
    }
    ack.close();
    silent.close();
    fs.rmSync(path.join(SCRATCH, 'out'), { recursive: true, force: true });
    console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; Node ${process.version}`);
    for (const [title, r, seconds, bytes] of [
      [`live-shaped: ${path.basename(LIVE.file)}, 2 s segments (segmenter ${segs.live}, ffmpeg ${segs.ffmpegLive})`, live, 2, liveBytes],
      [`heavy: ${path.basename(HEAVY.file)}, 6 s segments (${segs.heavy})`, heavy, 6, heavyBytes],
    ] as const) {
      r.print(title, bytes);
      compareFmp4(r, seconds);
      if (BASELINE) compareFmp4(r, seconds, '--format fmp4 (baseline)');
    }
    return;
  }
  for (let i = 0; i < RUNS; i++) {
    process.stdout.write(`round ${i + 1}/${RUNS} ...\r`);
    segs.ffmpegLive = await baselines(live, LIVE.file, 2);
    segs.live = await segmenterRun(live, 'segmenter', SEGMENTER, LIVE.file, 2, ack);
    {
      const dir = fresh('node-floor');
      live.keep('node floor (read, write, rename only)', await timed(process.execPath, ['-e', NODE_FLOOR, LIVE.file, dir, String(segs.live)]));
      fs.rmSync(dir, { recursive: true });
    }
    if (BASELINE) await segmenterRun(live, 'segmenter (baseline)', BASELINE, LIVE.file, 2, ack);
    // What peak RSS starts from before a byte is read: Node itself, and Node with the argument parser loaded.
    live.keep(EMPTY_NODE, await timed(process.execPath, [...shebangFlags(SEGMENTER), '-e', '0']));
    live.keep(NODE_YARGS, await timed(process.execPath, [...shebangFlags(SEGMENTER), '-e', "require('yargs')"], { env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules') } }));
    if (extraCa) await segmenterRun(live, 'segmenter, NODE_EXTRA_CA_CERTS unset', SEGMENTER, LIVE.file, 2, ack, noExtraCa);
    {
      // Live input arrives on a pipe (ffmpeg | segmenter -).
      const dir = fresh('segmenter');
      const [, ...args] = segmenterArgs(SEGMENTER, '-', 2, dir, ack);
      const cmd = `cat '${LIVE.file}' | '${SEGMENTER}' ${args.map((a) => `'${a}'`).join(' ')}`;
      live.keep('cat FILE | segmenter - (a pipe)', await timed('sh', ['-c', cmd], { sink: ack }));
      fs.rmSync(dir, { recursive: true });
    }
    {
      // The per-segment split compares the same bytes cut at 2 s and at 10 s: the two run back to
      // back, in alternating order, each after a sync, so the writeback of what ran before (the
      // pipe run's 261 MB, just deleted) falls on neither.
      const pair: Array<[string, number]> = [['segmenter, 2 s segments', 2], ['segmenter, 10 s segments', 10]];
      for (const [name, seconds] of i % 2 === 0 ? pair : pair.reverse()) {
        spawnSync('sync');
        const n = await segmenterRun(costs, name, SEGMENTER, LIVE.file, seconds, ack);
        if (seconds === 10) segs.ten = n;
      }
    }
    segs.tiny = await segmenterRun(costs, `segmenter, ${(tinyBytes / 1e6).toFixed(1)} MB input`, SEGMENTER, TINY, 2, ack);
    await segmenterRun(costs, 'segmenter, silent 2009 uploader', SEGMENTER, LIVE.file, 2, silent);
    if (BASELINE) await segmenterRun(costs, 'baseline, silent 2009 uploader', BASELINE, LIVE.file, 2, silent);

    await fmp4Rows(live, LIVE.file, 2, ack);
    segs.heavy = await segmenterRun(heavy, 'segmenter', SEGMENTER, HEAVY.file, 6, ack);
    await fmp4Rows(heavy, HEAVY.file, 6, ack);
    if (BASELINE) await segmenterRun(heavy, 'segmenter (baseline)', BASELINE, HEAVY.file, 6, ack);
    await baselines(heavy, HEAVY.file, 6);
  }

  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; Node ${process.version}`);
  if (extraCa) console.log(`NODE_EXTRA_CA_CERTS=${extraCa} is set here (Node parses it at every start)`);

  live.print(`live-shaped: ${path.basename(LIVE.file)}, 2 s segments (segmenter ${segs.live}, ffmpeg ${segs.ffmpegLive})`, liveBytes);
  compare(live, 2);
  compareFmp4(live, 2);
  if (BASELINE) compare(live, 2, 'segmenter (baseline)');
  if (BASELINE) compareFmp4(live, 2, '--format fmp4 (baseline)');

  heavy.print(`heavy: ${path.basename(HEAVY.file)}, 6 s segments (${segs.heavy})`, heavyBytes);
  compare(heavy, 6);
  compareFmp4(heavy, 6);
  if (BASELINE) compare(heavy, 6, 'segmenter (baseline)');
  if (BASELINE) compareFmp4(heavy, 6, '--format fmp4 (baseline)');

  costs.print('where the segmenter\'s time goes (live-shaped input unless noted)', liveBytes);
  const two = costs.get('segmenter, 2 s segments');
  const ten = costs.get('segmenter, 10 s segments');
  const tiny = costs.get(`segmenter, ${(tinyBytes / 1e6).toFixed(1)} MB input`);
  for (const [what, pick] of [['wall', (t: Timing) => t.seconds], ['cpu', (t: Timing) => t.cpu ?? NaN]] as const) {
    // Same bytes, different number of segments: the difference is what segments cost.
    const measured = (pick(two) - pick(ten)) / (segs.live - segs.ten);
    // Fewer segments took longer: the difference is below this run's noise, and is not spread over the other two.
    const perSegment = Math.max(0, measured);
    const startup = pick(tiny) - segs.tiny * perSegment;
    const perByte = (pick(ten) - startup - segs.ten * perSegment) / liveBytes;
    const segmentText = measured >= 0
      ? `per segment ${(perSegment * 1e6).toFixed(0)} µs (${segs.live} segments: ${(perSegment * segs.live * 1e3).toFixed(0)} ms)`
      : `per segment below this run's noise (10 s segments took ${((pick(ten) - pick(two)) * 1e3).toFixed(0)} ms more than 2 s)`;
    console.log(
      `  ${what.padEnd(4)}: start-up ${(startup * 1e3).toFixed(1)} ms, ${segmentText}, per byte ${(perByte * 1e9).toFixed(2)} ns ` +
        `(${(perByte * liveBytes * 1e3).toFixed(0)} ms for ${(liveBytes / 1e6).toFixed(0)} MB, ${(1 / perByte / 1e6).toFixed(0)} MB/s)`,
    );
  }
  const silentRun = costs.get('segmenter, silent 2009 uploader');
  const paced = { ack: await livePacedFirstMessage(ack, 4), silent: await livePacedFirstMessage(silent, 4) };
  console.log(
    `  first index message after start: ${two.firstMessageMs?.toFixed(0)} ms with an acknowledging uploader, ` +
      `${silentRun.firstMessageMs?.toFixed(0)} ms with a silent 2009 one (+${((silentRun.firstMessageMs ?? NaN) - (two.firstMessageMs ?? NaN)).toFixed(0)} ms: the greeting wait)`,
  );
  console.log(
    `  a live stream's first index message (the 4 s input through a pipe at its own rate): ${paced.ack.toFixed(0)} ms with an acknowledging uploader, ` +
      `${paced.silent.toFixed(0)} ms with a silent 2009 one (${(paced.silent - paced.ack).toFixed(0)} ms apart: the greeting wait is spent while the first segment is cut)`,
  );
  ack.close();
  silent.close();
  fs.rmSync(path.join(SCRATCH, 'out'), { recursive: true, force: true });
  if (BASELINE) {
    const b = costs.get('baseline, silent 2009 uploader');
    console.log(`  baseline's first index message with a silent 2009 uploader: ${b.firstMessageMs?.toFixed(0)} ms (acknowledging: ${live.get('segmenter (baseline)').firstMessageMs?.toFixed(0)} ms)`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
