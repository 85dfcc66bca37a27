import type { StoreTx, UserRecord } from "../store.js";
import { FailedCodeAttempt } from "./failed-attempt.js";
import type { DomainDeps } from "../deps.js";
import type { Principal } from "../principal.js";
import { Errors } from "../errors.js";
import type { NewPassword, PasswordInput } from "./inputs.js";
import { checkPasswordLength, checkPasswordPolicy } from "./password-policy.js";
import { assertSupportedHash } from "./password-hash.js";
import { checkCode } from "./verification-codes.js";
import type { ChangeSet } from "./change-set.js";

/** Validation of a password block that needs no stored data (update-human-user.md §1 step 2.6). */
export function validatePasswordInput(input: PasswordInput): asserts input is PasswordInput & { newPassword: NewPassword } {
  const np = input.newPassword;
  if (!np) throw Errors.passwordEmpty();
  if (np.kind === "hashed") assertSupportedHash(np.hash);
  else checkPasswordLength(np.password);
}

/**
 * Slow bcrypt work done before the user's row is locked, so that the lock is held briefly.
 * Its results are used only if the stored hash is still the one they were computed against.
 */
export interface PasswordPrework {
  newHash?: string;
  currentCheck?: { againstHash: string; matches: boolean };
}

export async function preparePassword(
  deps: DomainDeps,
  principal: Principal,
  user: Pick<UserRecord, "orgId" | "passwordHash">,
  input: PasswordInput & { newPassword: NewPassword },
): Promise<PasswordPrework> {
  const work: PasswordPrework = {};
  const v = input.verification;
  // Without proof the change needs user.write (decision 1): a request that will be refused
  // must not occupy one of the few hashing slots.
  if (v.kind === "none" && !deps.permissions.holds(principal, "user.write", user.orgId)) return work;
  const storedHash = user.passwordHash;
  if (v.kind === "current" && storedHash) {
    work.currentCheck = { againstHash: storedHash, matches: await deps.hasher.verify(v.password, storedHash) };
    if (!work.currentCheck.matches) return work;
  }
  const np = input.newPassword;
  if (np.kind === "plain" && policyPasses(deps, np.password)) work.newHash = await deps.hasher.hash(np.password);
  return work;
}

function policyPasses(deps: DomainDeps, password: string): boolean {
  try {
    checkPasswordPolicy(password, deps.passwordPolicy);
    return true;
  } catch {
    return false;
  }
}

export interface PasswordStepOptions {
  /** SetPassword: a new password equal to the current one is refused (COMMAND-Aesh5). */
  rejectUnchanged?: boolean;
}

/**
 * The password step of UpdateHumanUser and SetPassword (update-human-user.md §6): state, then
 * verification (current password, reset code, or permission — decision 1), then the complexity
 * policy, then hashing. Applies the change to `draft` and records the event.
 */
export async function applyPasswordStep(
  deps: DomainDeps,
  tx: Pick<StoreTx, "getCode">,
  principal: Principal,
  draft: UserRecord,
  input: PasswordInput & { newPassword: NewPassword },
  prework: PasswordPrework,
  changes: ChangeSet,
  options: PasswordStepOptions = {},
): Promise<void> {
  if (draft.state === "initial") throw Errors.userNotInitialisedPassword();
  const v = input.verification;
  const np = input.newPassword;
  const now = changes.at;

  if (v.kind === "current") {
    if (!draft.passwordHash) throw Errors.passwordNotSet();
    const matches =
      prework.currentCheck?.againstHash === draft.passwordHash
        ? prework.currentCheck.matches
        : await deps.hasher.verify(v.password, draft.passwordHash);
    if (!matches) throw Errors.passwordInvalid();
    // The current password has just matched the stored hash, and bcrypt is exact up to 72 bytes,
    // the most either may have: the new one is unchanged exactly when it equals the current one.
    // This keeps a second bcrypt comparison out of the row lock.
    if (options.rejectUnchanged && np.kind === "plain" && np.password === v.password) {
      throw Errors.passwordNotChanged();
    }
  } else if (v.kind === "code") {
    const code = await tx.getCode(draft.id, "password_reset");
    const check = checkCode(deps, code, "password_reset", draft.id, v.code, now);
    switch (check.outcome) {
      case "none":
        throw Errors.resetCodeNotFound();
      case "expired":
        throw Errors.resetCodeExpired();
      case "exhausted":
        throw Errors.resetCodeInvalid();
      case "wrong":
        throw new FailedCodeAttempt(
          Errors.resetCodeInvalid(),
          code!,
          check.failedAttempts,
          "user.human.password.code.verification.failed",
        );
      case "match":
        break;
    }
  } else if (!deps.permissions.holds(principal, "user.write", draft.orgId)) {
    throw Errors.permissionDenied();
  }

  let hash: string;
  if (np.kind === "plain") {
    checkPasswordPolicy(np.password, deps.passwordPolicy);
    hash = prework.newHash ?? (await deps.hasher.hash(np.password));
  } else {
    hash = np.hash;
  }

  draft.passwordHash = hash;
  draft.passwordChangeRequired = np.changeRequired;
  draft.passwordChangedAt = now;
  changes.discardCode("password_reset");
  changes.add("user.human.password.changed", {
    changeRequired: np.changeRequired,
    kind: np.kind,
    verification: v.kind === "current" ? "current_password" : v.kind === "code" ? "verification_code" : "permission",
  });
}
