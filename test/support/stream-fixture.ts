/**
 * Shared by the durability tests: a throwaway stream whose segment files exist on disk, and a
 * logger whose JSON records a test can read as an operator would.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { createLogger } from '@hlsrelay/log';
import type { IndexMessage } from '@hlsrelay/protocol';

/** A temp folder with `segs/` (segment files written as messages are made) and `store/` (a file target root). */
export function tempStream(name: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `hlsrelay-${name}-`));
  const segs = path.join(dir, 'segs');
  mkdirSync(segs);
  const message = (n: number, end = false): IndexMessage => {
    writeFileSync(path.join(segs, `s-${String(n).padStart(5, '0')}.ts`), `segment ${n}`);
    return {
      index: 's.m3u8', outputDirectory: segs, segmentDuration: 1, outputPrefix: 's', httpPrefix: 'http://cdn/',
      firstSegment: 1, lastSegment: n, end, bucketName: 'b', keyPrefix: 'live', ext: { duration: 1 },
    };
  };
  return { dir, segs, message, root: path.join(dir, 'store'), done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A JSON logger whose records are kept in `records`. */
export function capturedLogger(service: string, level = 'info') {
  const stream = new PassThrough();
  const records: Array<Record<string, unknown>> = [];
  let text = '';
  stream.on('data', (d: Buffer) => {
    text += d.toString();
    const lines = text.split('\n');
    text = lines.pop()!;
    for (const l of lines) if (l) records.push(JSON.parse(l) as Record<string, unknown>);
  });
  return { logger: createLogger({ service, json: true, level, stream }), records };
}
