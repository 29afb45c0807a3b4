/**
 * An encrypted stream whose uploader is killed with -9 mid-stream, right after it stored a new
 * key, and started again on its state directory: every playlist version a player could have
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

test('kill -9 mid-stream of an encrypted stream: every listed segment, in every playlist seen, decrypts with the key its playlist names', { timeout: 180_000 }, async () => {
  r = await Rig.create();
  await r.startStore();
  const encrypt = ['--encrypt', 'aes-128', '--key-rotation', '2', '--key-uri-prefix', r.url('fault/keys/')];
  await r.startUploader(encrypt);
  const rig = r;
  const watcher = new Watcher(rig, LIVE);
  const out = path.join(rig.dir, 'out');
  const { segmenter } = rig.startStream(14, out);
  // The third key (number 2) is stored before its first segment, and so before any playlist names it.
  const keyStored = (n: number) => (line: string) => line.includes('"content key stored"') && (JSON.parse(line) as { keyNumber?: number }).keyNumber === n;
  await until(() => rig.uploader!.text.split('\n').some(keyStored(2)), 60_000, 'a third key stored').catch((e: Error) => {
    throw new Error(`${e.message}\nuploader: ${rig.uploader!.text.slice(-3000)}\nsegmenter: ${segmenter.text.slice(-1500)}`);
  });
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
  assert.equal(new Set([...keys.values()].map((k) => k.toString('hex'))).size, keys.size, 'every key is another');
  const archive = parseM3u8((await rig.get(ARCHIVE))!.body.toString());
  assert.equal(archive.endList, true);
  assert.deepEqual(keyBytesIn(before + rig.uploader!.text, [...keys.values()]), []);
});
