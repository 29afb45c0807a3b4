/** Finds a box by its path of types in ISO BMFF bytes (for golden tests). Not a test file itself. */

/** Boxes whose payload starts with other boxes after `skip` bytes (full-box header or entry count). */
const CONTAINERS: Record<string, number> = {
  moov: 0, trak: 0, mdia: 0, minf: 0, dinf: 0, stbl: 0, mvex: 0, moof: 0, traf: 0,
  stsd: 8, // version/flags + entry_count
  avc1: 78, hvc1: 78, // VisualSampleEntry fields
  mp4a: 28, // AudioSampleEntry fields
};

/** The whole box (header included) at the end of `path`, e.g. ['moov', 'trak#1', 'tkhd'] (#n: the n-th sibling, from 0). */
export function findBox(bytes: Uint8Array, path: string[]): Uint8Array {
  let from = 0;
  let to = bytes.length;
  let found: Uint8Array | null = null;
  for (let depth = 0; depth < path.length; depth++) {
    found = null;
    let seen = 0;
    const [want, nth] = path[depth].split('#');
    const index = Number(nth ?? 0);
    for (let o = from; o + 8 <= to; ) {
      const size = new DataView(bytes.buffer, bytes.byteOffset + o, 4).getUint32(0);
      const type = String.fromCharCode(...bytes.subarray(o + 4, o + 8));
      if (size < 8 || o + size > to) throw new Error(`bad box at ${o}: size ${size}`);
      if (type === want && seen++ === index) {
        found = bytes.subarray(o, o + size);
        from = o + 8 + (CONTAINERS[type] ?? 0);
        to = o + size;
        break;
      }
      o += size;
    }
    if (!found) throw new Error(`no ${path.slice(0, depth + 1).join('/')}`);
  }
  return found!;
}

export const hex = (b: Uint8Array | number[]): string => Buffer.from(b as Uint8Array).toString('hex');
