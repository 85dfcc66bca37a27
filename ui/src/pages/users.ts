import { create } from "@bufbuild/protobuf";
import { orgs, users } from "../api.js";
import { field, h, input, pageHeading, replace, select, statusRegion } from "../dom.js";
import { errorBox } from "../errors.js";
import { stateLabel } from "../format.js";
import { BASE, navigate, userPath } from "../router.js";
import { TextQueryMethod } from "../../../src/gen/zitadel/object/v2/object_pb.js";
import { SearchQuerySchema, UserFieldName, type SearchQuery } from "../../../src/gen/zitadel/user/v2/query_pb.js";
import { UserState, type User } from "../../../src/gen/zitadel/user/v2/user_pb.js";

/** The list's state lives in the URL (?q=&org=&state=&sort=&order=&offset=&limit=). */
interface ListParams {
  q: string;
  org: string;
  state: string;
  sort: string;
  order: "asc" | "desc";
  offset: number;
  limit: number;
}

const SORTS: Array<[string, string, UserFieldName]> = [
  ["username", "Username", UserFieldName.USER_NAME],
  ["first", "First name", UserFieldName.FIRST_NAME],
  ["last", "Last name", UserFieldName.LAST_NAME],
  ["display", "Display name", UserFieldName.DISPLAY_NAME],
  ["email", "Email", UserFieldName.EMAIL],
  ["state", "State", UserFieldName.STATE],
  ["created", "Creation date", UserFieldName.CREATION_DATE],
];

const STATES: Array<[string, string, UserState | undefined]> = [
  ["", "Any state", undefined],
  ["active", "Active", UserState.ACTIVE],
  ["inactive", "Inactive", UserState.INACTIVE],
  ["locked", "Locked", UserState.LOCKED],
  ["initial", "Initial", UserState.INITIAL],
];

const PAGE_SIZES = ["10", "20", "50", "100"];

function readParams(p: URLSearchParams): ListParams {
  const num = (name: string, fallback: number, max: number) => {
    const n = Number(p.get(name));
    return Number.isInteger(n) && n >= 0 && n <= max ? n : fallback;
  };
  const limit = num("limit", 20, 1000) || 20;
  return {
    q: p.get("q") ?? "",
    org: p.get("org") ?? "",
    state: STATES.some(([k]) => k === p.get("state")) ? p.get("state")! : "",
    sort: SORTS.some(([k]) => k === p.get("sort")) ? p.get("sort")! : "username",
    order: p.get("order") === "desc" ? "desc" : "asc",
    offset: num("offset", 0, Number.MAX_SAFE_INTEGER),
    limit,
  };
}

function listUrl(lp: ListParams): string {
  const p = new URLSearchParams();
  if (lp.q) p.set("q", lp.q);
  if (lp.org) p.set("org", lp.org);
  if (lp.state) p.set("state", lp.state);
  if (lp.sort !== "username") p.set("sort", lp.sort);
  if (lp.order !== "asc") p.set("order", lp.order);
  if (lp.offset) p.set("offset", String(lp.offset));
  if (lp.limit !== 20) p.set("limit", String(lp.limit));
  const s = p.toString();
  return s ? `${BASE}?${s}` : BASE;
}

/** Search text matches username, email, first, last or display name (any of them, ignoring case). */
export function searchQueries(lp: Pick<ListParams, "q" | "org" | "state">): SearchQuery[] {
  const queries: SearchQuery[] = [];
  const text = lp.q.trim();
  if (text) {
    const method = TextQueryMethod.CONTAINS_IGNORE_CASE;
    queries.push(
      create(SearchQuerySchema, {
        query: {
          case: "orQuery",
          value: {
            queries: [
              { query: { case: "userNameQuery", value: { userName: text, method } } },
              { query: { case: "emailQuery", value: { emailAddress: text, method } } },
              { query: { case: "firstNameQuery", value: { firstName: text, method } } },
              { query: { case: "lastNameQuery", value: { lastName: text, method } } },
              { query: { case: "displayNameQuery", value: { displayName: text, method } } },
            ],
          },
        },
      }),
    );
  }
  if (lp.org.trim()) queries.push(create(SearchQuerySchema, { query: { case: "organizationIdQuery", value: { organizationId: lp.org.trim() } } }));
  const state = STATES.find(([k]) => k === lp.state)?.[2];
  if (state !== undefined) queries.push(create(SearchQuerySchema, { query: { case: "stateQuery", value: { state } } }));
  return queries;
}

function nameOf(u: User): string {
  if (u.type.case === "human") return u.type.value.profile?.displayName || `${u.type.value.profile?.givenName ?? ""} ${u.type.value.profile?.familyName ?? ""}`.trim();
  if (u.type.case === "machine") return u.type.value.name;
  return "";
}

function emailCell(u: User) {
  if (u.type.case !== "human" || !u.type.value.email) return u.type.case === "machine" ? h("span", { class: "muted" }, "machine user") : "";
  const e = u.type.value.email;
  return [e.email, e.isVerified ? null : h("span", { class: "tag" }, "unverified")];
}

/** Best effort: organization names for the filter's suggestions (ListOrganizations). */
async function organizationOptions(list: HTMLDataListElement): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  try {
    const r = await orgs.listOrganizations({ query: { limit: 100 } });
    for (const o of r.result) {
      names.set(o.id, o.name);
      list.appendChild(h("option", { value: o.id }, o.name));
    }
  } catch {
    // no suggestions; the field still takes an organization id
  }
  return names;
}

export async function renderUsers(main: HTMLElement, params: URLSearchParams): Promise<void> {
  const lp = readParams(params);
  const orgList = h("datalist", { id: "org-options" });
  const orgNames = organizationOptions(orgList);

  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Search users" },
    field("Search", input({ type: "search", name: "q", value: lp.q, placeholder: "username, email or name" })),
    field("Organization ID", input({ name: "org", value: lp.org, list: "org-options", inputmode: "numeric", autocomplete: "off" })),
    orgList,
    field("State", select("state", STATES.map(([k, label]) => [k, label]), lp.state)),
    field("Sort by", select("sort", SORTS.map(([k, label]) => [k, label]), lp.sort)),
    field("Order", select("order", [["asc", "Ascending"], ["desc", "Descending"]], lp.order)),
    field("Per page", select("limit", [...new Set([...PAGE_SIZES, String(lp.limit)])].sort((a, b) => Number(a) - Number(b)).map((n) => [n, n]), String(lp.limit))),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Search")),
  );
  const apply = () => {
    const data = new FormData(form);
    const get = (n: string) => String(data.get(n) ?? "");
    navigate(listUrl({ q: get("q"), org: get("org"), state: get("state"), sort: get("sort"), order: get("order") === "desc" ? "desc" : "asc", offset: 0, limit: Number(get("limit")) || 20 }));
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    apply();
  });
  form.querySelectorAll("select").forEach((s) => s.addEventListener("change", apply));

  const status = statusRegion();
  const results = h("div", { class: "results" });
  main.append(
    h("div", { class: "title-row" }, pageHeading("Users"), h("a", { class: "button", href: `${BASE}users/new` }, "New user")),
    form,
    status,
    results,
  );

  status.textContent = "Loading…";
  let response;
  try {
    response = await users.listUsers({
      query: { offset: BigInt(lp.offset), limit: lp.limit, asc: lp.order === "asc" },
      sortingColumn: SORTS.find(([k]) => k === lp.sort)![2],
      queries: searchQueries(lp),
    });
  } catch (err) {
    status.textContent = "";
    replace(results, errorBox(err));
    return;
  }
  const names = await orgNames;
  const total = Number(response.details?.totalResult ?? 0n);
  const first = total === 0 ? 0 : lp.offset + 1;
  const last = lp.offset + response.result.length;
  status.textContent = total === 0 ? "No users match." : `Showing ${first}–${last} of ${total} users.`;

  const table = h(
    "table",
    { class: "users" },
    h("caption", { class: "visually-hidden" }, "Users"),
    h("thead", null, h("tr", null, ["Username", "Name", "Email", "State", "Organization"].map((c) => h("th", { scope: "col" }, c)))),
    h(
      "tbody",
      null,
      response.result.map((u) =>
        h(
          "tr",
          { "data-user-id": u.userId },
          h("th", { scope: "row", "data-label": "Username" }, h("a", { href: userPath(u.userId) }, u.username)),
          h("td", { "data-label": "Name" }, nameOf(u)),
          h("td", { "data-label": "Email" }, emailCell(u)),
          h("td", { "data-label": "State" }, h("span", { class: `state state-${stateLabel(u.state).toLowerCase()}` }, stateLabel(u.state))),
          h("td", { "data-label": "Organization" }, names.get(u.details?.resourceOwner ?? "") ?? u.details?.resourceOwner ?? ""),
        ),
      ),
    ),
  );
  const pager = h(
    "nav",
    { class: "pager", "aria-label": "Pages" },
    h("button", { type: "button", disabled: lp.offset === 0, onclick: () => navigate(listUrl({ ...lp, offset: Math.max(0, lp.offset - lp.limit) })) }, "Previous page"),
    h("span", null, total === 0 ? "" : `Page ${Math.floor(lp.offset / lp.limit) + 1} of ${Math.max(1, Math.ceil(total / lp.limit))}`),
    h("button", { type: "button", disabled: last >= total, onclick: () => navigate(listUrl({ ...lp, offset: lp.offset + lp.limit })) }, "Next page"),
  );
  replace(results, response.result.length > 0 ? table : null, pager);
}
