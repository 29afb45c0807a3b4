/**
 * Debian's real OpenSSH (`openssh-server`) as an SFTP server for the tests, without a daemon or a
 * fixed port: a Node listener on 127.0.0.1 port 0 hands each connection to `sshd -i` (inetd
 * mode: one sshd per connection on its stdin and stdout), running as the current user with a
 * throwaway host key and one authorized key. Its sftp-server has posix-rename and applies the
 * modes clients ask for, as on any production host. Needs root (sshd's privilege separation).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { perConnectionServer } from '../../support/per-connection-server';

export const SSHD = '/usr/sbin/sshd';

/** Why the real OpenSSH tests cannot run here, or undefined when they can. */
export function opensshMissing(): string | undefined {
  if (!existsSync(SSHD) || !existsSync('/usr/bin/ssh-keygen')) return 'Debian openssh-server is not installed (.ci/run installs it)';
  if (process.getuid?.() !== 0) return 'sshd -i needs root for its privilege separation';
  return undefined;
}

export interface OpensshServer {
  port: number;
  user: string;
  /** The host key's fingerprint exactly as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  stop(): Promise<void>;
}

/** A host key whose `ssh-keygen -lf` fingerprint matches `want` (e.g. holds a `+`), written under `dir`. */
function hostKey(dir: string, want: (fingerprint: string) => boolean): { file: string; fingerprint: string } {
  for (let i = 0; i < 64; i++) {
    const file = path.join(dir, `host-${i}`);
    execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test', '-f', file]);
    // "256 SHA256:… test (ED25519)"
    const fingerprint = execFileSync('/usr/bin/ssh-keygen', ['-lf', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1];
    if (want(fingerprint)) return { file, fingerprint };
  }
  throw new Error('no host key with the wanted fingerprint in 64 tries');
}

export async function startOpensshServer(dir: string, authorizedKey: string, want: (fingerprint: string) => boolean = () => true): Promise<OpensshServer> {
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const key = hostKey(dir, want);
  const authorized = path.join(dir, 'authorized_keys');
  writeFileSync(authorized, authorizedKey + '\n', { mode: 0o600 });
  const config = path.join(dir, 'sshd_config');
  writeFileSync(config, [
    `HostKey ${key.file}`,
    `AuthorizedKeysFile ${authorized}`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'PermitRootLogin yes',
    'PidFile none',
    'LogLevel ERROR',
    'Subsystem sftp internal-sftp',
    '',
  ].join('\n'));
  const server = await perConnectionServer(SSHD, ['-i', '-e', '-f', config]);
  return {
    port: server.port,
    user: os.userInfo().username,
    fingerprint: key.fingerprint,
    stop: () => server.stop(),
  };
}
