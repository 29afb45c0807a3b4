/**
 * One logger set-up for both daemons. Library code takes a `Logger` as an argument; only a
 * daemon's `main.ts` calls `createLogger`.
 */
import type winston from 'winston';

export type Logger = winston.Logger;

/**
 * winston is loaded by the first logger made, not by importing this package: it is ~35 ms and
 * ~10 MB of a daemon's start-up, and modules that only need RepeatFilter or the types (the
 * segmenter's delivery code, under its lazy logger) should not pay for it.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = (): typeof winston => require('winston') as typeof winston;

export interface LoggerOptions {
  /** Daemon name, on every line. */
  service: string;
  /** winston level: error, warn, info, debug. */
  level?: string;
  /** JSON lines (for log collectors) instead of readable lines. Default: JSON unless the stream is a terminal. */
  json?: boolean;
  /** Where lines go; default stderr, so stdout stays free for media. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
}

export function createLogger(options: LoggerOptions): Logger {
  const winston = load();
  const stream = options.stream ?? process.stderr;
  const json = options.json ?? !stream.isTTY;
  const format = json
    ? winston.format.combine(winston.format.timestamp(), winston.format.json())
    : winston.format.combine(
        winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
        winston.format.printf(({ timestamp, level, message, service: _service, ...meta }) => textLine(timestamp as string, level, message as string, meta)),
      );
  const logger = winston.createLogger({
    level: options.level ?? 'info',
    defaultMeta: { service: options.service },
    format,
    transports: [new winston.transports.Stream({ stream })],
  });
  // winston formats every line (timestamp, JSON) before its transport drops one below the level:
  // at the default level the uploader's few debug lines per segment cost more than signing its
  // PUT. A line below the level now stops here (a child made later inherits the check).
  const methods = logger as unknown as Record<string, (...args: unknown[]) => Logger>;
  for (const level of Object.keys(logger.levels)) {
    const write = methods[level];
    methods[level] = function (this: Logger, ...args: unknown[]) {
      return this.isLevelEnabled(level) ? write.apply(this, args) : this;
    };
  }
  return logger;
}

/** The readable form of a line (`json: false`): time, level, message, then `key=value` for each field in order. */
export function textLine(timestamp: string, level: string, message: string, meta: Record<string, unknown>): string {
  const extra = Object.entries(meta)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${timestamp} ${level.padEnd(5)} ${message}${extra ? ' ' + extra : ''}`;
}

/** A logger that drops everything: for tests and library callers that do not care. */
export function silentLogger(): Logger {
  const winston = load();
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
export { RepeatFilter, repeatKind } from './repeat-filter';
