/**
 * An encrypted stream whose uploader is killed with -9 mid-stream, while its newest key has
 * encrypted some of its segments and not all, and started again on its state directory: every playlist version a player could have
 * fetched, before and after, lists only segments that decrypt — with the key its EXT-X-KEY names
 * and the IV it implies — to the bytes the segmenter cut. The journaled key state and the keys
 * kept in the state directory are what make the replayed segments the same objects again.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { decrypt, keyedSegments, keyLines } from '../support/hls-keys';
import { parseM3u8 } from '../support/m3u8';
import { until } from '../support/until';
import { CDN, readFile, Rig, Watcher } from './fault-rig';
import { keyBytesIn } from './encryption-rig';

const LIVE = 'fault/fault.m3u8';
const ARCHIVE = 'fault/fault-archive.m3u8';

let r: Rig | undefined;
after(async () => r?.close());

test('kill -9 of an uploader with a key half used: every listed segment, in every playlist seen, decrypts with the key its playlist names', { timeout: 180_000 }, async () => {
  r = await Rig.create();
  await r.startStore();
  const encrypt = ['--encrypt', 'aes-128', '--key-rotation', '3', '--key-uri-prefix', r.url('fault/keys/')];
  await r.startUploader(encrypt);
  const rig = r;
  const watcher = new Watcher(rig, LIVE);
  const out = path.join(rig.dir, 'out');
  const { segmenter } = rig.startStream(14, out);
  // Killed while a key is half used: the newest playlist lists a segment or two under its newest
  // key, and the next segment must be encrypted with that same key after the restart.
  const midKey = (text: string | undefined) => {
    const listed = text === undefined ? [] : keyedSegments(text);
    const under = listed.filter((k) => k.keyUri === listed.at(-1)?.keyUri).length;
    return keyLines(text ?? '').length >= 2 && under >= 1 && under < 3;
  };
  await until(() => midKey(watcher.versions.at(-1)), 60_000, 'a playlist with its newest key half used').catch((e: Error) => {
    throw new Error(`${e.message}\nuploader: ${rig.uploader!.text.slice(-3000)}\nsegmenter: ${segmenter.text.slice(-1500)}`);
  });
  const halfUsed = keyedSegments(watcher.versions.at(-1)!).at(-1)!.keyUri!;
  const keyThen = Buffer.from(await (await fetch(halfUsed)).arrayBuffer());
  await rig.uploader!.stop('SIGKILL');
  const before = rig.uploader!.text;
  await rig.startUploader(encrypt);
  assert.equal(await segmenter.exited, 0, segmenter.text.slice(-2000));
  await until(async () => /#EXT-X-ENDLIST\n$/.test((await rig.get(LIVE))?.body.toString() ?? ''), 90_000, 'final playlist with ENDLIST');
  await watcher.stop();
  assert.deepEqual(watcher.problems, [], 'every playlist version seen was valid and listed only stored segments');
  assert.match(rig.uploader!.text, /continuing from the state directory/);

  const keys = new Map<string, Buffer>();
  const keyOf = async (uri: string) => {
    if (!keys.has(uri)) {
      const got = await fetch(uri);
      assert.equal(got.status, 200, `${uri} stored`);
      keys.set(uri, Buffer.from(await got.arrayBuffer()));
    }
    return keys.get(uri)!;
  };
  let checked = 0;
  for (const version of [...watcher.versions, (await rig.get(ARCHIVE))!.body.toString()]) {
    for (const s of keyedSegments(version)) {
      assert.ok(s.keyUri, `${s.uri} is listed under a key`);
      const stored = await rig.get(s.uri.replace(CDN, 'fault/'));
      assert.equal(stored?.status, 200, `${s.uri} stored`);
      const clear = decrypt(stored!.body, await keyOf(s.keyUri!), s.iv!);
      assert.ok(clear.equals(await readFile(path.join(out, path.basename(s.uri)))), `${s.uri} (sequence ${s.sequence}) decrypts with ${s.keyUri} to the segment cut`);
      checked += 1;
    }
  }
  assert.ok(checked > 20, `${checked} listed segments checked`);
  const final = (await rig.get(LIVE))!.body.toString();
  assert.ok(keyLines(final).length >= 2, 'the last window shows a key change');
  assert.ok(keys.size >= 4, `${keys.size} keys over the stream`);
  assert.deepEqual(keys.get(halfUsed), keyThen, 'the key in use at the kill is the same object after the restart');
  const underIt = keyedSegments(final + watcher.versions.join('\n')).filter((k) => k.keyUri === halfUsed).map((k) => k.uri);
  assert.equal(new Set(underIt).size, 3, `three segments under the key in use at the kill: ${[...new Set(underIt)].join(' ')}`);
  assert.equal(new Set([...keys.values()].map((k) => k.toString('hex'))).size, keys.size, 'every key is another');
  const archive = parseM3u8((await rig.get(ARCHIVE))!.body.toString());
  assert.equal(archive.endList, true);
  assert.deepEqual(keyBytesIn(before + rig.uploader!.text, [...keys.values()]), []);
});
