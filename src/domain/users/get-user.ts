import type { DomainDeps } from "../deps.js";
import type { Principal } from "../principal.js";
import { Errors } from "../errors.js";
import type { UserRecord } from "../store.js";

/** GetUserByID (contract.md §9.2): the user itself, or a holder of `user.read` on its org. */
export async function getUserById(deps: DomainDeps, principal: Principal, userId: string): Promise<UserRecord> {
  const user = await deps.store.read.getUser(userId);
  if (!user || user.state === "deleted") throw Errors.userNotFoundQuery();
  if (principal.userId !== user.id && !deps.permissions.holds(principal, "user.read", user.orgId)) {
    throw Errors.permissionDenied();
  }
  return user;
}
