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
import { segmentFileName, type SegmentFormat } from '@hlsrelay/protocol';

export function segmentObjectName(outputPrefix: string, segment: number, epoch: number, format?: SegmentFormat): string {
  return epoch === 0 ? segmentFileName(outputPrefix, segment, format) : segmentFileName(`${outputPrefix}-r${epoch}`, segment, format);
}

/**
 * Where an fMP4 init section is stored: its file name, with the epoch's `-r<N>` after the output
 * prefix as for segments (`cam-init.mp4`, after a restart that reused numbers `cam-r1-init.mp4`).
 * `taken` are names this stream has used before: an init with other bytes under a used name (a
 * segmenter restarted with higher numbers writes `-init.mp4` again) gets its digest appended,
 * so a stored init that listed or cached segments need is never overwritten.
 */
export function initObjectName(outputPrefix: string, initFile: string, epoch: number, digest: string, taken: ReadonlySet<string>): string {
  const base = epoch === 0 ? initFile : initFile.startsWith(`${outputPrefix}-`) ? `${outputPrefix}-r${epoch}-${initFile.slice(outputPrefix.length + 1)}` : `r${epoch}-${initFile}`;
  if (!taken.has(base)) return base;
  const stem = base.replace(/\.mp4$/, '');
  for (let n = 8; n <= digest.length; n += 8) {
    const candidate = `${stem}-${digest.slice(0, n)}.mp4`;
    if (!taken.has(candidate)) return candidate;
  }
  throw new RangeError(`no free object name for init ${initFile}`);
}
