/** What the encryption e2e tests share: ffmpeg piped into the segmenter bin, reading keys and segments back, and the log check. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { FFMPEG } from '../support/ffmpeg';
import { SEGMENTER_BIN } from '../support/paths';

/** Where a log holds a content key: its hex (either case) or its base64 (padded, unpadded, URL-safe). */
export function keyBytesIn(log: string, keys: readonly Buffer[]): string[] {
  const found: string[] = [];
  for (const k of keys) {
    const forms = [k.toString('hex'), k.toString('hex').toUpperCase(), k.toString('base64'), k.toString('base64').replace(/=+$/, ''), k.toString('base64url')];
    for (const f of forms) if (log.includes(f)) found.push(f);
  }
  return found;
}

/** Lines of ffmpeg's framemd5 output that are frames. */
export const frameLines = (framemd5: string) => framemd5.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;

/** An object by URL, which must be stored. */
export async function fetched(uri: string): Promise<Buffer> {
  const r = await fetch(uri);
  assert.equal(r.status, 200, `${uri} stored`);
  return Buffer.from(await r.arrayBuffer());
}

/**
 * ffmpeg (an H.264/AAC test picture of `seconds`, not in real time) | segmenter with 1 s segments,
 * `<name>-%05u` in `out`, bucket mybucket, key prefix live; resolves once the segmenter exited 0.
 */
export async function segmentTestPicture(o: { out: string; name: string; httpPrefix: string; port: number; seconds: number; format: 'ts' | 'fmp4'; extra?: string[] }): Promise<void> {
  const ffmpeg = spawn(FFMPEG, [
    '-hide_banner', '-loglevel', 'error',
    '-f', 'lavfi', '-i', `testsrc=size=160x120:rate=25:duration=${o.seconds}`, '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${o.seconds}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-sc_threshold', '0', '-c:a', 'aac', '-b:a', '64k', '-f', 'mpegts', '-',
  ], { stdio: ['ignore', 'pipe', 'inherit'] });
  const segmenter = spawn(process.execPath, [
    SEGMENTER_BIN, '-', '1', o.out, o.name, `${o.name}.m3u8`, o.httpPrefix, 'mybucket', 'live', '--format', o.format,
    '--uploader', `127.0.0.1:${o.port}`, '--log-level', 'warn', '--status', 'never', ...(o.extra ?? []),
  ], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  segmenter.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  ffmpeg.stdout!.pipe(segmenter.stdin!);
  const code = await new Promise<number | null>((resolve) => segmenter.once('exit', resolve));
  assert.equal(code, 0, `segmenter: ${stderr}`);
}
