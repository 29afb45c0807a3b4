import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FileTarget, PermanentTransferError } from '@hlsrelay/uploader';
import { tempDir } from '../../support/temp-dir';
import { BUCKET, PLAYLIST_KEY, realSegments, runLiveStream, runThroughOutage, segmentKey, storesBytes } from './stream-scenario';

describe('file target', () => {
  it('stores a live stream at <root>/<bucket>/<key>; readers only ever see whole playlists', async () => {
    const root = await tempDir('file-target');
    const target = new FileTarget({ root });
    const { report } = await runLiveStream(target, (key) => path.join(root, BUCKET, key));
    assert.equal(report.missing, 0);
    // No temporary files are left behind next to the published ones.
    const names = await readdir(path.join(root, BUCKET, path.dirname(PLAYLIST_KEY)));
    assert.deepEqual(names.filter((n) => n.startsWith('.')), []);
    const mode = (await stat(path.join(root, BUCKET, PLAYLIST_KEY))).mode & 0o777;
    assert.equal(mode, 0o644, 'readable by a web server user whatever the umask');
    await rm(root, { recursive: true });
  });

  it('stores bytes held in memory (an encrypted segment) as they are, with the file mode of every segment', async () => {
    const root = await tempDir('file-bytes');
    const stored = await storesBytes(new FileTarget({ root, fileMode: 0o640 }), (key) => path.join(root, BUCKET, key));
    assert.equal((await stat(stored)).mode & 0o777, 0o640);
    assert.deepEqual((await readdir(path.dirname(stored))).filter((n) => n.startsWith('.')), [], 'no temporary file left');
    await rm(root, { recursive: true });
  });

  it('refuses keys that would escape the root, as permanent errors, writing nothing', async () => {
    const base = await tempDir('file-escape');
    const root = path.join(base, 'root');
    await mkdir(root);
    const target = new FileTarget({ root });
    const [file] = await realSegments();
    const bad: Array<[string, string]> = [
      [BUCKET, '../../outside.ts'],
      [BUCKET, 'a/../../x.ts'],
      [BUCKET, '/etc/x.ts'],
      ['..', 'x.ts'],
      ['a/b', 'x.ts'],
      [BUCKET, 'a//x.ts'],
      [BUCKET, 'a\\..\\x.ts'],
    ];
    for (const [bucket, key] of bad) {
      await assert.rejects(target.putSegment({ bucket, key, file }), PermanentTransferError, `${bucket} ${key}`);
      await assert.rejects(target.putPlaylist({ bucket, key, text: '#EXTM3U\n', maxAgeSeconds: 1 }), PermanentTransferError);
      await assert.rejects(target.delete(bucket, key), PermanentTransferError);
    }
    assert.deepEqual(await readdir(base), ['root']);
    assert.deepEqual(await readdir(root), []);
    await rm(base, { recursive: true });
  });

  it('a missing segment file is permanent; deleting a missing object succeeds', async () => {
    const root = await tempDir('file-missing');
    const target = new FileTarget({ root });
    await assert.rejects(
      target.putSegment({ bucket: BUCKET, key: 'x/seg.ts', file: path.join(root, 'no-such.ts') }),
      PermanentTransferError,
    );
    await target.delete(BUCKET, 'x/never-stored.ts');
    assert.throws(() => new FileTarget({ root: 'relative/dir' }), /absolute/);
    await rm(root, { recursive: true });
  });

  it('keeps order through an outage (the mount gone) and stores everything once it is back', async () => {
    const base = await tempDir('file-outage');
    const root = path.join(base, 'mnt');
    await mkdir(root);
    const target = new FileTarget({ root });
    const result = await runThroughOutage(target, (key) => path.join(root, BUCKET, key), {
      // A plain file where the mount was: every write under it fails until it is back.
      interrupt: async () => {
        await rename(root, `${root}.away`);
        await writeFile(root, 'not a directory');
      },
      resume: async () => {
        await rm(root);
        await rename(`${root}.away`, root);
      },
    });
    assert.ok(result.retries >= 3);
    await rm(base, { recursive: true });
  });

  it('overwrites a segment left half-written by a crashed attempt', async () => {
    const root = await tempDir('file-rewrite');
    const target = new FileTarget({ root });
    const [file] = await realSegments();
    const dest = path.join(root, BUCKET, segmentKey(file));
    await mkdir(path.dirname(dest), { recursive: true });
    await writeFile(path.join(path.dirname(dest), `.${path.basename(dest)}.partial`), 'half');
    await target.putSegment({ bucket: BUCKET, key: segmentKey(file), file });
    assert.deepEqual(await readFile(dest), await readFile(file));
    assert.deepEqual((await readdir(path.dirname(dest))).sort(), [path.basename(dest)]);
    await rm(root, { recursive: true });
  });
});
