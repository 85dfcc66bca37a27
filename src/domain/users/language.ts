/** BCP 47 tag for "undetermined". */
export const UNDETERMINED_LANGUAGE = "und";

/**
 * Canonicalises a BCP 47 language tag (`EN` → `en`, `en-us` → `en-US`); an empty or ill-formed
 * tag becomes `und` (update-human-user.md §7), so stored values always compare canonically.
 */
export function canonicalLanguage(tag: string | undefined): string {
  if (!tag) return UNDETERMINED_LANGUAGE;
  try {
    return Intl.getCanonicalLocales(tag)[0] ?? UNDETERMINED_LANGUAGE;
  } catch {
    return UNDETERMINED_LANGUAGE;
  }
}
