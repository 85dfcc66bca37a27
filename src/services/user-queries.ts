import type { ListUsersRequest } from "../gen/zitadel/user/v2/user_service_pb.js";
import { Type, UserFieldName, type SearchQuery } from "../gen/zitadel/user/v2/query_pb.js";
import { UserState } from "../gen/zitadel/user/v2/user_pb.js";
import { Errors } from "../domain/errors.js";
import type { ListUsersInput } from "../domain/users/list-users.js";
import type { UserFilter, UserSortColumn } from "../domain/users/user-filter.js";
import type { UserState as DomainUserState, UserType } from "../domain/store.js";
import { pagingInput, textMatch } from "./list-query.js";

/** ListUsersRequest → the domain's list input; the domain validates limit and nesting. */
export function listUsersInput(req: ListUsersRequest): ListUsersInput {
  return { filters: req.queries.map(userFilter), sort: sortColumn(req.sortingColumn), ...pagingInput(req.query) };
}

const SORT_COLUMNS: Partial<Record<UserFieldName, UserSortColumn>> = {
  [UserFieldName.USER_NAME]: "username",
  [UserFieldName.FIRST_NAME]: "givenName",
  [UserFieldName.LAST_NAME]: "familyName",
  [UserFieldName.NICK_NAME]: "nickName",
  [UserFieldName.DISPLAY_NAME]: "displayName",
  [UserFieldName.EMAIL]: "email",
  [UserFieldName.STATE]: "state",
  [UserFieldName.TYPE]: "type",
  [UserFieldName.CREATION_DATE]: "createdAt",
};

/** UNSPECIFIED, and any number outside the enum (the field has no rule), sort by user id. */
function sortColumn(field: UserFieldName): UserSortColumn {
  return SORT_COLUMNS[field] ?? "id";
}

const STATES: Partial<Record<UserState, DomainUserState>> = {
  [UserState.ACTIVE]: "active",
  [UserState.INACTIVE]: "inactive",
  [UserState.DELETED]: "deleted",
  [UserState.LOCKED]: "locked",
  [UserState.INITIAL]: "initial",
};

const TYPES: Partial<Record<Type, UserType>> = { [Type.HUMAN]: "human", [Type.MACHINE]: "machine" };

/** One SearchQuery → one filter node, recursively (nesting depth is checked by the domain). */
export function userFilter(q: SearchQuery): UserFilter {
  const v = q.query;
  switch (v.case) {
    case "userNameQuery":
      return { kind: "text", field: "username", match: textMatch(v.value.method), value: v.value.userName };
    case "firstNameQuery":
      return { kind: "text", field: "givenName", match: textMatch(v.value.method), value: v.value.firstName };
    case "lastNameQuery":
      return { kind: "text", field: "familyName", match: textMatch(v.value.method), value: v.value.lastName };
    case "nickNameQuery":
      return { kind: "text", field: "nickName", match: textMatch(v.value.method), value: v.value.nickName };
    case "displayNameQuery":
      return { kind: "text", field: "displayName", match: textMatch(v.value.method), value: v.value.displayName };
    case "emailQuery":
      return { kind: "text", field: "email", match: textMatch(v.value.method), value: v.value.emailAddress };
    case "phoneQuery":
      return { kind: "text", field: "phone", match: textMatch(v.value.method), value: v.value.number };
    case "loginNameQuery":
      return { kind: "text", field: "loginName", match: textMatch(v.value.method), value: v.value.loginName };
    case "stateQuery":
      return { kind: "state", state: STATES[v.value.state] ?? null };
    case "typeQuery":
      return { kind: "type", type: TYPES[v.value.type] ?? null };
    case "inUserIdsQuery":
      return { kind: "inIds", ids: [...v.value.userIds] };
    case "inUserEmailsQuery":
      return { kind: "inEmails", emails: [...v.value.userEmails] };
    case "organizationIdQuery":
      return { kind: "org", orgId: v.value.organizationId };
    case "orQuery":
      return { kind: "or", filters: v.value.queries.map(userFilter) };
    case "andQuery":
      return { kind: "and", filters: v.value.queries.map(userFilter) };
    case "notQuery":
      return { kind: "not", filter: v.value.query && userFilter(v.value.query) };
    case undefined:
      // The field rules require the oneof; only a query they did not see can be empty.
      throw Errors.queryInvalidRequest();
  }
}
