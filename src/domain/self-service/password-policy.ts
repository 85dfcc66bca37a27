import type { DomainDeps } from "../deps.js";
import { MAX_PASSWORD_BYTES, type PasswordPolicy } from "../users/password-policy.js";

/** What a page shows before a new password is chosen: the deployment's policy, no user data. */
export function passwordPolicyForPages(deps: Pick<DomainDeps, "passwordPolicy">): PasswordPolicy & { maxLength: number } {
  return { ...deps.passwordPolicy, maxLength: MAX_PASSWORD_BYTES };
}
