/**
 * Where a segment is stored, under its stream's key prefix.
 *
 * A stream whose segmenter never restarts keeps the original layout, `<output prefix>-%05u.ts`.
 * A segmenter restarted mid-stream numbers from the start again; storing its segments under the
 * same names would overwrite objects that players and CDN caches may still hold (a player would
 * splice two different segments under one URL). So each restart that reuses numbers starts a new
 * epoch, and epoch N ≥ 1 stores `<output prefix>-r<N>-%05u.ts`: never a name used before in
 * this stream, since within one epoch numbers only go up.
 */
import { segmentFileName } from '@hlsrelay/protocol';

export function segmentObjectName(outputPrefix: string, segment: number, epoch: number): string {
  return epoch === 0 ? segmentFileName(outputPrefix, segment) : segmentFileName(`${outputPrefix}-r${epoch}`, segment);
}
