/** A rendition of the demo stream: `WIDTHxHEIGHT@BITRATEk`, e.g. `1280x720@2500k`. */
export interface Rendition {
  name: string;
  width: number;
  height: number;
  /** Video bitrate in kbit/s. */
  videoKbps: number;
}

export const DEFAULT_RENDITIONS = '1280x720@2500k,640x360@800k';

export function parseRenditions(spec: string): Rendition[] {
  const out = spec.split(',').map((part) => {
    const m = /^\s*(\d{2,5})x(\d{2,5})@(\d{2,6})k\s*$/.exec(part);
    if (!m) throw new TypeError(`--renditions takes WIDTHxHEIGHT@KBITSk items separated by commas (e.g. ${DEFAULT_RENDITIONS}), got "${part}"`);
    const [width, height, videoKbps] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (width % 2 || height % 2) throw new TypeError(`--renditions: H.264 needs even sizes, got ${width}x${height}`);
    return { name: `${height}p`, width, height, videoKbps };
  });
  const names = new Set(out.map((r) => r.name));
  if (names.size !== out.length) throw new TypeError(`--renditions: two renditions have the same height in "${spec}"`);
  return out;
}
