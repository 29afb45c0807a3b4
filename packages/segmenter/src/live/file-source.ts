/**
 * Reads the input — a file, or standard input (a pipe from ffmpeg, a redirected file) — in
 * large chunks into two reused buffers that take turns. The consumer must be done with a chunk
 * (the segmenter writes synchronously) before asking for the next, so memory stays at two
 * buffers whatever the input's size or speed. (A stream on a pipe hands over a new 64 KB
 * buffer per read instead: 261 MB through one left ~90 MB of garbage for the collector, and the
 * process peaked near 100 MB.)
 *
 * Reads overlap the consumer: while it cuts and writes one chunk on the main thread, the next
 * is read on the thread pool, so the two kernel copies (page cache → buffer, buffer → segment
 * file) run on two cores. On a 350 MB file that took the read+write loop from ~145 ms to
 * ~115 ms; a synchronous read each time serialised them. Waiting for each read is also a turn
 * of the event loop, so index messages go out while a long file is cut. A read from a pipe
 * returns what the pipe holds (up to 64 KB on Linux), as soon as it holds something: a live
 * stream's bytes are cut as they come.
 */
import fs from 'node:fs';
import net from 'node:net';

function readInto(fd: number, buffer: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buffer, 0, buffer.length, null, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)));
  });
}

export async function* fileChunks(path: string, readSize: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const fd = fs.openSync(path, 'r');
  try {
    yield* fdChunks(fd, readSize, signal);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Chunks from an open descriptor (standard input) in reused buffers: a pipe or socket by the
 * event loop, a regular file like a file; anything else (a terminal) from `otherwise`, a stream.
 */
export function descriptorChunks(fd: number, readSize: number, signal: AbortSignal, otherwise: () => AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  let kind: fs.Stats | undefined;
  try {
    kind = fs.fstatSync(fd);
  } catch {
    // no usable descriptor: the stream says why
  }
  if (kind?.isFIFO() || kind?.isSocket()) return pipeChunks(fd, readSize, signal);
  if (kind?.isFile()) return fdChunks(fd, readSize, signal);
  return otherwise();
}

/** Chunks from an open regular file's descriptor (standard input redirected from a file, say); the caller keeps and closes `fd`. */
export async function* fdChunks(fd: number, readSize: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const buffers = [new Uint8Array(readSize), new Uint8Array(readSize)];
  let turn = 0;
  let reading: Promise<number> | undefined = readInto(fd, buffers[turn]);
  try {
    while (!signal?.aborted) {
      const n: number = await reading;
      reading = undefined;
      if (n === 0) return;
      const chunk = buffers[turn].subarray(0, n);
      turn ^= 1;
      // Only one read is ever in flight, so the file position advances in order.
      reading = readInto(fd, buffers[turn]);
      yield chunk;
    }
  } finally {
    // A read still in flight must not land on a closed (or reused) descriptor.
    if (reading) await reading.catch(() => 0);
  }
}

/**
 * Chunks from a pipe or socket descriptor (standard input fed by ffmpeg) until EOF or `signal`,
 * read as they come by the event loop into one reused buffer: each chunk is a view of it, valid
 * until the next is asked for. A pipe is not read on the thread pool, where a read blocked on a
 * quiet pipe would keep the process from exiting.
 */
export async function* pipeChunks(fd: number, readSize: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  let chunk: Uint8Array | undefined;
  let ended = false;
  let failed: Error | undefined;
  let wake: (() => void) | undefined;
  // Node's Socket takes onread in its constructor too (lib/net.js), though @types/node lists it for connect() only.
  const options: net.SocketConstructorOpts & { onread: net.OnReadOpts } = {
    fd,
    readable: true,
    writable: false,
    onread: {
      buffer: new Uint8Array(readSize),
      callback: (n: number, buffer: Uint8Array) => {
        chunk = buffer.subarray(0, n);
        wake?.();
        // Paused until the consumer is done with this view of the buffer.
        return false;
      },
    },
  };
  const socket = new net.Socket(options);
  const stop = (): void => {
    ended = true;
    wake?.();
  };
  socket.on('end', stop);
  socket.on('error', (e) => {
    failed = e;
    stop();
  });
  signal?.addEventListener('abort', stop, { once: true });
  try {
    for (;;) {
      if (!chunk && !ended) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      if (failed) throw failed;
      if (signal?.aborted || (ended && !chunk)) return;
      const c = chunk!;
      chunk = undefined;
      yield c;
      socket.resume();
    }
  } finally {
    signal?.removeEventListener('abort', stop);
    socket.destroy();
  }
}
