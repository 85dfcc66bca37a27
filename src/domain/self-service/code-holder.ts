import { Errors } from "../errors.js";
import type { Principal } from "../principal.js";
import type { MembershipRecord, UserRecord } from "../store.js";
import { requireLiveHuman } from "../users/guards.js";

/**
 * The caller of a self-service request: a person who holds a code that Roster sent to one user,
 * and no token. Possession of the code is the only proof, so the principal is built to be good
 * for one thing — having that code checked — and nothing else:
 *
 * - It is the user itself (`userId` = the user the request names) with no memberships. Every
 *   permission check therefore treats it as "self without roles": the rules that need
 *   `user.read`, `user.write` or `user.delete` refuse it, and the self exemption of decisions 1
 *   and 9 (a reset code, an email code) is all it can use. `return_code` and `is_verified` need
 *   `user.write` (decisions 2 and 8), so it can neither obtain nor skip a code.
 * - It has no organization (`orgId` ""): it can create nothing.
 * - It exists only inside the commands of this folder, for one request. They accept a user id
 *   and a code (and, for a reset, the new password), always verify with that code, and answer
 *   nothing about the user but `details`.
 *
 * Events it causes name the user itself as the actor: the person who controls the address or
 * received the reset code acted on their own account.
 */
export function codeHolderOf(userId: string): Principal {
  const noMemberships = Object.freeze([]) as readonly MembershipRecord[] as MembershipRecord[];
  return Object.freeze({ userId, orgId: "", memberships: noMemberships });
}

/**
 * The guard of every self-service command: an existing, active human. A deleted, locked,
 * inactive or not yet initialised user — whose own tokens Roster refuses (auth.md §2) — is
 * answered as if it did not exist, before any code is looked at, so that no attempt is counted
 * and a stranger holding only a user id learns nothing about the account.
 */
export function requireCodeHolderTarget(stored: UserRecord | undefined): UserRecord {
  const user = requireLiveHuman(stored);
  if (user.state !== "active") throw Errors.userNotFound();
  return user;
}
