/**
 * `ftyp` (ISO/IEC 14496-12 §4.3) of the init segment and `styp` (§8.16.2) of media segments.
 *
 * Brand rule: `iso6` (the brand that covers tfdt version 1, trun version 1 with signed
 * composition offsets and default-base-is-moof) always. `cmfc` (and the CMAF segment brand
 * `cmfs` on segments) only when the file is a CMAF track: ISO/IEC 23000-19 clause 7 gives a CMAF
 * header and its fragments exactly one track (CMAF tracks are never multiplexed), and every codec
 * written here (avc1, hvc1, AAC mp4a) has a CMAF media profile — so a single-track stream (video
 * only or audio only) claims CMAF, a multiplexed audio+video stream does not.
 */
import { BoxWriter } from './box-writer';

export const conformsToCmaf = (trackCount: number): boolean => trackCount === 1;

export function writeFtyp(w: BoxWriter, trackCount: number): void {
  const brands = ['iso6', 'mp41', ...(conformsToCmaf(trackCount) ? ['cmfc'] : [])];
  w.box('ftyp', () => {
    w.fourcc('iso6'); // major_brand
    w.u32(0); // minor_version
    for (const b of brands) w.fourcc(b); // compatible_brands[]
  });
}

export function writeStyp(w: BoxWriter, trackCount: number): void {
  // msdh: a media segment (ISO/IEC 23009-1 §6.3.4.2), the brand DASH and CMAF segments carry.
  // Written at the head of every segment: no brand list to build, no closure.
  w.open('styp');
  w.fourcc('msdh'); // major_brand
  w.u32(0); // minor_version
  w.fourcc('msdh'); // compatible_brands[0]
  if (conformsToCmaf(trackCount)) w.fourcc('cmfs'); // compatible_brands[1]
  w.close();
}
