/**
 * `uploader cost`: the what-if calculator of cost.ts on the command line. The defaults are the
 * 2009 worked example, so `uploader cost` alone reproduces it; prices are options because they
 * change (and differ by region), the model does not.
 */
import yargs from 'yargs';
import { estimateCost, formatCostEstimate, PRICES_2009, type Audience, type Prices } from './cost';

/** One `--price-…` option per price, named after the field, described with its unit. */
export const PRICE_OPTIONS: ReadonlyArray<{ key: keyof Prices; option: string; describe: string }> = [
  { key: 'putPer1000', option: 'price-put-per-1000', describe: 'S3 PUT requests, $ per 1,000' },
  { key: 'transferInPerGb', option: 'price-transfer-in-per-gb', describe: 'data transfer into S3, $ per GB' },
  { key: 'storagePerGbMonth', option: 'price-storage-per-gb-month', describe: 'S3 storage, $ per GB-month' },
  { key: 's3OutPerGb', option: 'price-s3-out-per-gb', describe: 'S3 transfer out (to players and the CDN), $ per GB' },
  { key: 's3GetPer10000', option: 'price-s3-get-per-10000', describe: 'S3 GET requests, $ per 10,000' },
  { key: 'cdnOutPerGb', option: 'price-cdn-out-per-gb', describe: 'CDN transfer out to players, $ per GB' },
  { key: 'cdnGetPer10000', option: 'price-cdn-get-per-10000', describe: 'CDN requests, $ per 10,000' },
];

/** `128,256,364` → numbers; names the option and the bad item. */
export function numberList(option: string, value: unknown): number[] {
  const text = Array.isArray(value) ? value.join(',') : String(value);
  return text.split(',').map((item) => {
    const n = Number(item.trim());
    if (item.trim() === '' || !Number.isFinite(n)) throw new TypeError(`--${option} must be comma-separated numbers, got "${text}"`);
    return n;
  });
}

export function buildCostParser(argv: string[]) {
  let parser = yargs(argv)
    .scriptName('uploader cost')
    .usage(
      '$0 [options]\n\n' +
        'What a live stream costs on S3 + CloudFront: every client watches the whole stream; playlists ' +
        'come from S3 on every refresh, segments from the CDN, which fetches each from S3 a few times. ' +
        'The defaults are the 2009 worked example and its prices.',
    )
    .option('bitrates', { type: 'string', default: '128,256,364', describe: 'rendition bitrates, kbit/s, comma-separated' })
    .option('shares', { type: 'string', default: '25,50,25', describe: 'percent of clients on each rendition (adds up to 100)' })
    .option('minutes', { type: 'number', default: 5, describe: 'length of the stream' })
    .option('clients', { type: 'number', default: 100, describe: 'viewers, all watching the whole stream' })
    .option('segment-seconds', { type: 'number', default: 10, describe: 'segment duration' })
    .option('origin-fetches', { type: 'number', default: 3, describe: 'times the CDN fetches each segment from S3 (edges, expiries)' });
  for (const p of PRICE_OPTIONS) {
    parser = parser.option(p.option, { type: 'number', default: PRICES_2009[p.key], describe: p.describe, group: 'Prices (2009 defaults):' });
  }
  return parser
    .example('$0', 'the 2009 worked example: about $0.19')
    .example('$0 --clients 2000 --minutes 90', 'a 90-minute event for 2,000 viewers')
    .strict()
    .help()
    .version(false)
    .wrap(100);
}

/** The breakdown for parsed `uploader cost` arguments; throws TypeError naming a bad option. */
export function costReport(args: Record<string, unknown>): string {
  const audience: Audience = {
    bitrates: numberList('bitrates', args.bitrates),
    shares: numberList('shares', args.shares),
    minutes: args.minutes as number,
    clients: args.clients as number,
    segmentSeconds: args['segment-seconds'] as number,
    originFetches: args['origin-fetches'] as number,
  };
  const prices = { ...PRICES_2009 };
  for (const p of PRICE_OPTIONS) {
    const v = args[p.option] as number;
    if (!(v >= 0)) throw new TypeError(`--${p.option} must be a price ≥ 0, got ${v}`);
    prices[p.key] = v;
  }
  return formatCostEstimate(audience, estimateCost(audience, prices));
}
