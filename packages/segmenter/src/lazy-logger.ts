/**
 * The daemon's logger, created on its first line. Loading winston is a fifth of the
 * segmenter's start-up (~20 ms and ~10 MB of a ~57 MB process), and a run at --log-level warn
 * or error may never write a line: calls below the level return at once without loading it.
 * The first call at an enabled level (or any other use) creates the real winston logger with
 * the same options, and everything from then on goes to it, so lines are as before.
 */
import os from 'node:os';
import type { Logger, LoggerOptions } from '@hlsrelay/log';

/** winston's default (npm) levels: a call logs when its level is at most the logger's. */
const LEVELS: Record<string, number> = { error: 0, warn: 1, info: 2, http: 3, verbose: 4, debug: 5, silly: 6 };

const ignore = (): void => {};

export function lazyLogger(options: LoggerOptions): Logger {
  let real: Logger | undefined;
  const make = (): Logger => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    real ??= (require('@hlsrelay/log') as typeof import('@hlsrelay/log')).createLogger(options);
    return real;
  };
  const early: EarlyLine = (level, message, fields, meta) => real === undefined && writeEarly(options, level, message, fields, meta);
  return deferred(make, LEVELS[options.level ?? 'info'], early, {});
}

/** Writes a line without winston when it can be written exactly as winston would; false when it cannot. */
type EarlyLine = (level: string, message: unknown, fields: Record<string, unknown>, meta: unknown) => boolean;

/** Fields winston fills in or treats specially: a line that sets one goes through winston. */
const RESERVED = new Set(['level', 'message', 'service', 'timestamp', 'splat', 'stack']);

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

const flat = (v: unknown): boolean => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

/**
 * A line before winston is loaded, in createLogger's exact form, when it is simple: a string
 * message and flat fields (strings, finite numbers, booleans) that do not repeat a child's or use
 * a reserved name. That is the runtime notice on an old Node.js, so a run at --log-level warn
 * loads winston only when something else is said (~35 ms and ~4 MB of a 60 MB segmenter).
 * JSON lines are winston's json format: every field, keys sorted, timestamp in ISO form.
 */
function writeEarly(options: LoggerOptions, level: string, message: unknown, fields: Record<string, unknown>, meta: unknown): boolean {
  if (typeof message !== 'string' || (meta !== undefined && !isPlain(meta))) return false;
  const own = meta ?? {};
  for (const [k, v] of Object.entries(own)) if (RESERVED.has(k) || k in fields || !flat(v)) return false;
  const stream = options.stream ?? process.stderr;
  const now = new Date();
  let line: string;
  if (options.json ?? !stream.isTTY) {
    const all: Record<string, unknown> = { ...fields, ...own, level, message, service: options.service, timestamp: now.toISOString() };
    line = JSON.stringify(Object.fromEntries(Object.keys(all).sort().map((k) => [k, all[k]])));
  } else {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { textLine } = require('@hlsrelay/log') as typeof import('@hlsrelay/log');
    const pad = (n: number, width = 2) => String(n).padStart(width, '0');
    const clock = `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}.${pad(now.getMilliseconds(), 3)}`;
    line = textLine(clock, level, message, { ...fields, ...own });
  }
  stream.write(line + os.EOL);
  return true;
}

/**
 * A stand-in for `make()`'s logger; `threshold` undefined (an unknown level) forwards everything.
 * `fields`: the children's fields so far, for `early`.
 */
function deferred(make: () => Logger, threshold: number | undefined, early: EarlyLine, fields: Record<string, unknown>): Logger {
  const handler: ProxyHandler<object> = {
    get(_target, prop) {
      if (typeof prop === 'string' && threshold !== undefined) {
        const rank = LEVELS[prop];
        if (rank !== undefined) {
          if (rank > threshold) return ignore;
          return (...args: unknown[]) => {
            if (args.length <= 2 && early(prop, args[0], fields, args[1])) return;
            (make()[prop as 'info'] as (...a: unknown[]) => Logger)(...args);
          };
        }
        if (prop === 'child') {
          return (meta: object) => {
            let child: Logger | undefined;
            const childFields = isPlain(meta) && Object.entries(meta).every(([k, v]) => !RESERVED.has(k) && !(k in fields) && flat(v)) ? { ...fields, ...meta } : undefined;
            const childEarly: EarlyLine = (...line) => childFields !== undefined && early(...line);
            return deferred(() => (child ??= make().child(meta)), threshold, childEarly, childFields ?? fields);
          };
        }
      }
      const logger = make();
      const value: unknown = Reflect.get(logger, prop);
      return typeof value === 'function' ? value.bind(logger) : value;
    },
    set(_target, prop, value) {
      return Reflect.set(make(), prop, value);
    },
    has(_target, prop) {
      return Reflect.has(make(), prop);
    },
  };
  return new Proxy({}, handler) as Logger;
}
