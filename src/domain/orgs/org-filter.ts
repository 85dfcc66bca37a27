/**
 * The organization list query of ListOrganizations (contract.md §10.1) as plain domain values,
 * with the pure definition of its answer (`selectOrgs`) that every store must agree with.
 */
import { compareCodePoints, matchesText, type TextMatch } from "../users/user-filter.js";

/** zitadel.org.v2.OrganizationState without UNSPECIFIED. Roster's organizations are all active for now. */
export type OrgState = "active" | "inactive" | "removed";

/** An organization as a list shows it: its row plus the bookkeeping of its event stream. */
export interface OrgSummary {
  id: string;
  name: string;
  state: OrgState;
  createdAt: Date;
  /** Number of the organization's events (0 for one that has none). */
  sequence: number;
  /** Time of its latest event; its creation time when it has none. */
  changedAt: Date;
}

export type OrgFilter =
  | { kind: "name"; match: TextMatch; value: string }
  | { kind: "id"; id: string }
  /** `null`: ORGANIZATION_STATE_UNSPECIFIED (or a number outside the enum), which matches nothing. */
  | { kind: "state"; state: OrgState | null }
  /** Matches nothing: `domain_query` while Roster has no organization domains, `default_query` without an instance. */
  | { kind: "none" };

export type OrgVisibility = { kind: "all" } | { kind: "scoped"; orgIds: string[] };

export type OrgSortColumn = "id" | "name";

export interface OrgListQuery {
  /** Combined with AND. */
  filters: OrgFilter[];
  visibility: OrgVisibility;
  sort: OrgSortColumn;
  asc: boolean;
  offset: number;
  limit: number;
}

export interface OrgPage {
  orgs: OrgSummary[];
  total: number;
}

export function matchesOrg(filter: OrgFilter, org: OrgSummary): boolean {
  switch (filter.kind) {
    case "name":
      return matchesText(org.name, filter.match, filter.value);
    case "id":
      return org.id === filter.id;
    case "state":
      return filter.state !== null && org.state === filter.state;
    case "none":
      return false;
  }
}

export function isOrgVisible(visibility: OrgVisibility, org: Pick<OrgSummary, "id">): boolean {
  return visibility.kind === "all" || visibility.orgIds.includes(org.id);
}

/** By name (code point order) or id, ties by id, in one direction. */
export function compareOrgs(column: OrgSortColumn, asc: boolean): (a: OrgSummary, b: OrgSummary) => number {
  const sign = asc ? 1 : -1;
  return (a, b) => sign * ((column === "name" ? compareCodePoints(a.name, b.name) : 0) || compareCodePoints(a.id, b.id));
}

/** The answer a store gives to `query` over `orgs`. */
export function selectOrgs(orgs: Iterable<OrgSummary>, query: OrgListQuery): OrgPage {
  const matching = [...orgs].filter((o) => isOrgVisible(query.visibility, o) && query.filters.every((f) => matchesOrg(f, o)));
  matching.sort(compareOrgs(query.sort, query.asc));
  return { orgs: matching.slice(query.offset, query.offset + query.limit), total: matching.length };
}
