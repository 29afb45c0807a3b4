/**
 * The segmenter bin pointed at something that is not the uploader it needs: each mistake ends
 * with a non-zero exit and an error line that names what was reached and the fix, and no
 * message is counted delivered. Also the refusals that must say why: a wrong token, --allow-dir.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { silentLogger } from '@hlsrelay/log';
import { AllowedPaths, FileTarget, MessagePolicy, startUploaderService, type UploaderServiceOptions } from '@hlsrelay/uploader';
import { Notifier } from '@hlsrelay/segmenter';
import { captureLog } from '../support/log-capture';
import { FIXTURES, SEGMENTER_BIN } from '../support/paths';
import { until } from '../support/until';
import { tempDir } from '../support/temp-dir';
import { makeThrowawayPki } from '../support/throwaway-ca';

interface Run {
  code: number | null;
  /** The JSON log lines. */
  lines: Array<Record<string, unknown>>;
  stderr: string;
}

/** The segmenter bin on a 2-second capture, told to give up delivering 2 s after its input ends. */
function segment(dir: string, port: number, extra: string[] = []): Promise<Run> {
  const child = spawn(
    process.execPath,
    [SEGMENTER_BIN, path.join(FIXTURES, 'h264-aac.m2ts'), '1', path.join(dir, 'out'), 'live', 'live.m3u8', 'http://cdn.invalid/', 'b', 'live',
      '--uploader', `127.0.0.1:${port}`, '--drain-timeout', '2', '--log-json', '--status', 'never', ...extra],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) =>
    child.on('close', (code) => {
      const lines = stderr.split('\n').flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
      resolve({ code, lines, stderr });
    }),
  );
}

const errors = (run: Run): string[] => run.lines.filter((l) => l.level === 'error').map((l) => `${l.message} ${l.error ?? ''} ${l.fix ?? ''}`);

/** A listener that is not an uploader, for the length of one test. */
async function listening(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

async function withUploader(dir: string, options: Partial<UploaderServiceOptions>, body: (port: number) => Promise<void>): Promise<void> {
  const service = await startUploaderService({ target: new FileTarget({ root: path.join(dir, 'store') }), logger: silentLogger(), host: '127.0.0.1', port: 0, ...options });
  try {
    await body(service.address.port);
  } finally {
    await service.close();
  }
}

test('a TLS uploader, reached without --tls-ca: non-zero exit, "give this segmenter --tls-ca"', async () => {
  const dir = tempDir('wrong-tls');
  try {
    const pki = makeThrowawayPki(dir);
    const tls = { cert: fs.readFileSync(pki.serverCert), key: fs.readFileSync(pki.serverKey) };
    await withUploader(dir, { tls }, async (port) => {
      const run = await segment(dir, port);
      assert.notEqual(run.code, 0, run.stderr);
      assert.ok(errors(run).some((e) => /takes TLS only on this port.*--tls-ca FILE/.test(e)), run.stderr);
      assert.ok(errors(run).some((e) => /index messages (never delivered|not delivered: they stay in the spool)/.test(e)), run.stderr);
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a plaintext uploader, reached with --tls-ca: non-zero exit, "drop --tls-ca"', async () => {
  const dir = tempDir('wrong-plain');
  try {
    const pki = makeThrowawayPki(dir);
    await withUploader(dir, {}, async (port) => {
      const run = await segment(dir, port, ['--tls-ca', pki.caCert]);
      assert.notEqual(run.code, 0, run.stderr);
      assert.ok(errors(run).some((e) => /plaintext uploader on this port\?.*drop --tls-ca/.test(e)), run.stderr);
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an HTTP server (a status port, an S3 endpoint): non-zero exit, "an HTTP server"', async () => {
  const dir = tempDir('wrong-http');
  const server = http.createServer((_req, res) => res.end('hello'));
  try {
    const run = await segment(dir, await listening(server));
    assert.notEqual(run.code, 0, run.stderr);
    assert.ok(errors(run).some((e) => /an HTTP server \("HTTP\/1\.1 400 Bad Request".*index port/.test(e)), run.stderr);
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a port that closes every connection at once: non-zero exit, "closed the connection at once"', async () => {
  const dir = tempDir('wrong-close');
  const server = net.createServer((socket) => socket.destroy());
  try {
    const run = await segment(dir, await listening(server));
    assert.notEqual(run.code, 0, run.stderr);
    assert.ok(errors(run).some((e) => /closed the connection at once/.test(e)), run.stderr);
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a wrong token: non-zero exit, "refused the token", never "unreachable"', async () => {
  const dir = tempDir('wrong-token');
  try {
    fs.writeFileSync(path.join(dir, 'token'), 'the-wrong-token-0123456789\n');
    await withUploader(dir, { token: 'the-right-token-0123456789' }, async (port) => {
      const run = await segment(dir, port, ['--token-file', path.join(dir, 'token')]);
      assert.notEqual(run.code, 0, run.stderr);
      assert.ok(errors(run).some((e) => /the uploader refused the token/.test(e)), run.stderr);
      assert.ok(!/unreachable/.test(run.stderr), run.stderr);
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('segments refused by --allow-dir: non-zero exit, the reason names --allow-dir', async () => {
  const dir = tempDir('allow-dir');
  try {
    fs.mkdirSync(path.join(dir, 'elsewhere'));
    const policy = new MessagePolicy({ paths: await AllowedPaths.resolve([path.join(dir, 'elsewhere')]) });
    await withUploader(dir, { policy }, async (port) => {
      const run = await segment(dir, port);
      assert.equal(run.code, 1, run.stderr);
      assert.ok(errors(run).some((e) => /refused an index message/.test(e)), run.stderr);
      assert.ok(run.lines.some((l) => /outside the directories this uploader may read \(--allow-dir\)/.test(String(l.reason))), run.stderr);
      assert.ok(errors(run).some((e) => /the uploader refused index messages/.test(e)), run.stderr);
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a wrong token is said again while it lasts: at most once per 10 s, with how many were held back', async () => {
  const dir = tempDir('token-repeats');
  const log = captureLog('segmenter', 'warn');
  let now = 0;
  try {
    await withUploader(dir, { token: 'the-right-token-0123456789' }, async (port) => {
      const notifier = new Notifier({ uploader: { host: '127.0.0.1', port }, logger: log.logger, token: 'the-wrong-token-0123456789', initialRetryMs: 20, maxRetryMs: 20, now: () => now });
      try {
        const refusals = async (): Promise<Array<Record<string, unknown>>> => {
          await log.settle();
          return log.entries.filter((e) => /refused the token/.test(String(e.error)));
        };
        notifier.send('x.m3u8, /tmp, 2, x, , 1, 1, 0, b, live');
        await until(async () => (await refusals()).length === 1, 10_000, 'the first refusal');
        // Retried every 20 ms: the repeats are held back while the clock stands still …
        await until(() => notifier.pending === 1 && log.entries.length >= 1, 1_000);
        await new Promise((r) => setTimeout(r, 300));
        assert.equal((await refusals()).length, 1, 'held back within the interval');
        now += 10_000;
        // … and said again once it has passed, counting them.
        await until(async () => (await refusals()).length === 2, 10_000, 'the refusal said again');
        const again = (await refusals())[1];
        assert.equal(again.level, 'error');
        assert.ok(Number(again.repeated) >= 1, JSON.stringify(again));
        assert.ok(!log.entries.some((e) => /unreachable/.test(String(e.message))), 'never called unreachable');
        assert.equal(notifier.pending, 1, 'the message is kept');
      } finally {
        notifier.close();
      }
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
