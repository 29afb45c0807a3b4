/**
 * The demo's live status: what a player sees in each playlist right now (media sequence,
 * segments listed, newest segment's duration), read over HTTP like a player would.
 */
export interface WatchedPlaylist {
  name: string;
  url: string;
}

interface PlaylistFacts {
  mediaSequence: number;
  segments: number;
  lastDuration: number;
  ended: boolean;
}

export function playlistFacts(text: string): PlaylistFacts {
  const durations = [...text.matchAll(/^#EXTINF:([\d.]+),/gm)].map((m) => Number(m[1]));
  return {
    mediaSequence: Number(/^#EXT-X-MEDIA-SEQUENCE:(\d+)/m.exec(text)?.[1] ?? 0),
    segments: durations.length,
    lastDuration: durations.at(-1) ?? 0,
    ended: /^#EXT-X-ENDLIST/m.test(text),
  };
}

export class StatusLine {
  #timer: NodeJS.Timeout | undefined;
  #ticks = 0;
  readonly #started = Date.now();

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly playlists: WatchedPlaylist[],
  ) {}

  start(): void {
    this.#timer = setInterval(() => void this.#tick(), 1000);
  }

  stop(): void {
    clearInterval(this.#timer);
    if (this.out.isTTY) this.out.write('\n');
  }

  async #tick(): Promise<void> {
    this.#ticks++;
    // On a terminal the line is redrawn every second; in a log, one line every ten.
    if (!this.out.isTTY && this.#ticks % 10 !== 0) return;
    const parts = await Promise.all(
      this.playlists.map(async (p) => {
        try {
          const res = await fetch(p.url, { cache: 'no-store' });
          if (res.status === 404) return `${p.name}: waiting for the first segment`;
          if (!res.ok) return `${p.name}: HTTP ${res.status}`;
          const f = playlistFacts(await res.text());
          return `${p.name}: seq ${f.mediaSequence} +${f.segments} (last ${f.lastDuration.toFixed(2)} s)${f.ended ? ' ended' : ''}`;
        } catch (err) {
          return `${p.name}: ${(err as Error).message}`;
        }
      }),
    );
    const elapsed = Math.round((Date.now() - this.#started) / 1000);
    const line = `live ${elapsed}s | ${parts.join(' | ')}`;
    this.out.write(this.out.isTTY ? `\r\x1b[2K${line}` : `${line}\n`);
  }
}
