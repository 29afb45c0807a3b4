/** A real logger whose JSON lines the security tests read back (not a test file). */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@hlsrelay/log';

export interface CapturedLog {
  logger: Logger;
  entries: Array<Record<string, unknown> & { level: string; message: string }>;
  /** Lets winston's stream pipeline deliver what was logged so far. */
  settle(): Promise<void>;
}

export function captureLog(service = 'test', level = 'debug'): CapturedLog {
  const entries: CapturedLog['entries'] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) entries.push(JSON.parse(line));
      done();
    },
  });
  return {
    logger: createLogger({ service, level, json: true, stream }),
    entries,
    settle: () => new Promise((resolve) => setTimeout(resolve, 20)),
  };
}
