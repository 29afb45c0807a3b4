/**
 * `npm run demo`: a live stream end to end on this machine, with no AWS account, no system
 * ffmpeg and no Docker. An embedded S3-compatible store stands in for S3 and the CDN; the
 * real uploader and one real segmenter per rendition do the work; ffmpeg (from npm) makes
 * the picture. The player page and hls.js are objects in the same bucket as the stream.
 */
import fs from 'node:fs';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { S3Client, PutObjectCommand } from '@aws-sdk/client-s3';
import { startEmbeddedStore, EMBEDDED_CREDENTIALS, EMBEDDED_REGION } from '@hlsrelay/embedded-store';
import { chooseFfmpeg, ffmpegVersionLine, FIRST_OUTPUT_FD, ladderFfmpegArgs } from '@hlsrelay/segmenter';
import { parseRenditions, DEFAULT_RENDITIONS, type Rendition } from './demo/renditions';
import { startChild, stopChild, loggedPort, portIsFree, type Child } from './demo/children';
import { StatusLine } from './demo/status-line';
import { prepareDataDir } from './demo/data-dir';

const ROOT = path.resolve(__dirname, '..');
const BUCKET = 'hlsrelay';
const KEY_PREFIX = 'stream0001';
/** The master playlist every rendition joins (`segmenter --master`); the uploader measures and stores it. */
const MASTER = 'stream.m3u8';

async function main(): Promise<void> {
  // The SDK's notice about future Node versions is for operators of real deployments, not the demo.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const argv = await yargs(hideBin(process.argv))
    .scriptName('npm run demo --')
    .usage('$0 [options]\n\nA live HLS stream on this machine: test picture (or your input) → ffmpeg → segmenters → uploader → embedded S3 store → your browser.')
    .option('input', { type: 'string', describe: 'Stream this instead of the test picture: a file, a URL ffmpeg reads (rtmp://, srt://, udp://…), or - for stdin' })
    .option('renditions', { type: 'string', default: DEFAULT_RENDITIONS, describe: 'Renditions as WIDTHxHEIGHT@KBITSk, comma-separated' })
    .option('segment-seconds', { type: 'number', default: 2, describe: 'Target segment duration' })
    .option('format', { choices: ['ts', 'fmp4'], default: 'ts', describe: 'Segment container: MPEG-TS, or fragmented MP4 (init + .m4s)' })
    .option('window', { type: 'number', default: 6, describe: 'Segments in each live playlist' })
    .option('fps', { type: 'number', default: 30, describe: 'Frame rate of the encoded renditions' })
    .option('port', { type: 'number', default: 8080, describe: 'HTTP port of the embedded store (0: any free port)' })
    .option('data-dir', { type: 'string', default: path.join(ROOT, '.demo'), describe: 'Where segments and the store live: a new or empty directory, or one an earlier run made (wiped at start)' })
    .option('ffmpeg', { type: 'string', describe: 'ffmpeg to run (default: $FFMPEG, else ffmpeg on PATH, else the bundled @ffmpeg-installer/ffmpeg build, which has no SRT)' })
    .option('encrypt', { type: 'boolean', default: false, describe: 'AES-128 encrypted segments, a new key every 5 segments (keys served by the embedded store: a demo only; see README, Encryption)' })
    .option('duration', { type: 'number', describe: 'Stop by itself after this many seconds' })
    .example('npm run demo', 'live test picture in two renditions; open the printed player URL')
    .example('npm run demo -- --input talk.mp4', 'stream a file as if it were live')
    .example('ffmpeg -f v4l2 -i /dev/video0 -f mpegts - | npm run demo -- --input -', 'stream a camera')
    .strict()
    .help()
    .parseAsync();

  const renditions = parseRenditions(argv.renditions);
  if (!(argv['segment-seconds'] >= 1 && Number.isInteger(argv['segment-seconds']))) {
    throw new TypeError(`--segment-seconds must be a whole number ≥ 1, got ${argv['segment-seconds']}`);
  }
  const dataDir = path.resolve(argv['data-dir']);
  prepareDataDir(dataDir);
  const segmentsDir = path.join(dataDir, 'segments');
  fs.mkdirSync(segmentsDir, { recursive: true });

  if (argv.port !== 0 && !(await portIsFree(argv.port))) {
    throw new Error(`port ${argv.port} is taken on 127.0.0.1: pick another with --port N, or --port 0 for any free one`);
  }
  const store = await startEmbeddedStore({ directory: path.join(dataDir, 'store'), buckets: [BUCKET], port: argv.port });
  const httpPrefix = `${store.endpoint}/${BUCKET}/${KEY_PREFIX}/`;
  const playlists = renditions.map((r) => ({ rendition: r, index: `stream-${r.name}.m3u8`, url: `${httpPrefix}stream-${r.name}.m3u8` }));
  const masterUrl = `${httpPrefix}${MASTER}`;
  await publishPlayer(store.endpoint, [
    { name: 'auto (master playlist)', url: masterUrl },
    ...playlists.map((p) => ({ name: `${p.rendition.name} (${p.rendition.videoKbps} kbit/s)`, url: p.url })),
  ]);

  const children: Child[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (why: string) =>
    (stopping ??= (async () => {
      process.stderr.write(`\ndemo: stopping (${why})…\n`);
      status.stop();
      // The source first: each segmenter sees EOF, closes its last segment and sends end=1;
      // then the uploader drains its queue; then the store.
      const [ffmpeg, uploader, ...segmenters] = [byName('ffmpeg'), byName('uploader'), ...children.filter((c) => c.name.startsWith('segmenter'))];
      if (ffmpeg) await stopChild(ffmpeg, 'SIGINT', 5000);
      // A segmenter whose input ended finishes by itself; SIGTERM only one that does not.
      await Promise.all(segmenters.map((s) => stopChild(s, 'SIGTERM', 10_000, 10_000)));
      if (uploader) await stopChild(uploader, 'SIGTERM', 15_000);
      await store.close();
      process.stderr.write('demo: stopped, nothing left running.\n');
    })());
  const byName = (name: string) => children.find((c) => c.name === name);
  const status = new StatusLine(process.stdout, playlists.map((p) => ({ name: p.rendition.name, url: p.url })));

  // Should the demo itself fail, no child outlives it.
  process.once('exit', () => children.forEach((c) => c.process.exitCode === null && c.process.kill('SIGKILL')));
  process.once('SIGINT', () => void stop('Ctrl-C').then(() => process.exit(0)));
  process.once('SIGTERM', () => void stop('SIGTERM').then(() => process.exit(0)));

  const nodeBin = process.execPath;
  const uploader = startChild('uploader', nodeBin, [
    path.join(ROOT, 'packages/uploader/bin/uploader.js'),
    ...['--listen', '127.0.0.1:0', '--log-json', '--window', String(argv.window)],
    // The segments live under the demo's data directory, not the system temp directory the
    // uploader reads from by default.
    ...['--allow-dir', segmentsDir],
    // Its journal beside the demo's store: a fresh store needs fresh playlist state, and demos
    // run side by side each hold their own.
    ...['--state-dir', path.join(dataDir, 'state')],
    ...['--s3-endpoint', store.endpoint, '--s3-region', EMBEDDED_REGION, '--s3-path-style', '--acl', 'public-read'],
    // The page and the keys come from the one embedded store; in production keys sit behind a private origin.
    ...(argv.encrypt ? ['--encrypt', 'aes-128', '--key-rotation', '5', '--key-uri-prefix', `${httpPrefix}keys/`] : []),
  ], {
    stdio: ['ignore', 'inherit', 'pipe'],
    mark: dataDir,
    env: { ...process.env, AWS_ACCESS_KEY_ID: EMBEDDED_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: EMBEDDED_CREDENTIALS.secretAccessKey },
  });
  children.push(uploader);
  prefixLines(uploader, path.join(dataDir, 'uploader.log'));
  const uploaderPort = await loggedPort(uploader, 'listening for segmenters', 15_000);

  const segmenters = playlists.map(({ rendition, index }) => startSegmenter(rendition, index));
  function startSegmenter(r: Rendition, index: string): Child {
    const child = startChild(`segmenter-${r.name}`, nodeBin, [
      path.join(ROOT, 'packages/segmenter/bin/segmenter.js'),
      '-', String(argv['segment-seconds']), segmentsDir, `segment-${r.name}`, index, httpPrefix, BUCKET, KEY_PREFIX,
      '--uploader', `127.0.0.1:${uploaderPort}`, '--master', MASTER, '--format', argv.format,
      '--spool-dir', path.join(dataDir, 'spool', r.name),
    ], { stdio: ['pipe', 'inherit', 'pipe'], mark: dataDir });
    children.push(child);
    prefixLines(child, path.join(dataDir, `segmenter-${r.name}.log`));
    return child;
  }

  // The same choice `segmenter ladder` makes, said on the terminal with the binary's version.
  const ffmpegChoice = chooseFfmpeg({ flag: argv.ffmpeg, env: process.env });
  const ffmpegPath = ffmpegChoice.path;
  process.stderr.write(`demo: ffmpeg ${ffmpegPath} (from ${ffmpegChoice.source}): ${ffmpegVersionLine(ffmpegPath)}\n`);
  const outputs = renditions.map(() => 'pipe' as const);
  // The same ffmpeg command `segmenter ladder` runs: one decode, split, keyframes aligned.
  const transcode = ladderFfmpegArgs(
    { input: argv.input, fps: argv.fps, segmentSeconds: argv['segment-seconds'], realtime: true, lowLatency: true },
    renditions.map((r) => ({ ...r, audioKbps: 96, extraArgs: [] })),
  );
  const ffmpeg = startChild('ffmpeg', ffmpegPath, transcode, {
    stdio: [argv.input === '-' ? 'inherit' : 'ignore', 'ignore', 'pipe', ...outputs],
    mark: dataDir,
  });
  children.push(ffmpeg);
  prefixLines(ffmpeg, path.join(dataDir, 'ffmpeg.log'));
  segmenters.forEach((seg, i) => {
    const out = ffmpeg.process.stdio[FIRST_OUTPUT_FD + i] as NodeJS.ReadableStream;
    out.pipe(seg.process.stdin!);
    seg.process.stdin!.on('error', () => { /* the segmenter went away; its exit is reported */ });
  });

  // A file input ends: each segmenter closes its last segment (end=1) and exits by itself, and
  // the page and the store stay up, so the whole recording can still be watched, until Ctrl-C.
  let inputEnded = false;
  for (const child of children) {
    void child.exited.then((code) => {
      if (stopping) return;
      if (child.name === 'ffmpeg' && argv.input !== undefined && code === 0) {
        inputEnded = true;
        process.stderr.write('\ndemo: the input ended; the player page and the store stay up until Ctrl-C.\n');
        return;
      }
      if (inputEnded && child.name.startsWith('segmenter') && code === 0) return;
      void stop(`${child.name} exited (${code}); its log is in ${dataDir}`).then(() => process.exit(1));
    });
  }

  const page = store.url(BUCKET, `${KEY_PREFIX}/index.html`);
  process.stdout.write(
    [
      '',
      'hlsrelay demo is live.',
      `  Player page:  ${page}`,
      `  Master:       ${masterUrl}`,
      ...playlists.map((p) => `  Playlist:     ${p.url}`),
      `  Logs:         ${dataDir}`,
      '  Ctrl-C stops everything.',
      '',
    ].join('\n') + '\n',
  );
  status.start();
  if (argv.duration !== undefined) setTimeout(() => void stop(`--duration ${argv.duration}`).then(() => process.exit(0)), argv.duration * 1000);
}

/** The player page, hls.js and the list of playlists, stored in the bucket beside the stream. */
async function publishPlayer(endpoint: string, streams: Array<{ name: string; url: string }>): Promise<void> {
  const s3 = new S3Client({
    endpoint,
    region: EMBEDDED_REGION,
    forcePathStyle: true,
    credentials: EMBEDDED_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  const objects: Array<[string, Buffer | string, string]> = [
    ['index.html', fs.readFileSync(path.join(__dirname, 'demo/player.html')), 'text/html; charset=utf-8'],
    ['hls.min.js', fs.readFileSync(require.resolve('hls.js/dist/hls.min.js')), 'text/javascript'],
    ['player.json', JSON.stringify({ streams }, null, 2), 'application/json'],
  ];
  for (const [name, body, type] of objects) {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${KEY_PREFIX}/${name}`, Body: body, ContentType: type, CacheControl: 'no-cache' }));
  }
  s3.destroy();
}

/** Keeps a child's stderr in its own log file, and shows warnings and errors on the terminal. */
function prefixLines(child: Child, logFile: string): void {
  const log = fs.createWriteStream(logFile);
  let partial = '';
  child.process.stderr?.on('data', (chunk: Buffer) => {
    log.write(chunk);
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (/\b(warn|error|fatal)\b/i.test(line)) process.stderr.write(`[${child.name}] ${line}\n`);
    }
  });
  child.process.stderr?.on('end', () => log.end());
}

main().catch((err: unknown) => {
  process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
