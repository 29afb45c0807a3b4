/**
 * A throwaway certificate authority and a server certificate for 127.0.0.1 / localhost, made
 * with the `openssl` command for the TLS tests (not a test file).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface ThrowawayPki {
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** A second CA that signed nothing here: a segmenter trusting it must refuse the uploader. */
  otherCaCert: string;
}

export function makeThrowawayPki(dir: string): ThrowawayPki {
  const f = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  for (const ca of ['ca', 'other-ca']) {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=hlsrelay test ${ca}`,
      '-keyout', f(`${ca}.key`), '-out', f(`${ca}.crt`));
  }
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', f('server.key'), '-out', f('server.csr'));
  writeFileSync(f('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2',
    '-extfile', f('server.ext'), '-out', f('server.crt'));
  readFileSync(f('server.crt'));
  return { caCert: f('ca.crt'), serverCert: f('server.crt'), serverKey: f('server.key'), otherCaCert: f('other-ca.crt') };
}
