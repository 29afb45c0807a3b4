/**
 * Sample flags of `trun` (ISO/IEC 14496-12 §8.8.3.1): reserved(4) is_leading(2)
 * sample_depends_on(2) sample_is_depended_on(2) sample_has_redundancy(2)
 * sample_padding_value(3) sample_is_non_sync_sample(1) sample_degradation_priority(16).
 */

/** sample_depends_on: 1 = depends on others (not an I picture), 2 = does not (I picture, or audio). */
export const DEPENDS_ON_OTHERS = 1;
export const DEPENDS_ON_NONE = 2;
/** sample_is_depended_on: 0 = unknown, 2 = no other sample refers to it (disposable). */
export const DEPENDED_ON_UNKNOWN = 0;
export const DEPENDED_ON_NOT = 2;

/**
 * is_leading: 0 = unknown, 1 = a leading sample that depends on samples before the referenced
 * I picture (not decodable when decoding starts there: H.265 RASL), 2 = not a leading sample,
 * 3 = a leading sample decodable from the I picture on (H.265 RADL).
 */
export const LEADING_UNKNOWN = 0;
export const LEADING_NOT_DECODABLE = 1;
export const LEADING_NOT = 2;
export const LEADING_DECODABLE = 3;

export interface SampleKind {
  sync: boolean;
  /** False for non-reference pictures (H.264 nal_ref_idc 0). */
  referenced: boolean;
  /** is_leading; default LEADING_UNKNOWN. */
  leading?: number;
}

export function sampleFlags(k: SampleKind): number {
  const dependsOn = k.sync ? DEPENDS_ON_NONE : DEPENDS_ON_OTHERS;
  const dependedOn = k.referenced ? DEPENDED_ON_UNKNOWN : DEPENDED_ON_NOT;
  return (
    ((k.leading ?? LEADING_UNKNOWN) << 26) | // is_leading
    (dependsOn << 24) | // sample_depends_on
    (dependedOn << 22) | // sample_is_depended_on
    (0 << 20) | // sample_has_redundancy: unknown
    (0 << 17) | // sample_padding_value
    ((k.sync ? 0 : 1) << 16) // sample_is_non_sync_sample; degradation_priority 0
  );
}

/** Every AAC frame decodes on its own. */
export const AUDIO_SAMPLE_FLAGS = sampleFlags({ sync: true, referenced: true });
