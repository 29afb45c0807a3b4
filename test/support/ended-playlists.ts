/**
 * RFC 8216 §6.2.1 checked over every playlist version a store was sent (in the order sent): no
 * playlist that carried EXT-X-ENDLIST is ever altered. A key once stored ended is stored again only
 * with the same text — except the live URL of a stream started again after it ended, and only
 * once that very text was stored under a name of its own (`<name>-ended-<N>.m3u8`, README), which
 * itself never changes.
 */
import assert from 'node:assert/strict';

export function assertEndedNeverAltered(versions: ReadonlyArray<{ key: string; text: string }>): void {
  const ended = new Map<string, string>();
  for (const v of versions) {
    const was = ended.get(v.key);
    if (was !== undefined && v.text !== was) {
      assert.doesNotMatch(v.key, /-ended-\d+(-archive)?\.m3u8$/, `${v.key}, a kept ended run, was stored again with other text`);
      const kept = [...ended].find(([key, text]) => key !== v.key && text === was);
      assert.ok(kept, `${v.key} carried EXT-X-ENDLIST and was replaced before it was kept under a name of its own:\n${was}`);
      assert.match(kept[0], /-ended-\d+(-archive)?\.m3u8$/);
    }
    if (v.text.includes('#EXT-X-ENDLIST')) ended.set(v.key, v.text);
    else ended.delete(v.key);
  }
}
