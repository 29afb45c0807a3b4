/**
 * How late a process's event loop ran its timers while a benchmark step ran: a preload
 * (`node -r ts-node/register/transpile-only -r scripts/bench/loop-delay.ts …`) for the benchmark's
 * child processes, and `watchLoopDelay()` for its own. A loop that is late while its process used
 * little CPU was kept off a core (the machine); one late while busy ran long synchronous work
 * (the code). Written as JSON to $BENCH_LOOP_DELAY_FILE when the process exits.
 */
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
}

export function watchLoopDelay(): { read: () => LoopDelay; stop: () => void } {
  const h: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  // The histogram is in ns and includes the 10 ms resolution itself.
  const ms = (ns: number) => Math.max(0, ns / 1e6 - 10);
  return {
    read: () => ({ p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) }),
    stop: () => h.disable(),
  };
}

const file = process.env.BENCH_LOOP_DELAY_FILE;
if (file) {
  const w = watchLoopDelay();
  process.on('exit', () => writeFileSync(file, JSON.stringify(w.read())));
}
