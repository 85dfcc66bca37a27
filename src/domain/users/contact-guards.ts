import type { DomainDeps } from "../deps.js";
import type { DomainError } from "../errors.js";
import { Errors } from "../errors.js";
import type { Principal } from "../principal.js";
import type { UserRecord } from "../store.js";
import { canWrite, requireInitialised, requireLiveHuman, requireSelfOrWrite, requireWrite } from "./guards.js";

/**
 * The guards of the email and phone RPCs (contract.md §9.4, §9.5; auth.md §6), each in the
 * spec's order. `notFound` is the RPC's own error (`Errors.User.Email.NotFound` or
 * `Errors.User.Phone.NotFound`, both COMMAND-ieJ2e).
 */

/**
 * SetEmail, SetPhone, ResendEmailCode, SendEmailCode, ResendPhoneCode: not found → INITIAL →
 * permission write. `elevated` (`is_verified`, decision 2; `return_code`, decision 8) needs
 * user.write even for the user itself.
 */
export function guardContactChange(
  deps: DomainDeps,
  principal: Principal,
  stored: UserRecord | undefined,
  notFound: () => DomainError,
  elevated: boolean,
): UserRecord {
  const user = requireLiveHuman(stored, notFound);
  requireInitialised(user, Errors.userNotInitialisedContact);
  requireSelfOrWrite(deps, principal, user);
  if (elevated) requireWrite(deps, principal, user);
  return user;
}

/**
 * VerifyEmail, VerifyPhone: not found → INITIAL → the user itself or user.write; anyone else is
 * told the user does not exist (COMMAND-ugjs0upun6) before the code is looked at (decision 9).
 */
export function guardCodeAttempt(
  deps: DomainDeps,
  principal: Principal,
  stored: UserRecord | undefined,
  notFound: () => DomainError,
): UserRecord {
  const user = requireLiveHuman(stored, notFound);
  requireInitialised(user, Errors.userNotInitialisedContact);
  if (principal.userId !== user.id && !canWrite(deps, principal, user)) throw Errors.userNotFound();
  return user;
}
