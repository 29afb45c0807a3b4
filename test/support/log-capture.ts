/** The one way tests read what was logged: real winston loggers writing JSON lines to memory. */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@hlsrelay/log';

export type LogEntry = Record<string, unknown> & { level: string; message: string };

export interface CapturedStream {
  /** Give this to a logger's `stream` option. */
  stream: Writable;
  /** Every JSON line written so far, parsed, in order (the array grows as lines come). */
  entries: LogEntry[];
  /** Everything written so far, as text. */
  text(): string;
}

export interface CapturedLog extends CapturedStream {
  logger: Logger;
  /** Lets winston's stream pipeline deliver what was logged so far. */
  settle(): Promise<void>;
}

export function captureStream(): CapturedStream {
  const entries: LogEntry[] = [];
  const chunks: string[] = [];
  let partial = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      const text = chunk.toString('utf8');
      chunks.push(text);
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      for (const line of lines) if (line.trim()) entries.push(JSON.parse(line) as LogEntry);
      done();
    },
  });
  return { stream, entries, text: () => chunks.join('') };
}

/** A JSON logger for `service` at `level` whose lines are kept. */
export function captureLog(service = 'test', level = 'debug'): CapturedLog {
  const captured = captureStream();
  return {
    ...captured,
    logger: createLogger({ service, level, json: true, stream: captured.stream }),
    settle: () => new Promise((resolve) => setTimeout(resolve, 20)),
  };
}
