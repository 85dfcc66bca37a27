import type { ListOrganizationsRequest } from "../gen/zitadel/org/v2/org_service_pb.js";
import { OrganizationFieldName, type SearchQuery } from "../gen/zitadel/org/v2/query_pb.js";
import { OrganizationState } from "../gen/zitadel/org/v2/org_pb.js";
import { Errors } from "../domain/errors.js";
import type { ListOrganizationsInput, OrgQueryInput } from "../domain/orgs/list-organizations.js";
import type { OrgState } from "../domain/orgs/org-filter.js";
import { pagingInput, textMatch } from "./list-query.js";

/** ListOrganizationsRequest → the domain's list input. */
export function listOrganizationsInput(req: ListOrganizationsRequest): ListOrganizationsInput {
  return {
    queries: req.queries.map(orgQuery),
    // UNSPECIFIED, and any number outside the enum (the field has no rule), sort by id.
    sort: req.sortingColumn === OrganizationFieldName.NAME ? "name" : "id",
    ...pagingInput(req.query),
  };
}

const STATES: Partial<Record<OrganizationState, OrgState>> = {
  [OrganizationState.ACTIVE]: "active",
  [OrganizationState.INACTIVE]: "inactive",
  [OrganizationState.REMOVED]: "removed",
};

function orgQuery(q: SearchQuery): OrgQueryInput {
  const v = q.query;
  switch (v.case) {
    case "nameQuery":
      return { kind: "name", match: textMatch(v.value.method), value: v.value.name };
    case "idQuery":
      return { kind: "id", id: v.value.id };
    case "stateQuery":
      return { kind: "state", state: STATES[v.value.state] ?? null };
    case "defaultQuery":
      return { kind: "default" };
    case "domainQuery":
      // Roster has no organization domains yet: no organization has the domain asked for.
      return { kind: "none" };
    case undefined:
      throw Errors.queryInvalidRequest();
  }
}
