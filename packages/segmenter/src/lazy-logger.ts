/**
 * The daemon's logger, created on its first line. Loading winston is a fifth of the
 * segmenter's start-up (~20 ms and ~10 MB of a ~57 MB process), and a run at --log-level warn
 * or error may never write a line: calls below the level return at once without loading it.
 * The first call at an enabled level (or any other use) creates the real winston logger with
 * the same options, and everything from then on goes to it, so lines are as before.
 */
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
  return deferred(make, LEVELS[options.level ?? 'info']);
}

/** A stand-in for `make()`'s logger; `threshold` undefined (an unknown level) forwards everything. */
function deferred(make: () => Logger, threshold: number | undefined): Logger {
  const handler: ProxyHandler<object> = {
    get(_target, prop) {
      if (typeof prop === 'string' && threshold !== undefined) {
        const rank = LEVELS[prop];
        if (rank !== undefined) return rank > threshold ? ignore : (...args: unknown[]) => (make()[prop as 'info'] as (...a: unknown[]) => Logger)(...args);
        if (prop === 'child') {
          return (meta: object) => {
            let child: Logger | undefined;
            return deferred(() => (child ??= make().child(meta)), threshold);
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
