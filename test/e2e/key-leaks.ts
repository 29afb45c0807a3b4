/** Where a log holds a content key: its hex (either case) or its base64 (padded, unpadded, URL-safe). */
export function keyBytesIn(log: string, keys: readonly Buffer[]): string[] {
  const found: string[] = [];
  for (const k of keys) {
    const forms = [k.toString('hex'), k.toString('hex').toUpperCase(), k.toString('base64'), k.toString('base64').replace(/=+$/, ''), k.toString('base64url')];
    for (const f of forms) if (log.includes(f)) found.push(f);
  }
  return found;
}
