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

export interface SampleKind {
  sync: boolean;
  /** False for non-reference pictures (H.264 nal_ref_idc 0, H.265 sub-layer non-reference types). */
  referenced: boolean;
}

export function sampleFlags(k: SampleKind): number {
  const dependsOn = k.sync ? DEPENDS_ON_NONE : DEPENDS_ON_OTHERS;
  const dependedOn = k.referenced ? DEPENDED_ON_UNKNOWN : DEPENDED_ON_NOT;
  return (
    (0 << 26) | // is_leading: unknown
    (dependsOn << 24) | // sample_depends_on
    (dependedOn << 22) | // sample_is_depended_on
    (0 << 20) | // sample_has_redundancy: unknown
    (0 << 17) | // sample_padding_value
    ((k.sync ? 0 : 1) << 16) // sample_is_non_sync_sample; degradation_priority 0
  );
}

/** Every AAC frame decodes on its own. */
export const AUDIO_SAMPLE_FLAGS = sampleFlags({ sync: true, referenced: true });
