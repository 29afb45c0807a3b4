/** s3rver in a child process for the benchmarks, so the store has a core of its own and its CPU is not the daemon's. */
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';

export interface ChildStore {
  endpoint: string;
  child: ChildProcess;
  directory: string;
}

export async function startChildStore(directory: string, bucket: string): Promise<ChildStore> {
  const code = `require('@hlsrelay/embedded-store')
    .startEmbeddedStore({ directory: ${JSON.stringify(directory)}, buckets: [${JSON.stringify(bucket)}] })
    .then((s) => process.stdout.write(JSON.stringify({ endpoint: s.endpoint }) + '\\n'));`;
  const child = spawn(process.execPath, ['-e', code], { cwd: path.resolve(__dirname, '../..'), stdio: ['ignore', 'pipe', 'inherit'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve((JSON.parse(out) as { endpoint: string }).endpoint);
    });
    child.once('exit', (c) => reject(new Error(`store exited with ${c}`)));
  });
  return { endpoint, child, directory };
}

export async function stopChildStore(store: ChildStore): Promise<void> {
  const exited = new Promise((r) => store.child.once('exit', r));
  store.child.kill('SIGTERM');
  await exited;
  await rm(store.directory, { recursive: true, force: true });
}
