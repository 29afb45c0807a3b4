/**
 * What a live stream costs on S3 + CloudFront: the what-if model of the 2009 worked example,
 * line by line, with prices as inputs. Everyone watches the whole stream; playlists come from
 * S3 on every refresh, segments from the CDN, which fetches each one from S3 a few times.
 */

export interface Prices {
  /** S3 PUT requests, $ per 1,000. */
  putPer1000: number;
  /** Data transfer into S3, $ per GB. */
  transferInPerGb: number;
  /** S3 storage, $ per GB-month (the example keeps one month). */
  storagePerGbMonth: number;
  /** S3 transfer out (to players and to the CDN), $ per GB. */
  s3OutPerGb: number;
  /** S3 GET requests, $ per 10,000. */
  s3GetPer10000: number;
  /** CDN transfer out to players, $ per GB. */
  cdnOutPerGb: number;
  /** CDN requests, $ per 10,000. */
  cdnGetPer10000: number;
}

/** The prices of the 2009 example. */
export const PRICES_2009: Prices = {
  putPer1000: 0.01,
  transferInPerGb: 0.1,
  storagePerGbMonth: 0.15,
  s3OutPerGb: 0.17,
  s3GetPer10000: 0.01,
  cdnOutPerGb: 0.17,
  cdnGetPer10000: 0.01,
};

export interface Audience {
  /** Rendition bitrates, kbit/s. */
  bitrates: number[];
  /** Share of clients on each rendition, percent; same length as bitrates, sums to 100. */
  shares: number[];
  minutes: number;
  clients: number;
  segmentSeconds: number;
  /** How many times the CDN fetches each segment from S3 (edge locations, expiries). */
  originFetches: number;
}

export interface CostLine {
  item: string;
  /** The arithmetic, so the figure can be checked by hand. */
  formula: string;
  dollars: number;
}

export interface CostEstimate {
  segmentsPerRendition: number;
  /** MB (10^6 bytes) of each rendition for the whole stream. */
  megabytes: number[];
  lines: CostLine[];
  total: number;
}

export function validateAudience(a: Audience): void {
  const problems: string[] = [];
  if (a.bitrates.length === 0 || a.bitrates.some((b) => !(b > 0))) problems.push(`bitrates must be numbers > 0, got ${a.bitrates.join(',')}`);
  if (a.shares.length !== a.bitrates.length) problems.push(`shares needs one value per bitrate (${a.bitrates.length}), got ${a.shares.length}`);
  else if (Math.abs(a.shares.reduce((s, x) => s + x, 0) - 100) > 0.01) problems.push(`shares must add up to 100, got ${a.shares.reduce((s, x) => s + x, 0)}`);
  for (const [name, v] of [['minutes', a.minutes], ['clients', a.clients], ['segment-seconds', a.segmentSeconds], ['origin-fetches', a.originFetches]] as const) {
    if (!(v > 0)) problems.push(`${name} must be > 0, got ${v}`);
  }
  if (problems.length) throw new TypeError(problems.join('; '));
}

const gb = (mb: number) => mb / 1000;
const money = (x: number) => `$${x.toFixed(6)}`;

export function estimateCost(a: Audience, p: Prices): CostEstimate {
  validateAudience(a);
  const seconds = a.minutes * 60;
  const segments = Math.ceil(seconds / a.segmentSeconds);
  const renditions = a.bitrates.length;
  const megabytes = a.bitrates.map((kbps) => (kbps * seconds) / 8 / 1000);
  const storedMb = megabytes.reduce((s, x) => s + x, 0);
  const watchedMb = megabytes.reduce((s, mb, i) => s + ((a.clients * a.shares[i]) / 100) * mb, 0);
  // Each segment is one PUT and is followed by one playlist PUT.
  const puts = 2 * segments * renditions;
  const playlistGets = a.clients * segments;
  const originGets = segments * a.originFetches;
  const cdnGets = a.clients * segments;

  const lines: CostLine[] = [
    { item: 'S3 PUT requests', formula: `${puts} PUTs × $${p.putPer1000}/1000`, dollars: (puts / 1000) * p.putPer1000 },
    { item: 'S3 transfer in', formula: `${storedMb.toFixed(2)} MB × $${p.transferInPerGb}/GB`, dollars: gb(storedMb) * p.transferInPerGb },
    { item: 'S3 storage (1 month)', formula: `${storedMb.toFixed(2)} MB × $${p.storagePerGbMonth}/GB-month`, dollars: gb(storedMb) * p.storagePerGbMonth },
    {
      item: 'S3 transfer out to the CDN',
      formula: `${a.originFetches} × ${storedMb.toFixed(2)} MB × $${p.s3OutPerGb}/GB`,
      dollars: gb(a.originFetches * storedMb) * p.s3OutPerGb,
    },
    {
      item: 'S3 GET requests',
      formula: `(${a.clients} clients × ${segments} playlist refreshes + ${segments} × ${a.originFetches} CDN fetches) × $${p.s3GetPer10000}/10000`,
      dollars: ((playlistGets + originGets) / 10000) * p.s3GetPer10000,
    },
    { item: 'CDN transfer out to players', formula: `${watchedMb.toFixed(2)} MB × $${p.cdnOutPerGb}/GB`, dollars: gb(watchedMb) * p.cdnOutPerGb },
    { item: 'CDN requests', formula: `${a.clients} clients × ${segments} segments × $${p.cdnGetPer10000}/10000`, dollars: (cdnGets / 10000) * p.cdnGetPer10000 },
  ];
  return { segmentsPerRendition: segments, megabytes, lines, total: lines.reduce((s, l) => s + l.dollars, 0) };
}

export function formatCostEstimate(a: Audience, e: CostEstimate): string {
  const rows = [
    `${a.clients} clients, ${a.minutes} min, ${a.segmentSeconds} s segments → ${e.segmentsPerRendition} segments per rendition`,
    ...a.bitrates.map((kbps, i) => `  ${kbps} kbit/s: ${e.megabytes[i].toFixed(2)} MB, watched by ${a.shares[i]} % of clients`),
    '',
    ...e.lines.map((l) => `${l.item.padEnd(30)} ${money(l.dollars).padStart(11)}   ${l.formula}`),
    `${'Total'.padEnd(30)} ${money(e.total).padStart(11)}`,
  ];
  return rows.join('\n');
}
