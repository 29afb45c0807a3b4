/**
 * Content keys of encrypted streams (`--encrypt aes-128`), kept in the state directory under
 * `keys/<stream hash>/<key name>`: mode 0600 in a 0700 folder, written under a temporary name,
 * fsync'd and renamed, before any segment is encrypted with them.
 *
 * A key file holds the 16 key bytes followed by the 16 bytes of the explicit IV that goes with
 * the key (fMP4 streams write it as `IV=0x…`; the IV is no secret). Key names are chosen by
 * the stream (stream-encryption.ts) and never reused for other bytes, so `obtain` answers the
 * same bytes for the same name after any restart: a message replayed from the journal is
 * encrypted again exactly as before, and the objects players may hold never change.
 *
 * The folder is never among the directories index messages may read segments from.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** AES-128: 16 key bytes (RFC 8216 §5.2). */
export const KEY_BYTES = 16;
/** One AES block. */
export const IV_BYTES = 16;

export interface ContentKey {
  /** The key: the only secret of an encrypted stream. Never logged. */
  key: Buffer;
  /** The explicit IV that goes with it. */
  iv: Buffer;
}

export function keyStoreDir(stateDir: string): string {
  return path.join(stateDir, 'keys');
}

export class KeyStore {
  readonly dir: string;
  readonly #random: (n: number) => Buffer;

  constructor(stateDir: string, random: (n: number) => Buffer = randomBytes) {
    this.dir = keyStoreDir(stateDir);
    this.#random = random;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /** The key stored under `name` for the stream, or a new one from randomBytes stored first. */
  async obtain(streamId: string, name: string): Promise<ContentKey> {
    const file = this.#file(streamId, name);
    const held = await readFile(file).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw new Error(`cannot read content key ${name} of stream ${streamId} in ${this.dir}: ${err.code ?? err.message}`);
    });
    if (held !== undefined && held.length === KEY_BYTES + IV_BYTES) {
      return { key: held.subarray(0, KEY_BYTES), iv: held.subarray(KEY_BYTES) };
    }
    // None, or one cut short by a crash before its rename finished (never used then).
    const bytes = this.#random(KEY_BYTES + IV_BYTES);
    await writeDurably(file, bytes);
    return { key: bytes.subarray(0, KEY_BYTES), iv: bytes.subarray(KEY_BYTES) };
  }

  /** Removes keys no replay can need any more (their segments stay decodable: the stored key objects remain). */
  async forget(streamId: string, names: readonly string[]): Promise<void> {
    for (const name of names) await rm(this.#file(streamId, name), { force: true });
  }

  #file(streamId: string, name: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) throw new RangeError(`not a key name: ${JSON.stringify(name)}`);
    return path.join(this.dir, createHash('sha1').update(streamId).digest('hex'), name);
  }
}

async function writeDurably(file: string, bytes: Buffer): Promise<void> {
  const folder = path.dirname(file);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const temp = `${file}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
  const dir = await open(folder, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
