/**
 * A real FTP server (ftp-srv) on 127.0.0.1 over a temporary directory, for the FTP target tests.
 * Restartable on the same port, optionally with explicit TLS, optionally refusing to rename onto
 * an existing file (as some servers do) to exercise the delete-then-rename fallback.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { FileSystem, FtpSrv } from 'ftp-srv';
import { restartableServer, type RestartableServer } from './restartable-server';

export interface FtpServerOptions {
  root: string;
  user: string;
  password: string;
  /** Certificate and key (PEM) for AUTH TLS. */
  tls?: { key: string; cert: string };
  renameRefusesExisting?: boolean;
  port?: number;
}

export type TestFtpServer = RestartableServer;

/** ftp-srv logs through bunyan by default; the tests want silence. */
const quietLog = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  fatal() {},
  child() {
    return quietLog;
  },
};

export async function startFtpServer(options: FtpServerOptions): Promise<TestFtpServer> {
  let server: FtpSrv | undefined;
  const state = { port: options.port ?? 0, logins: 0 };
  const start = async () => {
    const before = new Set(process.listeners('SIGTERM'));
    server = new FtpSrv({
      url: `ftp://127.0.0.1:${state.port}`,
      pasv_url: '127.0.0.1',
      pasv_min: 20000,
      pasv_max: 60000,
      tls: options.tls ?? false,
      log: quietLog as never,
    });
    // ftp-srv installs signal handlers that exit the process; a test runner must keep its own.
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const) {
      for (const l of process.listeners(sig)) if (!before.has(l as never)) process.removeListener(sig, l);
    }
    server.on('login', ({ connection, username, password }, resolve, reject) => {
      if (username !== options.user || password !== options.password) return reject(new Error('bad login'));
      state.logins += 1;
      resolve({ fs: options.renameRefusesExisting ? new StrictRenameFileSystem(connection, { root: options.root, cwd: '/' }) : undefined, root: options.root });
    });
    await server.listen();
    state.port = ((server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
  };
  await start();
  return restartableServer(state, start, async () => {
    await server?.close();
    server = undefined;
  });
}

/** Like Windows IIS and some embedded servers: RNTO onto an existing file fails with 550. */
class StrictRenameFileSystem extends FileSystem {
  override rename(from: string, to: string): Promise<unknown> {
    const { fsPath } = (this as unknown as { _resolvePath(p: string): { fsPath: string } })._resolvePath(to);
    if (existsSync(fsPath)) return Promise.reject(new Error(`${path.basename(to)} exists`));
    return super.rename(from, to) as Promise<unknown>;
  }
}
