/**
 * The user list query of ListUsers (contract.md §9.3) as plain domain values: a filter tree, the
 * caller's visibility, a sort order and a page. The pure functions below are the executable
 * definition of what a store must return for it; the PostgreSQL store (src/store/user-list.ts)
 * compiles the same tree to SQL, and an in-memory store can use `selectUsers` as it is.
 */
import { Errors } from "../errors.js";
import type { UserRecord, UserState, UserType } from "../store.js";

/** How a text query compares: the stored value equals / starts with / contains / ends with the given one. */
export type TextOp = "equals" | "startsWith" | "contains" | "endsWith";

export interface TextMatch {
  op: TextOp;
  /** Compare the Unicode lower case (`foldCase`) of both sides. */
  ignoreCase: boolean;
}

/**
 * The user fields a text query can name. `loginName` matches any of the user's login names,
 * which are the username alone while Roster has no organization domains (contract.md §6.2).
 * `phone` is the stored E.164 number; the query value is not normalised.
 */
export type UserTextField = "username" | "givenName" | "familyName" | "nickName" | "displayName" | "email" | "phone" | "loginName";

export type UserFilter =
  | { kind: "and"; filters: UserFilter[] }
  | { kind: "or"; filters: UserFilter[] }
  /** `filter` absent: a `not_query` without `query`, refused by `validateListQuery`. */
  | { kind: "not"; filter?: UserFilter }
  | { kind: "text"; field: UserTextField; match: TextMatch; value: string }
  /** `null`: USER_STATE_UNSPECIFIED (or a number outside the enum), which matches nothing. */
  | { kind: "state"; state: UserState | null }
  /** `null`: TYPE_UNSPECIFIED, which matches nothing. */
  | { kind: "type"; type: UserType | null }
  | { kind: "inIds"; ids: string[] }
  | { kind: "inEmails"; emails: string[] }
  | { kind: "org"; orgId: string };

/** Which users the caller may see at all (contract.md §9.3, auth.md §5). */
export type UserVisibility =
  | { kind: "all" }
  /** The caller itself, and every user of the listed organizations. */
  | { kind: "scoped"; selfId: string; orgIds: string[] };

export type UserSortColumn =
  | "id"
  | "username"
  | "givenName"
  | "familyName"
  | "nickName"
  | "displayName"
  | "email"
  | "state"
  | "type"
  | "createdAt";

/** What a store is asked for: the visible live users matching every filter, sorted, one page. */
export interface UserListQuery {
  /** Combined with AND; an empty list matches every user. */
  filters: UserFilter[];
  visibility: UserVisibility;
  sort: UserSortColumn;
  asc: boolean;
  offset: number;
  limit: number;
}

export interface UserPage {
  users: UserRecord[];
  /** Visible matches before paging. */
  total: number;
  /** Position of the newest event in the log, in the page's snapshot (the stores give it; selectUsers does not). */
  latestPosition?: string;
}

export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;
/** A query may sit at most this many and/or/not levels below the top (ZITADEL's limit). */
export const MAX_NESTING_LEVEL = 20;

/** The page size a request asks for: 0 → the default; above the maximum → QUERY-4M0fs. */
export function listLimit(requested: number): number {
  if (requested > MAX_LIST_LIMIT) throw Errors.queryLimitExceeded();
  return requested === 0 ? DEFAULT_LIST_LIMIT : requested;
}

/**
 * Checks a filter list as ZITADEL walks it: depth first, in order, the top-level queries at
 * level 0 and the operands of and/or/not one level deeper. A query below level 20 →
 * USER-zsQ97; a `not` without operand → ROSTER-qry01 (unless its operand's level is already too
 * deep). The first problem met wins.
 */
export function validateFilters(filters: readonly UserFilter[]): void {
  for (const f of filters) validateNode(f, 0);
}

function validateNode(filter: UserFilter, level: number): void {
  if (level > MAX_NESTING_LEVEL) throw Errors.queryTooManyNestingLevels();
  switch (filter.kind) {
    case "and":
    case "or":
      for (const f of filter.filters) validateNode(f, level + 1);
      return;
    case "not":
      if (filter.filter) validateNode(filter.filter, level + 1);
      else if (level + 1 > MAX_NESTING_LEVEL) throw Errors.queryTooManyNestingLevels();
      else throw Errors.queryInvalidRequest();
      return;
    default:
      return;
  }
}

/** Unicode lower case, the case folding of every IGNORE_CASE comparison (computed here, never by a database). */
export function foldCase(s: string): string {
  return s.toLowerCase();
}

/** Whether `stored` matches the query `value` with `match`; the value is literal (`%`, `_`, `\` are ordinary). */
export function matchesText(stored: string, match: TextMatch, value: string): boolean {
  const a = match.ignoreCase ? foldCase(stored) : stored;
  const b = match.ignoreCase ? foldCase(value) : value;
  switch (match.op) {
    case "equals":
      return a === b;
    case "startsWith":
      return a.startsWith(b);
    case "contains":
      return a.includes(b);
    case "endsWith":
      return a.endsWith(b);
  }
}

/** The login names of a user: the username alone while there are no organization domains. */
export function loginNamesOf(user: Pick<UserRecord, "username">): string[] {
  return [user.username];
}

function textOf(user: UserRecord, field: Exclude<UserTextField, "loginName">): string {
  switch (field) {
    case "username":
      return user.username;
    case "givenName":
      return user.givenName;
    case "familyName":
      return user.familyName;
    case "nickName":
      return user.nickName;
    case "displayName":
      return user.displayName;
    case "email":
      return user.email;
    case "phone":
      return user.phone;
  }
}

/** Whether one user satisfies the filter (visibility and the exclusion of deleted users aside). */
export function matchesUser(filter: UserFilter, user: UserRecord): boolean {
  switch (filter.kind) {
    case "and":
      return filter.filters.every((f) => matchesUser(f, user));
    case "or":
      return filter.filters.some((f) => matchesUser(f, user));
    case "not":
      if (!filter.filter) throw new Error("not without operand: validate the query first");
      return !matchesUser(filter.filter, user);
    case "text":
      if (filter.field === "loginName") return loginNamesOf(user).some((n) => matchesText(n, filter.match, filter.value));
      return matchesText(textOf(user, filter.field), filter.match, filter.value);
    case "state":
      return filter.state !== null && user.state === filter.state;
    case "type":
      return filter.type !== null && user.type === filter.type;
    case "inIds":
      return filter.ids.includes(user.id);
    case "inEmails":
      return filter.emails.includes(user.email);
    case "org":
      return user.orgId === filter.orgId;
  }
}

export function isVisible(visibility: UserVisibility, user: Pick<UserRecord, "id" | "orgId">): boolean {
  return visibility.kind === "all" || user.id === visibility.selfId || visibility.orgIds.includes(user.orgId);
}

/**
 * Order of strings by Unicode code point, which is the byte order of their UTF-8 form and so
 * PostgreSQL's "C" collation. (JavaScript's `<` compares UTF-16 units, which differs for
 * characters beyond U+FFFF.)
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (U+D800–U+DFFF) stands for a code point above U+FFFF: it sorts after any BMP unit.
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    if (sx !== sy) return sx ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** The number of a state in `zitadel.user.v2.UserState`: sorting by state sorts by it. */
export const USER_STATE_NUMBER: Readonly<Record<UserState, number>> = {
  active: 1,
  inactive: 2,
  deleted: 3,
  locked: 4,
  initial: 5,
};

/** The number of a type in `zitadel.user.v2.Type`. */
export const USER_TYPE_NUMBER: Readonly<Record<UserType, number>> = { human: 1, machine: 2 };

function compareBy(column: UserSortColumn, a: UserRecord, b: UserRecord): number {
  switch (column) {
    case "id":
      return 0; // the tie-break below decides
    case "username":
    case "givenName":
    case "familyName":
    case "nickName":
    case "displayName":
    case "email":
      return compareCodePoints(a[column], b[column]);
    case "state":
      return USER_STATE_NUMBER[a.state] - USER_STATE_NUMBER[b.state];
    case "type":
      return USER_TYPE_NUMBER[a.type] - USER_TYPE_NUMBER[b.type];
    case "createdAt":
      return a.createdAt.getTime() - b.createdAt.getTime();
  }
}

/** The list order: by the column, ties by user id, both in the same direction. */
export function compareUsers(column: UserSortColumn, asc: boolean): (a: UserRecord, b: UserRecord) => number {
  const sign = asc ? 1 : -1;
  return (a, b) => sign * (compareBy(column, a, b) || compareCodePoints(a.id, b.id));
}

/** The answer a store gives to `query` over `users`: what the SQL store must agree with. */
export function selectUsers(users: Iterable<UserRecord>, query: UserListQuery): UserPage {
  const matching = [...users].filter(
    (u) => u.state !== "deleted" && isVisible(query.visibility, u) && query.filters.every((f) => matchesUser(f, u)),
  );
  matching.sort(compareUsers(query.sort, query.asc));
  return { users: matching.slice(query.offset, query.offset + query.limit), total: matching.length };
}
