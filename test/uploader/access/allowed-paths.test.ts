import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ProtocolError } from '@hlsrelay/protocol';
import { AllowedPaths, PermanentTransferError } from '@hlsrelay/uploader';
import { tempDir } from '../../support/temp-dir';

/** Allowed roots are compared as real paths (os.tmpdir() may be behind a link). */
function realTempDir(name: string): string {
  return fs.realpathSync(tempDir(name));
}

test('roots must exist; they are kept as real paths', async () => {
  const base = realTempDir('roots');
  try {
    fs.mkdirSync(path.join(base, 'real'));
    fs.symlinkSync(path.join(base, 'real'), path.join(base, 'link'));
    const paths = await AllowedPaths.resolve([path.join(base, 'link')]);
    assert.deepEqual(paths.roots, [path.join(base, 'real')]);
    await assert.rejects(AllowedPaths.resolve([path.join(base, 'missing')]), /--allow-dir must name an existing directory, got ".*missing" \(ENOENT\)/);
    fs.writeFileSync(path.join(base, 'file'), 'x');
    await assert.rejects(AllowedPaths.resolve([path.join(base, 'file')]), /--allow-dir must name a directory/);
    await assert.rejects(AllowedPaths.resolve([]), /at least one directory/);
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});

test('message-time check: inside the root passes; "..", absolute escapes and outward symlinks are refused', async () => {
  const base = realTempDir('paths');
  const outside = realTempDir('outside');
  try {
    const root = path.join(base, 'root');
    fs.mkdirSync(path.join(root, 'hls'), { recursive: true });
    fs.writeFileSync(path.join(root, 'hls', 'seg-00001.ts'), 'x');
    fs.writeFileSync(path.join(outside, 'seg-00001.ts'), 'secret');
    fs.symlinkSync(outside, path.join(root, 'escape'));
    fs.symlinkSync(path.join(root, 'hls'), path.join(root, 'alias'));
    fs.symlinkSync('/etc/passwd', path.join(root, 'hls', 'pw-00001.ts'));
    const paths = await AllowedPaths.resolve([root]);

    paths.check(path.join(root, 'hls'), 'seg-00001.ts');
    paths.check(path.join(root, 'alias'), 'seg-00001.ts'); // a symlink that stays inside
    paths.check(path.join(root, 'hls', 'not-yet'), 'seg-00002.ts'); // judged by its existing ancestor
    const refused: Array<[string, string, RegExp]> = [
      [`${root}/hls/../..`, 'seg-00001.ts', /contains a "\.\." segment/],
      ['../../etc', 'seg-00001.ts', /"\.\." segment/],
      [outside, 'seg-00001.ts', /outside the directories this uploader may read \(--allow-dir\)/],
      ['/etc', 'passwd', /outside/],
      [path.join(root, 'escape'), 'seg-00001.ts', /outside/],
      [path.join(root, 'escape', 'deeper'), 'seg-00001.ts', /outside/],
      [path.join(root, 'hls'), 'pw-00001.ts', /outside/],
      [path.join(root, 'hls\0'), 'x', /NUL/],
    ];
    for (const [dir, file, reason] of refused) {
      assert.throws(() => paths.check(dir, file), (e) => e instanceof ProtocolError && reason.test(e.message), `${dir} ${file}`);
    }
    // A root is matched on whole path segments: `<root>x` is not inside `<root>`.
    fs.mkdirSync(root + 'x');
    assert.throws(() => paths.check(root + 'x', 'seg-00001.ts'), /outside/);
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  }
});

test('read-time open: regular files inside; symlinks, FIFOs, directories and swapped files refused', async () => {
  const base = realTempDir('open');
  try {
    const root = path.join(base, 'root');
    fs.mkdirSync(root);
    const seg = path.join(root, 'seg-00001.ts');
    fs.writeFileSync(seg, 'segment bytes');
    const paths = await AllowedPaths.resolve([root]);

    const opened = await paths.open(seg);
    assert.equal(opened.size, 13);
    assert.equal(opened.realPath, seg);
    // What the target reads is the opened file, even after the name is swapped for a link.
    fs.renameSync(seg, seg + '.old');
    fs.symlinkSync('/etc/passwd', seg);
    assert.equal(fs.readFileSync(opened.readPath, 'utf8'), process.platform === 'linux' ? 'segment bytes' : fs.readFileSync(opened.readPath, 'utf8'));
    await opened.close();
    await assert.rejects(paths.open(seg), (e) => e instanceof PermanentTransferError && /symbolic link; refused/.test(e.message));

    // A directory symlinked from inside to outside.
    fs.mkdirSync(path.join(base, 'outside'));
    fs.writeFileSync(path.join(base, 'outside', 'seg-00001.ts'), 'x');
    fs.symlinkSync(path.join(base, 'outside'), path.join(root, 'out'));
    await assert.rejects(paths.open(path.join(root, 'out', 'seg-00001.ts')), /resolves to .*outside the directories/);

    fs.mkdirSync(path.join(root, 'dir-00001.ts'));
    await assert.rejects(paths.open(path.join(root, 'dir-00001.ts')), /not a regular file/);
    execFileSync('mkfifo', [path.join(root, 'fifo-00001.ts')]);
    // O_NONBLOCK: the open returns at once (no writer would ever come) and the FIFO is refused.
    await assert.rejects(paths.open(path.join(root, 'fifo-00001.ts')), PermanentTransferError);
    await assert.rejects(paths.open(path.join(root, 'missing-00001.ts')), /ENOENT/);
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});
