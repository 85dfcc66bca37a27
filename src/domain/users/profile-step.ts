import type { Gender, UserRecord } from "../store.js";
import type { ChangeSet } from "./change-set.js";
import type { ProfileInput } from "./inputs.js";
import { canonicalLanguage } from "./language.js";

/** Gender as stored: the three defined values, anything else "unspecified" (contract.md §5). */
export function normalizeGender(g: number | undefined): Gender {
  return g === 1 || g === 2 || g === 3 ? g : 0;
}

type ProfileField = "givenName" | "familyName" | "nickName" | "displayName" | "preferredLanguage" | "gender";

/**
 * The profile block (update-human-user.md §7): given and family name always compared, the
 * optional fields only when present; one event listing only the changed fields.
 */
export function applyProfile(draft: UserRecord, input: ProfileInput, changes: ChangeSet): void {
  const wanted: Partial<Pick<UserRecord, ProfileField>> = {
    givenName: input.givenName,
    familyName: input.familyName,
  };
  if (input.nickName !== undefined) wanted.nickName = input.nickName;
  if (input.displayName !== undefined) wanted.displayName = input.displayName;
  if (input.preferredLanguage !== undefined) wanted.preferredLanguage = canonicalLanguage(input.preferredLanguage);
  if (input.gender !== undefined) wanted.gender = normalizeGender(input.gender);

  const changed: Record<string, { old: unknown; new: unknown }> = {};
  for (const [field, value] of Object.entries(wanted) as [ProfileField, string | Gender][]) {
    if (draft[field] === value) continue;
    changed[field] = { old: draft[field], new: value };
    (draft as unknown as Record<ProfileField, unknown>)[field] = value;
  }
  if (Object.keys(changed).length > 0) changes.add("user.human.profile.changed", { changes: changed });
}
