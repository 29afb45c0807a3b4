/**
 * For the durability tests (journal, spool, acknowledged sessions): a throwaway stream whose
 * segment files exist on disk, each written as its message is made.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { IndexMessage } from '@hlsrelay/protocol';
import { tempDir } from './temp-dir';

/** A temp folder with `segs/` (segment files written as messages are made) and `store/` (a file target root). */
export function tempStream(name: string) {
  const dir = tempDir(name);
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
