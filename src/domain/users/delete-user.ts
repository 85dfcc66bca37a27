import type { DomainDeps } from "../deps.js";
import type { Principal } from "../principal.js";
import type { Details } from "./change-set.js";
import { requireLiveUser, requireSelfOrDelete } from "./guards.js";
import { runUserCommand } from "./run-user-command.js";

export interface DeleteUserInput {
  userId: string;
  /** Raw `if-match` header value (decision 5). */
  ifMatch?: string | null;
}

/**
 * DeleteUser (contract.md §9.8), for users of any type. Order: not found → permission: self or
 * `user.delete` on the user's organization → if-match → `user.removed`.
 *
 * The row stays with state `deleted` (so that the id's sequence continues if AddHumanUser gives
 * the id again) and its events stay; its username no longer counts as taken. Its metadata,
 * codes, pending notifications, role memberships and personal access tokens are removed in the
 * same transaction, so its tokens stop working at once and every RPC treats it as not found.
 * The response details are those of the `user.removed` event.
 */
export async function deleteUser(deps: DomainDeps, principal: Principal, input: DeleteUserInput): Promise<{ details: Details }> {
  return runUserCommand(deps, principal, {
    userId: input.userId,
    ifMatch: input.ifMatch,
    guard(stored) {
      const user = requireLiveUser(stored);
      requireSelfOrDelete(deps, principal, user);
      return user;
    },
    plan({ user, draft, changes }) {
      draft.state = "deleted";
      changes.add("user.removed", { old: user.state, new: "deleted", username: user.username });
      changes.purgeUserData();
      return {};
    },
  });
}
