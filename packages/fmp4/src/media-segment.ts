/**
 * A media segment: `styp`, then one or more `moof` (ISO/IEC 14496-12 §8.8.4) + `mdat` (§8.1.1)
 * pairs. One `traf` per track, every sample's duration, size, flags and (video) signed
 * composition offset in a version-1 `trun`; sample data is passed on as views, never copied.
 */
import { BoxWriter } from './box-writer';
import { writeStyp } from './file-type';

/**
 * One track's samples of a fragment as columns — one entry per sample in each array, no object per
 * sample — and their bytes in order.
 */
export interface FragmentTrack {
  id: number;
  /** tfdt baseMediaDecodeTime: decode time of the first sample, in the track's timescale. */
  baseDecodeTime: number;
  /** Samples in the fragment: the length of each column. */
  count: number;
  /** In the track's timescale. */
  durations: Uint32Array;
  /** sample_flags (sample-flags.ts). */
  flags: Uint32Array;
  /** Presentation minus decode time, in the track's timescale; may be negative (trun v1). */
  compositionOffsets: Int32Array;
  /** How many of `parts` belong to each sample, in order. */
  partCounts: Uint32Array;
  /** The samples' bytes in pieces, sample after sample: NAL units (each gets a 4-byte length) or raw audio frames. */
  parts: Uint8Array[];
  /** Parts are NAL units that each get a 4-byte length prefix (ISO/IEC 14496-15 §4.3.2). */
  lengthPrefixed: boolean;
  /** Sum of `durations`. */
  duration: number;
}

/** tfhd flags (§8.8.7.1). */
const DEFAULT_BASE_IS_MOOF = 0x020000;
/** trun flags (§8.8.8.1). */
const DATA_OFFSET_PRESENT = 0x000001;
const SAMPLE_DURATION_PRESENT = 0x000100;
const SAMPLE_SIZE_PRESENT = 0x000200;
const SAMPLE_FLAGS_PRESENT = 0x000400;
const SAMPLE_COMPOSITION_TIME_OFFSETS_PRESENT = 0x000800;
const TRUN_FLAGS =
  DATA_OFFSET_PRESENT | SAMPLE_DURATION_PRESENT | SAMPLE_SIZE_PRESENT | SAMPLE_FLAGS_PRESENT | SAMPLE_COMPOSITION_TIME_OFFSETS_PRESENT;

/**
 * Each sample's size in the mdat into `sizes` (its parts, and a 4-byte length before each NAL
 * unit); returns their sum.
 */
function sampleSizes(t: FragmentTrack, sizes: Uint32Array): number {
  const prefix = t.lengthPrefixed ? 4 : 0;
  const { parts, partCounts } = t;
  let total = 0;
  let k = 0;
  for (let j = 0; j < t.count; j++) {
    let n = 0;
    for (const end = k + partCounts[j]; k < end; k++) n += parts[k].length + prefix;
    sizes[j] = n;
    total += n;
  }
  return total;
}

/**
 * One `moof`/`mdat` pair (preceded by `styp` when it opens a segment) as a list of byte ranges
 * to be written in order: the boxes and the 4-byte NAL lengths in one new buffer, each sample's
 * NAL units and audio frames as the views they arrived in — the sample data is never copied
 * here (the caller writes the list with one writev). `sequence`: mfhd sequence_number, 1 for the
 * first fragment, +1 for each after (§8.8.5.3).
 *
 * Written once per fragment of every segment, mostly before the JIT has optimised it: plain
 * loops, no closure per box or per track.
 */
export function buildFragment(sequence: number, tracks: FragmentTrack[], opensSegment: boolean): Uint8Array[] {
  const n = tracks.length;
  const sizes: Uint32Array[] = new Array(n);
  const trackBytes: number[] = new Array(n);
  let mdatPayload = 0;
  let sampleCount = 0;
  let prefixes = 0;
  for (let i = 0; i < n; i++) {
    const t = tracks[i];
    sizes[i] = new Uint32Array(t.count);
    trackBytes[i] = sampleSizes(t, sizes[i]);
    mdatPayload += trackBytes[i];
    sampleCount += t.count;
    if (t.lengthPrefixed) prefixes += t.parts.length;
  }
  const w = new BoxWriter(256 + 100 * n + 16 * sampleCount + 4 * prefixes);
  if (opensSegment) writeStyp(w, n);
  const moofStart = w.length;
  const dataOffsetFields: number[] = new Array(n);
  w.open('moof');
  w.openFull('mfhd', 0, 0).u32(sequence).close(); // sequence_number
  for (let i = 0; i < n; i++) {
    const t = tracks[i];
    w.open('traf');
    w.openFull('tfhd', 0, DEFAULT_BASE_IS_MOOF).u32(t.id).close(); // track_ID
    w.openFull('tfdt', 1, 0).u64(t.baseDecodeTime).close(); // baseMediaDecodeTime (64-bit)
    w.openFull('trun', 1, TRUN_FLAGS);
    w.u32(t.count); // sample_count
    dataOffsetFields[i] = w.reserve(4); // data_offset: from the moof's first byte, patched below
    // Per sample: sample_duration, sample_size, sample_flags, sample_composition_time_offset (signed in version 1).
    w.u32Rows([t.durations, sizes[i], t.flags, t.compositionOffsets], t.count);
    w.close(); // trun
    w.close(); // traf
  }
  w.close(); // moof
  const headEnd = w.length + 8;
  w.u32(8 + mdatPayload); // mdat size
  w.fourcc('mdat');
  // The NAL lengths go after the boxes in the same buffer; the list interleaves them with the data.
  let offset = headEnd - moofStart;
  for (let i = 0; i < n; i++) {
    const t = tracks[i];
    w.patchU32(dataOffsetFields[i], offset);
    offset += trackBytes[i];
    if (!t.lengthPrefixed) continue;
    const parts = t.parts;
    for (let k = 0; k < parts.length; k++) w.u32(parts[k].length); // NALUnitLength (lengthSizeMinusOne = 3)
  }
  const bytes = w.bytes();
  const list: Uint8Array[] = [bytes.subarray(0, headEnd)];
  let at = headEnd;
  for (let i = 0; i < n; i++) {
    const t = tracks[i];
    const parts = t.parts;
    if (t.lengthPrefixed) {
      for (let k = 0; k < parts.length; k++) list.push(bytes.subarray(at, (at += 4)), parts[k]);
    } else {
      for (let k = 0; k < parts.length; k++) list.push(parts[k]);
    }
  }
  return list;
}

