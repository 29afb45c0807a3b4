/**
 * A real SSH server with an SFTP subsystem (the `ssh2` package's server) on 127.0.0.1 over a
 * temporary directory, for the SFTP target tests. Host key generated per run. Like OpenSSH
 * without posix-rename, its plain RENAME refuses an existing destination (SFTP v3 semantics),
 * unless `renameReplaces` is set. Modes are OpenSSH's: OPEN creates with the mode asked for under
 * this process's umask, SETSTAT/FSETSTAT set it exactly (as ssh2's client does after each open,
 * with 0666 unless told otherwise). Restartable on the same port; stop() also drops live sessions,
 * as a crashed or rebooted server would.
 */
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { Server, utils, type Connection, type SFTPWrapper } from 'ssh2';
import { restartableServer, type RestartableServer } from './restartable-server';

const { STATUS_CODE } = utils.sftp;

export interface SftpServerOptions {
  root: string;
  user: string;
  password?: string;
  /** OpenSSH public key line accepted for `user`. */
  authorizedKey?: string;
  renameReplaces?: boolean;
  port?: number;
  /** The host key (generateSshKey()); a fresh one by default. */
  hostKey?: ReturnType<typeof generateSshKey>;
}

export interface TestSftpServer extends RestartableServer {
  /** The host key's public blob (for fingerprints). */
  hostPublicKey: Buffer;
}

/** An RSA key pair as PEM (PKCS#1, which ssh2 parses on every version) plus the public blob. */
export function generateSshKey(): { privatePem: string; publicBlob: Buffer; publicLine: string } {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const parsed = utils.parseKey(privateKey);
  if (parsed instanceof Error) throw parsed;
  const publicBlob = parsed.getPublicSSH();
  return { privatePem: privateKey, publicBlob, publicLine: `ssh-rsa ${publicBlob.toString('base64')}` };
}

export async function startSftpServer(options: SftpServerOptions): Promise<TestSftpServer> {
  const hostKey = options.hostKey ?? generateSshKey();
  const allowedKey = options.authorizedKey ? utils.parseKey(options.authorizedKey) : undefined;
  if (allowedKey instanceof Error) throw allowedKey;
  const state = { port: options.port ?? 0, logins: 0 };
  let server: Server | undefined;
  const sockets = new Set<Socket>();

  const start = async () => {
    server = new Server({ hostKeys: [hostKey.privatePem] }, (client: Connection) => {
      client.on('error', () => undefined);
      client.on('authentication', (ctx) => {
        if (ctx.username !== options.user) return ctx.reject();
        if (ctx.method === 'password' && options.password !== undefined && ctx.password === options.password) {
          state.logins += 1;
          return ctx.accept();
        }
        if (ctx.method === 'publickey' && allowedKey && ctx.key.data.equals(allowedKey.getPublicSSH())) {
          if (!ctx.signature) return ctx.accept();
          if (allowedKey.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true) {
            state.logins += 1;
            return ctx.accept();
          }
        }
        ctx.reject(['password', 'publickey']);
      });
      client.on('ready', () => {
        client.on('session', (acceptSession) => {
          const session = acceptSession();
          session.on('sftp', (acceptSftp) => serveSftp(acceptSftp(), options));
        });
      });
    });
    // The raw sockets, so stop() can drop sessions abruptly as a crash would (ssh2 keeps its
    // net.Server private).
    (server as unknown as { _srv: NetServer })._srv.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(state.port, '127.0.0.1', () => resolve());
    });
    state.port = (server.address() as AddressInfo).port;
  };
  await start();
  const stop = async () => {
    const s = server;
    server = undefined;
    if (!s) return;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  return Object.assign(restartableServer(state, start, stop), { hostPublicKey: hostKey.publicBlob });
}

/** Serves SFTP requests from one session over `options.root` (the client's `/`). */
function serveSftp(sftp: SFTPWrapper, options: SftpServerOptions): void {
  const handles = new Map<number, number>();
  let nextHandle = 1;
  const local = (p: string) => path.join(options.root, path.posix.resolve('/', p));
  const fail = (id: number, err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    sftp.status(id, code === 'ENOENT' ? STATUS_CODE.NO_SUCH_FILE : code === 'EACCES' ? STATUS_CODE.PERMISSION_DENIED : STATUS_CODE.FAILURE, String(code));
  };
  const handleOf = (buf: Buffer) => handles.get(buf.readUInt32BE(0));
  const attrsOf = (s: fs.Stats) => ({ mode: s.mode, uid: s.uid, gid: s.gid, size: s.size, atime: s.atimeMs / 1000, mtime: s.mtimeMs / 1000 });

  sftp.on('OPEN', (id, filename, flags, attrs) => {
    try {
      const fd = fs.openSync(local(filename), utils.sftp.flagsToString(flags) ?? 'r', attrs?.mode === undefined ? 0o666 : attrs.mode & 0o7777);
      const h = nextHandle++;
      handles.set(h, fd);
      const buf = Buffer.alloc(4);
      buf.writeUInt32BE(h, 0);
      sftp.handle(id, buf);
    } catch (err) {
      fail(id, err);
    }
  });
  sftp.on('WRITE', (id, handle, offset, data) => {
    const fd = handleOf(handle);
    if (fd === undefined) return sftp.status(id, STATUS_CODE.FAILURE);
    try {
      fs.writeSync(fd, data, 0, data.length, offset);
      sftp.status(id, STATUS_CODE.OK);
    } catch (err) {
      fail(id, err);
    }
  });
  sftp.on('READ', (id, handle, offset, length) => {
    const fd = handleOf(handle);
    if (fd === undefined) return sftp.status(id, STATUS_CODE.FAILURE);
    const buf = Buffer.alloc(length);
    const n = fs.readSync(fd, buf, 0, length, offset);
    if (n === 0) sftp.status(id, STATUS_CODE.EOF);
    else sftp.data(id, buf.subarray(0, n));
  });
  sftp.on('CLOSE', (id, handle) => {
    const h = handle.readUInt32BE(0);
    const fd = handles.get(h);
    handles.delete(h);
    if (fd !== undefined) fs.closeSync(fd);
    sftp.status(id, STATUS_CODE.OK);
  });
  sftp.on('FSTAT', (id, handle) => {
    const fd = handleOf(handle);
    if (fd === undefined) return sftp.status(id, STATUS_CODE.FAILURE);
    sftp.attrs(id, attrsOf(fs.fstatSync(fd)));
  });
  for (const ev of ['STAT', 'LSTAT'] as const) {
    sftp.on(ev, (id: number, p: string) => {
      try {
        sftp.attrs(id, attrsOf(ev === 'STAT' ? fs.statSync(local(p)) : fs.lstatSync(local(p))));
      } catch (err) {
        fail(id, err);
      }
    });
  }
  sftp.on('SETSTAT', (id, p, attrs) => {
    try {
      if (attrs.mode !== undefined) fs.chmodSync(local(p), attrs.mode & 0o7777);
      sftp.status(id, STATUS_CODE.OK);
    } catch (err) {
      fail(id, err);
    }
  });
  sftp.on('FSETSTAT', (id, handle, attrs) => {
    const fd = handleOf(handle);
    if (fd === undefined) return sftp.status(id, STATUS_CODE.FAILURE);
    if (attrs.mode !== undefined) fs.fchmodSync(fd, attrs.mode & 0o7777);
    sftp.status(id, STATUS_CODE.OK);
  });
  sftp.on('REALPATH', (id, p) => {
    const resolved = path.posix.resolve('/', p);
    sftp.name(id, [{ filename: resolved, longname: resolved, attrs: {} as never }]);
  });
  sftp.on('MKDIR', (id, p) => {
    try {
      fs.mkdirSync(local(p));
      sftp.status(id, STATUS_CODE.OK);
    } catch (err) {
      fail(id, err);
    }
  });
  sftp.on('REMOVE', (id, p) => {
    try {
      fs.unlinkSync(local(p));
      sftp.status(id, STATUS_CODE.OK);
    } catch (err) {
      fail(id, err);
    }
  });
  sftp.on('RENAME', (id, from, to) => {
    try {
      if (!options.renameReplaces && fs.existsSync(local(to))) return sftp.status(id, STATUS_CODE.FAILURE, 'destination exists');
      fs.renameSync(local(from), local(to));
      sftp.status(id, STATUS_CODE.OK);
    } catch (err) {
      fail(id, err);
    }
  });
}
