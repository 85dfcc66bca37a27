import type { DomainDeps } from "../deps.js";
import type { Principal } from "../principal.js";
import type { UserRecord } from "../store.js";
import { listLimit, validateFilters, type UserFilter, type UserSortColumn, type UserVisibility } from "./user-filter.js";

export interface ListUsersInput {
  /** Combined with AND. */
  filters: UserFilter[];
  sort: UserSortColumn;
  asc: boolean;
  offset: number;
  /** As requested: 0 means the default page size. */
  limit: number;
}

export interface ListUsersResult {
  users: UserRecord[];
  /** Visible matches before paging. */
  total: number;
  /** Position of the newest event in the log when the list was read (bigint as string). */
  processedSequence: string;
  /** When the query ran. */
  timestamp: Date;
}

/**
 * Who the principal may list: every user with `user.read` on the instance, otherwise itself and
 * the users of each organization on which it holds `user.read` (contract.md §9.3).
 */
export function userVisibility(deps: Pick<DomainDeps, "permissions">, principal: Principal): UserVisibility {
  if (deps.permissions.holdsOnInstance(principal, "user.read")) return { kind: "all" };
  return { kind: "scoped", selfId: principal.userId, orgIds: deps.permissions.organizationsWith(principal, "user.read") };
}

/**
 * ListUsers (contract.md §9.3): the limit, then the filters (nesting, `not` without operand), then
 * one page of the visible matches with their total. The stores read the event position in the
 * list's own snapshot (one statement), so the list reflects every event up to it.
 */
export async function listUsers(deps: DomainDeps, principal: Principal, input: ListUsersInput): Promise<ListUsersResult> {
  const limit = listLimit(input.limit);
  validateFilters(input.filters);
  const timestamp = deps.now();
  const query = {
    filters: input.filters,
    visibility: userVisibility(deps, principal),
    sort: input.sort,
    asc: input.asc,
    offset: input.offset,
    limit,
  };
  const page = await deps.store.read.listUsers(query);
  const processedSequence = page.latestPosition ?? (await deps.store.read.latestEventPosition());
  return { users: page.users, total: page.total, processedSequence, timestamp };
}
