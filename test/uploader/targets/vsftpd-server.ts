/**
 * Debian's real vsftpd as an FTP server for the tests, without a daemon or a fixed port: a Node
 * listener on 127.0.0.1 port 0 hands each control connection to `vsftpd` in inetd mode
 * (`listen=NO`: one process per connection on its stdin and stdout); passive data ports are
 * vsftpd's own. Anonymous uploads into `<root>/up` (owned by the `ftp` user, as vsftpd wants a
 * root the session cannot write). Like many hosting servers it refuses SITE CHMOD to these users
 * and applies its own umask (022). Needs root (vsftpd's chroot).
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { perConnectionServer } from '../../support/per-connection-server';

export const VSFTPD = '/usr/sbin/vsftpd';

/** The `ftp` user's uid and gid from /etc/passwd, if there is one (Debian's vsftpd package adds it). */
function ftpUser(): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('ftp:'));
  if (line === undefined) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Why the real vsftpd tests cannot run here, or undefined when they can. */
export function vsftpdMissing(): string | undefined {
  if (!existsSync(VSFTPD)) return 'Debian vsftpd is not installed (.ci/run installs it)';
  if (process.getuid?.() !== 0) return 'vsftpd needs root for its chroot';
  if (ftpUser() === undefined) return 'no "ftp" user (the vsftpd package creates it)';
  return undefined;
}

export interface VsftpdServer {
  port: number;
  /** Where the FTP path `/up` is on this machine. */
  uploadDir: string;
  stop(): Promise<void>;
}

export async function startVsftpd(dir: string): Promise<VsftpdServer> {
  const ftp = ftpUser()!;
  const root = path.join(dir, 'anon');
  const uploadDir = path.join(root, 'up');
  mkdirSync(uploadDir, { recursive: true });
  chownSync(uploadDir, ftp.uid, ftp.gid);
  chmodSync(root, 0o555);
  const config = path.join(dir, 'vsftpd.conf');
  writeFileSync(config, [
    'listen=NO',
    'anonymous_enable=YES',
    'no_anon_password=YES',
    'local_enable=NO',
    'write_enable=YES',
    'anon_upload_enable=YES',
    'anon_mkdir_write_enable=YES',
    'anon_other_write_enable=YES',
    'anon_umask=022',
    `anon_root=${root}`,
    'pasv_enable=YES',
    'pasv_address=127.0.0.1',
    'connect_from_port_20=NO',
    'xferlog_enable=NO',
    // Containers often forbid the namespaces and seccomp filter vsftpd would set up.
    'seccomp_sandbox=NO',
    'isolate=NO',
    'isolate_network=NO',
    '',
  ].join('\n'));
  const server = await perConnectionServer(VSFTPD, [config]);
  return {
    port: server.port,
    uploadDir,
    stop: () => server.stop(),
  };
}
