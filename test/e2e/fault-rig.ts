/**
 * Real processes for the fault tests: the store (s3rver in its own process, so it can be stopped
 * and started again on the same directory), the uploader bin, each behind a port the rig holds
 * for the whole test (so a restarted one is found at the same address; each start listens on a
 * port of its own from the OS), ffmpeg piped into the segmenter bin, and a watcher
 * that polls the live playlist over HTTP the way a player does and checks every version it sees.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { spoolDirName } from '@hlsrelay/segmenter';
import { parseM3u8 } from '../support/m3u8';
import { HeldPort } from '../support/ports';
import { sleep, until } from '../support/until';
import { FFMPEG as ffmpegPath } from '../support/ffmpeg';
import { ROOT, SEGMENTER_BIN, UPLOADER_BIN } from '../support/paths';
import { tempDir } from '../support/temp-dir';

export const BUCKET = 'live';
export const CDN = 'http://cdn.example/fault/';
const STORE_ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

/** A daemon started by the rig, with its stderr kept for failure messages. */
export class Daemon {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  text = '';
  constructor(child: ChildProcess) {
    this.child = child;
    this.exited = exitOf(child);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => (this.text = (this.text + d).slice(-20_000)));
  }
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    this.child.kill(signal);
    return this.exited;
  }
}

export class Rig {
  readonly dir: string;
  readonly storeDir: string;
  readonly stateDir: string;
  readonly spoolDir: string;
  /** The addresses clients use, held for the whole test. */
  storePort = 0;
  uploaderPort = 0;
  #storeGate?: HeldPort;
  #uploaderGate?: HeldPort;
  store?: Daemon;
  uploader?: Daemon;
  readonly #children: Daemon[] = [];
  /** Run first by close(): pollers a failed test left running would keep the test file alive. */
  readonly #closers: Array<() => Promise<void>> = [];
  /**
   * With `defaultDirs` the daemons get no --state-dir or --spool-dir and find their directories
   * as a user's login would give them ($HOME and $XDG_STATE_HOME under the rig's directory).
   */
  readonly #env: Record<string, string>;
  readonly #dirFlags: { uploader: string[]; segmenter: string[] };

  private constructor(dir: string, defaultDirs: boolean) {
    this.dir = dir;
    this.storeDir = path.join(dir, 'store');
    const home = path.join(dir, 'home');
    const stateHome = path.join(home, '.local/state');
    this.stateDir = defaultDirs ? path.join(stateHome, 'hlsrelay/uploader') : path.join(dir, 'state');
    this.spoolDir = defaultDirs
      ? path.join(stateHome, 'hlsrelay/segmenter', spoolDirName({ bucketName: BUCKET, keyPrefix: 'fault', index: 'fault.m3u8' }))
      : path.join(dir, 'spool');
    this.#env = defaultDirs ? { HOME: home, XDG_STATE_HOME: stateHome } : {};
    this.#dirFlags = defaultDirs ? { uploader: [], segmenter: [] } : { uploader: ['--state-dir', this.stateDir], segmenter: ['--spool-dir', this.spoolDir] };
  }

  static async create(options: { defaultDirs?: boolean } = {}): Promise<Rig> {
    const rig = new Rig(tempDir('fault'), options.defaultDirs ?? false);
    rig.#storeGate = await HeldPort.open();
    rig.#uploaderGate = await HeldPort.open();
    rig.storePort = rig.#storeGate.port;
    rig.uploaderPort = rig.#uploaderGate.port;
    return rig;
  }

  /** s3rver in a child process on the rig's directory, behind the rig's store port; resolves once it answers. */
  async startStore(): Promise<void> {
    // s3rver can throw from a request racing another on the same object; S3 itself never goes
    // down on that, so the stand-in says it on stderr and keeps serving.
    const code = `process.on('uncaughtException', (e) => process.stderr.write('store error: ' + (e && e.stack) + '\\n')); require('@hlsrelay/embedded-store').startEmbeddedStore({ directory: ${JSON.stringify(this.storeDir)}, buckets: [${JSON.stringify(BUCKET)}], port: 0 }).then((s) => process.stderr.write('store ready on ' + s.port + '\\n'))`;
    const d = new Daemon(spawn(process.execPath, ['-e', code], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] }));
    this.#children.push(d);
    this.store = d;
    await until(() => {
      if (d.child.exitCode !== null) throw new Error(`store exited: ${d.text}`);
      return d.text.includes('store ready');
    }, 30_000, 'store start');
    this.#behind(this.#storeGate!, d, Number(/store ready on (\d+)/.exec(d.text)![1]));
  }

  async startUploader(extra: string[] = []): Promise<void> {
    const d = new Daemon(
      spawn(
        process.execPath,
        [
          UPLOADER_BIN, '--listen', '127.0.0.1:0', '--s3-endpoint', `http://127.0.0.1:${this.storePort}`, '--s3-path-style',
          ...this.#dirFlags.uploader, '--keep-local', '--archive', '', '--retry-max-delay', '1', '--log-json', '--log-level', 'info', ...extra,
        ],
        { cwd: ROOT, env: { ...process.env, ...STORE_ENV, ...this.#env }, stdio: ['ignore', 'ignore', 'pipe'] },
      ),
    );
    this.#children.push(d);
    this.uploader = d;
    await until(() => {
      if (d.child.exitCode !== null) throw new Error(`uploader exited: ${d.text}`);
      return d.text.includes('listening for segmenters');
    }, 30_000, 'uploader start');
    const listening = d.text.split('\n').find((l) => l.includes('"listening for segmenters"'))!;
    this.#behind(this.#uploaderGate!, d, Number(String((JSON.parse(listening) as { address: string }).address).split(':').pop()));
  }

  /** `gate` relays to the daemon's own port until the daemon exits, then resets connections. */
  #behind(gate: HeldPort, d: Daemon, port: number): void {
    gate.forwardTo(port);
    void d.exited.then(() => gate.forwardTo(undefined));
  }

  /** ffmpeg (a real H.264/AAC test picture, in real time) piped into the segmenter bin, 1 s segments. */
  startStream(seconds: number, outDir: string): { segmenter: Daemon; ffmpeg: Daemon } {
    const ffmpeg = new Daemon(
      spawn(ffmpegPath, [
        '-hide_banner', '-loglevel', 'error', '-re',
        '-f', 'lavfi', '-i', `testsrc=size=160x120:rate=25:duration=${seconds}`,
        '-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`,
        '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-sc_threshold', '0',
        '-c:a', 'aac', '-b:a', '32k', '-f', 'mpegts', '-',
      ], { stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    const segmenter = new Daemon(
      spawn(process.execPath, [
        SEGMENTER_BIN, '-', '1', outDir, 'fault', 'fault.m3u8', CDN, BUCKET, 'fault',
        '--uploader', `127.0.0.1:${this.uploaderPort}`, ...this.#dirFlags.segmenter, '--drain-timeout', '60',
        '--log-level', 'info', '--log-json', '--status', 'never',
      ], { cwd: ROOT, env: { ...process.env, ...this.#env }, stdio: ['pipe', 'ignore', 'pipe'] }),
    );
    ffmpeg.child.stdout!.pipe(segmenter.child.stdin!);
    segmenter.child.stdin!.on('error', () => {});
    this.#children.push(ffmpeg, segmenter);
    return { segmenter, ffmpeg };
  }

  url(key: string): string {
    return `http://127.0.0.1:${this.storePort}/${BUCKET}/${key}`;
  }

  async get(key: string): Promise<{ status: number; body: Buffer } | undefined> {
    try {
      const r = await fetch(this.url(key), { signal: AbortSignal.timeout(5000) });
      return { status: r.status, body: Buffer.from(await r.arrayBuffer()) };
    } catch {
      return undefined; // the store is down
    }
  }

  /** `fn` runs when the rig closes, before its processes are killed. */
  onClose(fn: () => Promise<void>): void {
    this.#closers.push(fn);
  }

  async close(): Promise<void> {
    await Promise.all(this.#closers.map((fn) => fn()));
    for (const c of this.#children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await Promise.all(this.#children.map((c) => c.exited));
    await Promise.all([this.#storeGate?.close(), this.#uploaderGate?.close()]);
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Polls the live playlist like a player: every version seen must parse, its media sequence must
 * never go back, and every segment it lists must be readable from the store at that moment.
 */
export class Watcher {
  readonly versions: string[] = [];
  readonly problems: string[] = [];
  #lastSequence = -1;
  #stop = false;
  readonly #done: Promise<void>;

  constructor(rig: Rig, key: string) {
    rig.onClose(() => this.stop());
    this.#done = (async () => {
      while (!this.#stop) {
        const r = await rig.get(key);
        if (r && r.status === 200 && r.body.length > 0 && r.body.toString() !== this.versions.at(-1)) {
          const text = r.body.toString();
          this.versions.push(text);
          await this.#check(rig, text);
        }
        await sleep(250);
      }
    })();
  }

  async #check(rig: Rig, text: string): Promise<void> {
    const m = parseM3u8(text);
    if (!text.startsWith('#EXTM3U\n') || m.mediaSequence === undefined || !m.segments) {
      this.problems.push(`not a valid media playlist:\n${text}`);
      return;
    }
    if (m.mediaSequence < this.#lastSequence) this.problems.push(`media sequence went back from ${this.#lastSequence} to ${m.mediaSequence}`);
    this.#lastSequence = m.mediaSequence;
    for (const s of m.segments) {
      const seg = await rig.get(s.uri.replace(CDN, 'fault/'));
      // Undefined: the store went down between the playlist and this read — not the playlist's fault.
      if (seg && seg.status !== 200) this.problems.push(`listed ${s.uri} is not in the store (HTTP ${seg.status})`);
    }
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#done;
  }
}

/** `.ts` files a segmenter wrote, sorted. */
export async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.ts')).sort();
}

export { readFile };
