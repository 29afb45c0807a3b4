/**
 * The segment file itself, streamed onto the uploader connection after its `PAYLOAD <length>`
 * line (`--ship-bytes`, protocol segment-payload.ts). Read in chunks and written no faster than
 * the socket drains, so memory stays at one read chunk plus the socket's buffer whatever the
 * segment size — the transcode machine keeps its memory for encoding.
 */
import { createReadStream, rmSync, statSync } from 'node:fs';
import type { Logger } from '@hlsrelay/log';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { initFilePath, messageSegmentFileName, parseMessage } from '@hlsrelay/protocol';

/** Bytes read from the file per write; the socket's buffer holds at most about this much more. */
export const PAYLOAD_READ_BYTES = 64 * 1024;

export interface ShippedFile {
  file: string;
  length: number;
}

/**
 * The segment file an index message announces, and its size now; with `init`, the fMP4 init
 * section it names too. Throws (ENOENT …) when one cannot be read.
 */
export function shippedSegment(message: string): ShippedFile & { init?: ShippedFile } {
  const m = parseMessage(message);
  // A relative output directory is relative to this segmenter, never to the uploader.
  const file = path.resolve(m.outputDirectory, messageSegmentFileName(m));
  const initPath = initFilePath(m);
  const init = initPath === undefined ? undefined : path.resolve(initPath);
  return { file, length: statSync(file).size, ...(init !== undefined ? { init: { file: init, length: statSync(init).size } } : {}) };
}

/**
 * What `--ship-bytes` does with a segment file once the uploader acknowledged its message (it has
 * the bytes on disk): removes it, so a long stream does not fill this machine's disk. Unless
 * `--keep-local`. A file already gone is fine; any other failure is logged, never thrown.
 *
 * fMP4 init sections go too, once an acknowledged message names the next one: a new codec
 * configuration always gets a new file, so no later message of the run names the old one. The
 * newest stays (a restarted run with the same configuration reuses it). One remover per stream.
 */
export function removeShippedSegment(logger: Logger | undefined): (message: string) => void {
  let lastInit: string | undefined;
  return (message) => {
    let file: string | undefined;
    try {
      const m = parseMessage(message);
      file = path.resolve(m.outputDirectory, messageSegmentFileName(m));
      rmSync(file, { force: true });
      const named = initFilePath(m);
      const init = named === undefined ? undefined : path.resolve(named);
      if (init === undefined || init === lastInit) return;
      const previous = lastInit;
      lastInit = init;
      file = previous;
      if (previous !== undefined) rmSync(previous, { force: true });
    } catch (e) {
      logger?.warn('cannot remove a shipped segment file after its acknowledgement', { file, error: (e as Error).message });
    }
  };
}

/**
 * Writes exactly `length` bytes of `file` to `socket`, waiting for it to drain whenever its
 * buffer is full. Rejects when the file holds fewer bytes (the stream could no longer be
 * followed: the caller must drop the connection) or the connection closes first.
 */
export async function streamFile(socket: Writable, file: string, length: number): Promise<void> {
  if (length === 0) return;
  let sent = 0;
  const input = createReadStream(file, { start: 0, end: length - 1, highWaterMark: PAYLOAD_READ_BYTES });
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      sent += chunk.length;
      if (!socket.write(chunk)) await drained(socket);
    }
  } finally {
    input.destroy();
  }
  if (sent !== length) throw new Error(`${file} shrank to ${sent} bytes while ${length} were announced`);
}

function drained(socket: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) {
      reject(new Error('the uploader connection closed while segment bytes were sent'));
      return;
    }
    const done = (err?: Error): void => {
      socket.off('drain', onDrain);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = (): void => done();
    const onClose = (): void => done(new Error('the uploader connection closed while segment bytes were sent'));
    socket.on('drain', onDrain);
    socket.on('close', onClose);
  });
}
