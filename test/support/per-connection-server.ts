/**
 * An inetd-style listener on 127.0.0.1, port from the OS: each accepted connection is handed to a
 * fresh server process as its stdin and stdout (`sshd -i`, vsftpd with `listen=NO`), so a Debian
 * server runs without its own daemon, port or service manager.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

export interface PerConnectionServer {
  port: number;
  /** Ends every running server process and the listener. */
  stop(): Promise<void>;
}

export async function perConnectionServer(program: string, args: readonly string[]): Promise<PerConnectionServer> {
  const children = new Set<ChildProcess>();
  // Paused: the bytes are the server process's to read, from the socket it shares.
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    const child = spawn(program, args, { stdio: [socket, socket, 'ignore'] });
    children.add(child);
    child.once('exit', () => {
      children.delete(child);
      socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    async stop() {
      for (const c of children) c.kill('SIGTERM');
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
