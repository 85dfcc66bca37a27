import type { DomainDeps } from "../deps.js";
import type { Principal } from "../principal.js";
import { listLimit } from "../users/user-filter.js";
import { DEFAULT_ORG_SETTING } from "./default-org.js";
import type { OrgFilter, OrgSortColumn, OrgSummary, OrgVisibility } from "./org-filter.js";

/** A query of the request; `default` names the instance's default organization. */
export type OrgQueryInput = OrgFilter | { kind: "default" };

export interface ListOrganizationsInput {
  /** Combined with AND. */
  queries: OrgQueryInput[];
  sort: OrgSortColumn;
  asc: boolean;
  offset: number;
  /** As requested: 0 means the default page size. */
  limit: number;
}

export interface ListOrganizationsResult {
  orgs: OrgSummary[];
  total: number;
  processedSequence: string;
  timestamp: Date;
}

/** Every organization with `org.read` on the instance; otherwise those on which the principal holds it. */
export function orgVisibility(deps: Pick<DomainDeps, "permissions">, principal: Principal): OrgVisibility {
  if (deps.permissions.holdsOnInstance(principal, "org.read")) return { kind: "all" };
  return { kind: "scoped", orgIds: deps.permissions.organizationsWith(principal, "org.read") };
}

/**
 * ListOrganizations (contract.md §10.1). A caller without any `org.read` gets an empty list, not
 * an error.
 */
export async function listOrganizations(deps: DomainDeps, principal: Principal, input: ListOrganizationsInput): Promise<ListOrganizationsResult> {
  const limit = listLimit(input.limit);
  const timestamp = deps.now();
  const processedSequence = await deps.store.read.latestEventPosition();
  const filters: OrgFilter[] = [];
  for (const q of input.queries) {
    if (q.kind !== "default") {
      filters.push(q);
      continue;
    }
    const defaultOrgId = await deps.store.read.getSetting(DEFAULT_ORG_SETTING);
    filters.push(defaultOrgId === undefined ? { kind: "none" } : { kind: "id", id: defaultOrgId });
  }
  const page = await deps.store.read.listOrgs({
    filters,
    visibility: orgVisibility(deps, principal),
    sort: input.sort,
    asc: input.asc,
    offset: input.offset,
    limit,
  });
  return { orgs: page.orgs, total: page.total, processedSequence, timestamp };
}
