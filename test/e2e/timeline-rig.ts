/**
 * Real processes for the master timeline tests (master-timeline.test.ts): the store with a
 * recording proxy in front (every playlist version the uploader stored), the uploader bin behind
 * a held port (killed with -9 and started again on its state directory), the children a test
 * starts; and how a stored version is read: each segment's first video PTS and its date-time.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { adaptationFieldControl, parsePesHeader, payloadOffset, payloadUnitStart, TS_PACKET_SIZE } from '@hlsrelay/mpegts';
import { FFMPEG } from '../support/ffmpeg';
import { HeldStore } from '../support/held-store';
import { HeldPort } from '../support/ports';
import { RecordingProxy } from '../support/recording-proxy';
import { tempDir } from '../support/temp-dir';
import { startUploader, type UploaderProcess } from '../support/uploader-process';
import { getObject } from '../support/uploader-rig';

export const BUCKET = 'live';
export const PREFIX = 'pdt';
export const CDN = 'http://cdn.example/pdt/';

/** A child process with its stderr kept. */
export class Child {
  readonly exited: Promise<number | null>;
  text = '';
  constructor(readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => (this.text += d));
  }
}

/** Store, recording proxy, the uploader behind a held port, and the processes a test starts. */
export class TimelineRig {
  readonly dir = tempDir('master-timeline');
  readonly stateDir = path.join(this.dir, 'state');
  readonly #children: Child[] = [];
  store!: HeldStore;
  proxy!: RecordingProxy;
  gate!: HeldPort;
  uploader?: UploaderProcess;
  /** Every uploader started, in order. */
  readonly uploaders: UploaderProcess[] = [];

  async start(): Promise<void> {
    this.store = await HeldStore.start(path.join(this.dir, 'store'), [BUCKET]);
    this.proxy = await RecordingProxy.start(this.store.port);
    this.gate = await HeldPort.open();
    await this.startUploader();
  }

  async startUploader(): Promise<void> {
    this.uploader = await startUploader([
      '--s3-endpoint', this.proxy.endpoint, '--s3-path-style', '--state-dir', this.stateDir, '--acl', 'none',
      '--retry-max-delay', '1', '--log-level', 'info',
    ]);
    this.uploaders.push(this.uploader);
    this.gate.forwardTo(this.uploader.port);
  }

  /** What every uploader started so far logged at `level`. */
  logged(level: string): Array<Record<string, unknown>> {
    return this.uploaders.flatMap((u) => u.lines).filter((l) => l.level === level);
  }

  /** kill -9 and start again on the same state directory: the journal and the master timeline continue. */
  async crashAndRestartUploader(): Promise<void> {
    this.gate.forwardTo(undefined);
    const u = this.uploader!;
    u.child.kill('SIGKILL');
    await u.stop();
    await this.startUploader();
  }

  spawn(command: string, args: string[], stdin: 'pipe' | 'ignore' = 'ignore'): Child {
    const c = new Child(spawn(command, args, { stdio: [stdin, stdin === 'pipe' ? 'ignore' : 'pipe', 'pipe'] }));
    if (command === FFMPEG) c.child.stdout?.on('error', () => {});
    this.#children.push(c);
    return c;
  }

  /** Every playlist version the store took, in the order the uploader sent them. */
  versions(): Array<{ key: string; text: string }> {
    return this.proxy.requests
      .filter((r) => r.method === 'PUT' && r.status === 200 && r.body !== undefined)
      .map((r) => ({ key: r.path.replace(`/${BUCKET}/`, ''), text: r.body! }));
  }

  /** The last stored version of `key`. */
  latest(key: string): string | undefined {
    return this.versions().filter((v) => v.key === key).at(-1)?.text;
  }

  async close(): Promise<void> {
    for (const c of this.#children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await Promise.all(this.#children.map((c) => c.exited));
    await this.uploader?.stop();
    await this.gate?.close();
    await this.proxy?.close();
    await this.store?.release();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** PTS of the first video PES in a segment: the keyframe it starts with (ISO 13818-1 §2.4.3.7). */
function firstVideoPts(ts: Buffer): number {
  for (let o = 0; o + TS_PACKET_SIZE <= ts.length; o += TS_PACKET_SIZE) {
    if (!payloadUnitStart(ts, o) || (adaptationFieldControl(ts, o) & 0x01) === 0) continue;
    const pes = parsePesHeader(ts, payloadOffset(ts, o), o + TS_PACKET_SIZE);
    if (pes && pes.streamId >= 0xe0 && pes.streamId <= 0xef && pes.pts >= 0) return pes.pts;
  }
  throw new Error('no video PES with a PTS in the segment');
}

/** The segments of one playlist version with their EXT-X-PROGRAM-DATE-TIME (each must have one). */
export function datedSegments(text: string): Array<{ uri: string; pdt: number }> {
  const out: Array<{ uri: string; pdt: number }> = [];
  let pdt: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) {
      assert.match(line, /:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'ISO 8601 with milliseconds');
      pdt = Date.parse(line.slice(line.indexOf(':') + 1));
    } else if (line !== '' && !line.startsWith('#')) {
      assert.ok(pdt !== undefined, `${line} has a program date-time`);
      out.push({ uri: line, pdt });
      pdt = undefined;
    }
  }
  return out;
}

/**
 * Every stored version of every variant, one map: (run, PTS) → the date-times it was given. Each
 * must be one instant (within 1 ms) across variants and versions. Returns how many PTS values two
 * or more variants share, and the widest spread of date-times one PTS was given.
 */
export async function assertOneTimeline(r: TimelineRig, variants: string[]): Promise<{ shared: number; widestMs: number }> {
  const ptsOf = new Map<string, number>();
  const seen = new Map<string, Map<string, Set<number>>>();
  for (const v of r.versions()) {
    const variant = variants.find((name) => v.key === `${PREFIX}/${name}`);
    if (!variant) continue;
    for (const s of datedSegments(v.text)) {
      const name = s.uri.replace(CDN, '');
      if (!ptsOf.has(name)) ptsOf.set(name, firstVideoPts((await getObject(r.store, BUCKET, `${PREFIX}/${name}`)).body));
      // A run started after an end numbers its objects -r<N>-: its PTS start again.
      const run = /-r(\d+)-\d+\.ts$/.exec(name)?.[1] ?? '0';
      const at = `${run}:${ptsOf.get(name)}`;
      const byVariant = seen.get(at) ?? new Map<string, Set<number>>();
      seen.set(at, byVariant);
      byVariant.set(variant, (byVariant.get(variant) ?? new Set()).add(s.pdt));
    }
  }
  let shared = 0;
  let widestMs = 0;
  for (const [at, byVariant] of seen) {
    const all = [...byVariant.values()].flatMap((s) => [...s]);
    const spread = Math.max(...all) - Math.min(...all);
    widestMs = Math.max(widestMs, spread);
    assert.ok(spread <= 1, `PTS ${at}: date-times ${JSON.stringify(Object.fromEntries([...byVariant].map(([k, s]) => [k, [...s].map((t) => new Date(t).toISOString())])))} are ${spread} ms apart`);
    if (byVariant.size > 1) shared++;
  }
  return { shared, widestMs };
}

