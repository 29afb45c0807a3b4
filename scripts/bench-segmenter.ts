/**
 * npm run bench:segmenter — how fast does the installed segmenter cut a large file, against
 * `cp` (the floor: the same bytes read and written) and `ffmpeg -f hls` (the usual tool), all
 * measured in the same run on the same file; and `--format fmp4` against the TS path and
 * `ffmpeg -c copy -f hls -hls_segment_type fmp4`. Prints MB/s, ratios and the segmenter's peak RSS.
 * `cat FILE > OUT` is printed too: GNU cp may copy inside the kernel (copy_file_range), which no
 * program that looks at the bytes can match, while cat moves them through user space.
 * The machine should be otherwise idle: each contender's best of BENCH_RUNS (default 3) counts.
 *
 * The ≥ 300 MB H.264/AAC input is generated once into .bench/ (git-ignored): a short
 * high-bitrate clip, looped with -c copy so generation stays quick.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { formatAck, formatGreeting, frameMessage, isHello, MessageDecoder } from '@hlsrelay/protocol';

const ROOT = path.resolve(__dirname, '..');
const BENCH = path.join(ROOT, '.bench');
const INPUT = path.join(BENCH, 'input-h264-aac.ts');
const MIN_BYTES = 300 * 1024 * 1024;
const SEGMENT_SECONDS = 6;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const FFMPEG: string = require('@ffmpeg-installer/ffmpeg').path;
const SEGMENTER = path.join(ROOT, 'node_modules', '.bin', 'segmenter');
const TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.toString().slice(-2000)}`);
}

function ensureInput(): void {
  if (fs.existsSync(INPUT) && fs.statSync(INPUT).size >= MIN_BYTES) return;
  fs.mkdirSync(BENCH, { recursive: true });
  const clip = path.join(BENCH, 'clip.ts');
  console.log('generating a 20 s 1280x720 H.264/AAC clip at ~40 Mb/s ...');
  run(FFMPEG, [
    '-v', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '20', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '60', '-b:v', '40M', '-maxrate', '40M', '-bufsize', '20M',
    '-c:a', 'aac', '-b:a', '128k', '-f', 'mpegts', clip,
  ]);
  const loops = Math.ceil(MIN_BYTES / fs.statSync(clip).size);
  console.log(`looping it ${loops} times with -c copy ...`);
  run(FFMPEG, ['-v', 'error', '-y', '-stream_loop', String(loops - 1), '-i', clip, '-c', 'copy', '-f', 'mpegts', INPUT]);
  fs.rmSync(clip);
}

interface Timing {
  seconds: number;
  peakRssKb?: number;
}

/** Runs a command to completion; wall time measured here, peak RSS from /usr/bin/time -v or /proc polling. */
function timed(cmd: string, args: string[]): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = TIME ? spawn(TIME, ['-v', cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'] }) : spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let polledKb = 0;
    const poll = TIME
      ? undefined
      : setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (m) polledKb = Math.max(polledKb, Number(m[1]));
          } catch {
            // the process has just ended
          }
        }, 20);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(poll);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) return reject(new Error(`${cmd} exited ${code}: ${stderr.slice(-2000)}`));
      const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      resolve({ seconds, peakRssKb: m ? Number(m[1]) : polledKb || undefined });
    });
  });
}

function fresh(dir: string): string {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

async function main(): Promise<void> {
  ensureInput();
  const size = fs.statSync(INPUT).size;
  const mb = size / 1e6;
  // Read once so every contender starts from the page cache.
  run('cat', [INPUT]);

  // Speaks the uploader's acknowledged session (protocol session.ts), as the real uploader does:
  // a silent listener would be taken for a 2009 uploader only after the greeting timeout (1 s).
  let messages = 0;
  const listener = net.createServer((s) => {
    const decoder = new MessageDecoder();
    let seq = 0;
    s.write(frameMessage(formatGreeting()));
    s.on('data', (chunk: Buffer) => {
      for (const line of decoder.push(chunk)) {
        if (isHello(line)) continue;
        messages++;
        s.write(frameMessage(formatAck({ ok: true, seq: ++seq })));
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const port = (listener.address() as net.AddressInfo).port;

  const best: Record<string, Timing> = {};
  const keep = (name: string, t: Timing): void => {
    const b = best[name];
    best[name] = { seconds: Math.min(b?.seconds ?? Infinity, t.seconds), peakRssKb: Math.max(b?.peakRssKb ?? 0, t.peakRssKb ?? 0) || undefined };
  };
  for (let i = 0; i < RUNS; i++) {
    const cpOut = path.join(fresh(path.join(BENCH, 'cp')), 'copy.ts');
    keep('cp', await timed('cp', [INPUT, cpOut]));
    fs.rmSync(cpOut);

    // cat reads and writes through user space like the segmenter must; cp may copy in the kernel.
    keep('cat', await timed('sh', ['-c', `cat '${INPUT}' > '${cpOut}'`]));
    fs.rmSync(cpOut);

    const segDir = fresh(path.join(BENCH, 'segmenter'));
    messages = 0;
    keep('segmenter', await timed(SEGMENTER, [INPUT, String(SEGMENT_SECONDS), segDir, 'bench', 'bench.m3u8', 'http://cdn.invalid/', 'bench', 'bench', '--uploader', `127.0.0.1:${port}`, '--log-level', 'warn']));
    const segments = fs.readdirSync(segDir).filter((f) => f.endsWith('.ts')).length;
    await new Promise((r) => setTimeout(r, 100));
    if (i === 0) console.log(`segmenter: ${segments} segments, ${messages} index messages received`);
    fs.rmSync(segDir, { recursive: true });

    const fmp4Dir = fresh(path.join(BENCH, 'segmenter-fmp4'));
    keep('seg fmp4', await timed(SEGMENTER, [INPUT, String(SEGMENT_SECONDS), fmp4Dir, 'bench', 'bench.m3u8', 'http://cdn.invalid/', 'bench', 'bench', '--format', 'fmp4', '--uploader', `127.0.0.1:${port}`, '--log-level', 'warn']));
    if (i === 0) console.log(`segmenter --format fmp4: ${fs.readdirSync(fmp4Dir).filter((f) => f.endsWith('.m4s')).length} segments`);
    fs.rmSync(fmp4Dir, { recursive: true });

    const hlsFmp4Dir = fresh(path.join(BENCH, 'ffmpeg-hls-fmp4'));
    keep('ffmpeg fmp4', await timed(FFMPEG, ['-v', 'error', '-y', '-i', INPUT, '-c', 'copy', '-bsf:a', 'aac_adtstoasc', '-f', 'hls', '-hls_segment_type', 'fmp4', '-hls_time', String(SEGMENT_SECONDS), '-hls_list_size', '0', path.join(hlsFmp4Dir, 'index.m3u8')]));
    fs.rmSync(hlsFmp4Dir, { recursive: true });

    const hlsDir = fresh(path.join(BENCH, 'ffmpeg-hls'));
    keep('ffmpeg', await timed(FFMPEG, ['-v', 'error', '-y', '-i', INPUT, '-c', 'copy', '-f', 'hls', '-hls_time', String(SEGMENT_SECONDS), '-hls_list_size', '0', path.join(hlsDir, 'index.m3u8')]));
    fs.rmSync(hlsDir, { recursive: true });
  }
  listener.close();

  const rate = (t: Timing) => (mb / t.seconds).toFixed(0).padStart(6);
  console.log(`\ninput ${mb.toFixed(0)} MB, best of ${RUNS} runs each (page cache warm)`);
  for (const name of ['cp', 'cat', 'segmenter', 'ffmpeg', 'seg fmp4', 'ffmpeg fmp4']) {
    const t = best[name];
    const rss = t.peakRssKb ? `  peak RSS ${(t.peakRssKb / 1024).toFixed(1)} MB` : '';
    console.log(`${name.padEnd(10)} ${t.seconds.toFixed(3).padStart(7)} s ${rate(t)} MB/s${rss}`);
  }
  const seg = best.segmenter.seconds;
  console.log(`\nsegmenter time / cp time:      ${(seg / best.cp.seconds).toFixed(2)}x  (target ≤ 1.30x)`);
  console.log(`segmenter time / cat time:     ${(seg / best.cat.seconds).toFixed(2)}x  (cat: the same bytes through user space)`);
  console.log(`ffmpeg time / segmenter time:  ${(best.ffmpeg.seconds / seg).toFixed(2)}x faster than ffmpeg -f hls`);
  const fmp4 = best['seg fmp4'].seconds;
  console.log(`fmp4 MB/s / TS MB/s:           ${(seg / fmp4).toFixed(2)}  (target ≥ 0.60)`);
  console.log(`ffmpeg fmp4 / segmenter fmp4:  ${(best['ffmpeg fmp4'].seconds / fmp4).toFixed(2)}x faster than ffmpeg -hls_segment_type fmp4`);
  const rss = (best.segmenter.peakRssKb ?? 0) / 1024;
  console.log(`segmenter peak RSS:            ${rss.toFixed(1)} MB  (target < 64 MB)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
