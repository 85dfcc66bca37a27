import type { DomainDeps } from "../deps.js";
import type { Principal } from "../principal.js";
import { Errors } from "../errors.js";
import type { DomainError } from "../errors.js";
import type { UserRecord } from "../store.js";

/** The building blocks of the commands' guards (contract.md §9), each one step of the spec's order. */

/** A human user that exists and is not deleted; otherwise the RPC's own not-found error. */
export function requireLiveHuman(user: UserRecord | undefined, notFound: () => DomainError = Errors.userNotFound): UserRecord {
  if (!user || user.state === "deleted" || user.type !== "human") throw notFound();
  return user;
}

/**
 * A user of any type that exists and is not deleted; otherwise the RPC's own not-found error.
 * For the RPCs that are not human-only: the state RPCs and DeleteUser (contract.md §9.7, §9.8).
 */
export function requireLiveUser(user: UserRecord | undefined, notFound: () => DomainError = Errors.userNotFound): UserRecord {
  if (!user || user.state === "deleted") throw notFound();
  return user;
}

/** True when the principal holds user.write on the user's organization. */
export function canWrite(deps: DomainDeps, principal: Principal, user: UserRecord): boolean {
  return deps.permissions.holds(principal, "user.write", user.orgId);
}

/** "Permission: write": the caller is the user, or holds user.write on its organization. */
export function requireSelfOrWrite(deps: DomainDeps, principal: Principal, user: UserRecord): void {
  if (principal.userId !== user.id && !canWrite(deps, principal, user)) throw Errors.permissionDenied();
}

/** DeleteUser's permission: the caller is the user, or holds user.delete on its organization. */
export function requireSelfOrDelete(deps: DomainDeps, principal: Principal, user: UserRecord): void {
  if (principal.userId !== user.id && !deps.permissions.holds(principal, "user.delete", user.orgId)) throw Errors.permissionDenied();
}

/** user.write on the user's organization, whoever the caller is (decisions 2 and 8, RemovePhone). */
export function requireWrite(deps: DomainDeps, principal: Principal, user: UserRecord): void {
  if (!canWrite(deps, principal, user)) throw Errors.permissionDenied();
}

/** A state of the `INITIAL` kind refuses the RPC with the given error. */
export function requireInitialised(user: UserRecord, notInitialised: () => DomainError): void {
  if (user.state === "initial") throw notInitialised();
}
