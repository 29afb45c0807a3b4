/**
 * Turns a parsed `--target` (target-url.ts) into a TransferTarget, reading its secrets once at
 * start-up so a missing or unreadable password or key file stops the daemon with a clear message
 * instead of failing every upload later.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from '@hlsrelay/log';
import { FileTarget } from './file-target';
import { FtpTarget } from './remote/ftp-target';
import { SftpTarget } from './remote/sftp-target';
import type { SecretSource, TargetSpec } from './target-url';
import type { TransferTarget } from './transfer-target';

export interface CreateTargetDeps {
  logger: Logger;
  /** The environment secrets named by `{from: 'env'}` are read from (main.ts passes process.env). */
  env: Readonly<Record<string, string | undefined>>;
  /** Builds the S3 target from the S3 flags (endpoint, ACL, …), which live in main.ts. */
  s3: () => TransferTarget;
}

export async function createTransferTarget(spec: TargetSpec, deps: CreateTargetDeps): Promise<TransferTarget> {
  const { logger } = deps;
  switch (spec.scheme) {
    case 's3':
      return deps.s3();
    case 'file':
      return new FileTarget({ root: spec.root });
    case 'ftp':
    case 'ftps': {
      const password = spec.password && (await readSecret(spec.password, deps.env, `${spec.display} password`));
      if (spec.scheme === 'ftp' && password !== undefined) {
        logger.warn('plain ftp sends the password unencrypted; prefer ftps:// where the server offers TLS', { target: spec.display });
      }
      const ca = spec.caFile === undefined ? undefined : await readFile(spec.caFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw new Error(`${spec.display}: cannot read ?ca-file=${spec.caFile}: ${err.code ?? err.message}`);
      });
      return new FtpTarget({
        host: spec.host,
        port: spec.port,
        user: spec.user,
        password,
        secure: spec.scheme === 'ftps',
        tls: ca === undefined ? undefined : { ca },
        root: spec.root,
        connections: spec.connections,
        logger,
      });
    }
    case 'sftp': {
      const password = spec.password && (await readSecret(spec.password, deps.env, `${spec.display} password`));
      const privateKey =
        spec.keyFile === undefined
          ? undefined
          : await readFile(spec.keyFile).catch((err: NodeJS.ErrnoException) => {
              throw new Error(`${spec.display}: cannot read the private key file ${spec.keyFile}: ${err.code ?? err.message}`);
            });
      const passphrase = spec.passphrase && (await readSecret(spec.passphrase, deps.env, `${spec.display} key passphrase`));
      if (spec.hostKeySha256 === undefined) {
        logger.warn("sftp host key not pinned: any server answering at this address is trusted; add ?host-key=SHA256:… (ssh-keygen -lf the server's key)", {
          target: spec.display,
        });
      }
      return new SftpTarget({
        host: spec.host,
        port: spec.port,
        user: spec.user,
        password,
        privateKey,
        passphrase,
        hostKeySha256: spec.hostKeySha256,
        root: spec.root,
        connections: spec.connections,
        logger,
      });
    }
  }
}

/** A secret's text; one trailing newline (as editors and `echo` leave) is not part of it. */
async function readSecret(source: SecretSource, env: CreateTargetDeps['env'], what: string): Promise<string> {
  if (source.from === 'env') {
    const value = env[source.variable];
    if (value === undefined || value === '') throw new Error(`${what}: $${source.variable} is not set`);
    return value;
  }
  const text = await readFile(source.path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new Error(`${what}: cannot read ${source.path}: ${err.code ?? err.message}`);
  });
  const value = text.replace(/\r?\n$/, '');
  if (value === '') throw new Error(`${what}: ${source.path} is empty`);
  return value;
}
