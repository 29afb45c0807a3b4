/**
 * The Node.js release lines the daemons support and when each reaches end of life
 * (https://github.com/nodejs/Release): past it a runtime gets no security fixes, and the AWS SDK
 * drops it soon after. Each daemon logs one warning of its own at start-up instead of the SDK's
 * multi-line notice. Pure: the version and the date come in as arguments.
 */
export const END_OF_LIFE: Readonly<Record<number, string>> = {
  20: '2026-04-30',
  22: '2027-04-30',
  24: '2028-04-30',
};

/** Warn this long before the date. */
export const NOTICE_DAYS = 90;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface RuntimeNotice {
  message: string;
  meta: { node: string; endOfLife: string };
}

/** The warning for `version` (`v20.20.0`) at `now`, or undefined while its line is supported. */
export function runtimeSupportNotice(version: string, now: Date): RuntimeNotice | undefined {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1]);
  const eol = END_OF_LIFE[major];
  if (eol === undefined) {
    // An odd (short-lived) or unknown line: older than the table is past its end of life too.
    const oldest = Math.min(...Object.keys(END_OF_LIFE).map(Number));
    if (major < oldest) return { message: `Node.js ${version} is past its end of life: run Node.js 22 or 24`, meta: { node: version, endOfLife: 'past' } };
    return undefined;
  }
  const left = Date.parse(`${eol}T00:00:00Z`) - now.getTime();
  if (left <= 0) return { message: `Node.js ${version} reached its end of life on ${eol}: run Node.js 22 or 24`, meta: { node: version, endOfLife: eol } };
  if (left <= NOTICE_DAYS * DAY_MS) return { message: `Node.js ${version} reaches its end of life on ${eol}: plan the move to a newer LTS`, meta: { node: version, endOfLife: eol } };
  return undefined;
}
