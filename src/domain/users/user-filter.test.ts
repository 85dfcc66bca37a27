import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DomainError } from "../errors.js";
import type { UserRecord } from "../store.js";
import {
  compareCodePoints,
  compareUsers,
  listLimit,
  matchesText,
  matchesUser,
  selectUsers,
  validateFilters,
  type TextMatch,
  type TextOp,
  type UserFilter,
  type UserListQuery,
  type UserSortColumn,
} from "./user-filter.js";

function user(id: string, extra: Partial<UserRecord> = {}): UserRecord {
  return {
    id,
    orgId: "org-a",
    type: "human",
    state: "active",
    username: `user-${id}`,
    givenName: "Grace",
    familyName: "Hopper",
    nickName: "",
    displayName: "Grace Hopper",
    preferredLanguage: "en",
    gender: 0,
    email: `${id}@example.com`,
    emailVerified: true,
    phone: "",
    phoneVerified: false,
    passwordHash: null,
    passwordChangeRequired: false,
    passwordChangedAt: null,
    machineName: "",
    machineDescription: "",
    sequence: 1,
    createdAt: new Date("2026-01-01T00:00:00Z"),
    changedAt: new Date("2026-01-01T00:00:00Z"),
    ...extra,
  };
}

const m = (op: TextOp, ignoreCase = false): TextMatch => ({ op, ignoreCase });

function domainErrorId(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof DomainError, String(e));
    return e.id;
  }
  return "(no error)";
}

describe("text queries", () => {
  const cases: [stored: string, match: TextMatch, value: string, expected: boolean][] = [
    ["Ada", m("equals"), "Ada", true],
    ["Ada", m("equals"), "ada", false],
    ["Ada", m("equals"), "Ad", false],
    ["Ada", m("equals", true), "aDA", true],
    ["Ada", m("startsWith"), "Ad", true],
    ["Ada", m("startsWith"), "ad", false],
    ["Ada", m("startsWith", true), "aD", true],
    ["Ada", m("contains"), "d", true],
    ["Ada", m("contains"), "D", false],
    ["Ada", m("contains", true), "D", true],
    ["Ada", m("endsWith"), "da", true],
    ["Ada", m("endsWith"), "Ad", false],
    ["Ada", m("endsWith", true), "DA", true],
    // the value is literal: LIKE's wildcards and escape character mean themselves
    ["50% off", m("startsWith"), "50%", true],
    ["500 off", m("startsWith"), "50%", false],
    ["5", m("contains"), "%", false],
    ["", m("contains"), "%", false],
    ["a_b", m("contains"), "_", true],
    ["axb", m("equals"), "a_b", false],
    ["axb", m("contains"), "a_b", false],
    ["a\\b", m("endsWith"), "\\b", true],
    ["ab", m("endsWith"), "\\b", false],
    ["a\\%", m("equals"), "a\\%", true],
    ["a%", m("equals"), "a\\%", false],
    ["A_%\\Z", m("contains", true), "_%\\z", true],
    // IGNORE_CASE is Unicode lower case of both sides
    ["ÉCOLE", m("equals", true), "école", true],
    ["École", m("equals"), "école", false],
    ["ДМИТРИЙ", m("startsWith", true), "дми", true],
    ["Ärger", m("contains", true), "ÄRG", true],
    ["𐐀bc", m("startsWith", true), "𐐨", true], // Deseret, beyond U+FFFF
    ["STRASSE", m("equals", true), "straße", false], // lower case, not case folding: ß stays ß
    // empty values
    ["Ada", m("startsWith"), "", true],
    ["Ada", m("contains"), "", true],
    ["Ada", m("equals"), "", false],
    ["", m("equals"), "", true],
  ];
  for (const [stored, match, value, expected] of cases) {
    test(`${JSON.stringify(stored)} ${match.op}${match.ignoreCase ? " ignoring case" : ""} ${JSON.stringify(value)} → ${expected}`, () => {
      assert.equal(matchesText(stored, match, value), expected);
    });
  }
});

describe("filters", () => {
  const ada = user("1", {
    username: "Ada",
    givenName: "Ada",
    familyName: "Lovelace",
    nickName: "Countess",
    displayName: "Ada Lovelace",
    email: "ada@acme.example",
    phone: "+41795550123",
    orgId: "acme",
  });
  const admin = user("2", { type: "machine", username: "admin", email: "", machineName: "admin" });
  const locked = user("3", { state: "locked" });
  const deleted = user("4", { state: "deleted" });
  const text = (field: Extract<UserFilter, { kind: "text" }>["field"], value: string, match = m("equals")): UserFilter => ({
    kind: "text",
    field,
    match,
    value,
  });
  const yes: UserFilter = { kind: "org", orgId: "acme" };
  const no: UserFilter = { kind: "org", orgId: "globex" };

  const cases: [name: string, filter: UserFilter, u: UserRecord, expected: boolean][] = [
    ["user_name → username", text("username", "Ada"), ada, true],
    ["first_name → given name", text("givenName", "Ada"), ada, true],
    ["last_name → family name", text("familyName", "Lovelace"), ada, true],
    ["nick_name", text("nickName", "count", m("startsWith", true)), ada, true],
    ["display_name", text("displayName", "Ada Lovelace"), ada, true],
    ["email_address → email", text("email", "@acme.example", m("endsWith")), ada, true],
    ["empty email_address equals an empty email", text("email", ""), admin, true],
    ["number → stored E.164 phone", text("phone", "+41795550123"), ada, true],
    ["number is not normalised", text("phone", "079 555 01 23"), ada, false],
    ["login_name matches the username (the only login name)", text("loginName", "ADA", m("equals", true)), ada, true],
    ["login_name is not the email", text("loginName", "ada@acme.example"), ada, false],
    ["state equal", { kind: "state", state: "locked" }, locked, true],
    ["state different", { kind: "state", state: "locked" }, ada, false],
    ["state UNSPECIFIED matches nothing", { kind: "state", state: null }, ada, false],
    ["state DELETED matches the deleted user, which no list shows", { kind: "state", state: "deleted" }, deleted, true],
    ["type human", { kind: "type", type: "human" }, ada, true],
    ["type human is not a machine", { kind: "type", type: "human" }, admin, false],
    ["type machine: the bootstrap administrator", { kind: "type", type: "machine" }, admin, true],
    ["type machine: no human", { kind: "type", type: "machine" }, ada, false],
    ["type UNSPECIFIED matches nothing", { kind: "type", type: null }, ada, false],
    ["in ids", { kind: "inIds", ids: ["9", "1"] }, ada, true],
    ["in ids: not listed", { kind: "inIds", ids: ["9"] }, ada, false],
    ["in ids: empty list matches nothing", { kind: "inIds", ids: [] }, ada, false],
    ["in emails, exact", { kind: "inEmails", emails: ["ada@acme.example"] }, ada, true],
    ["in emails is case-sensitive", { kind: "inEmails", emails: ["ADA@acme.example"] }, ada, false],
    ["in emails: empty list matches nothing", { kind: "inEmails", emails: [] }, ada, false],
    ["organization id", yes, ada, true],
    ["organization id, other", no, ada, false],
    ["empty and matches everything", { kind: "and", filters: [] }, ada, true],
    ["empty or matches nothing", { kind: "or", filters: [] }, ada, false],
    ["and: all must match", { kind: "and", filters: [yes, no] }, ada, false],
    ["or: one suffices", { kind: "or", filters: [no, yes] }, ada, true],
    ["not", { kind: "not", filter: no }, ada, true],
    ["not of an empty or matches everything", { kind: "not", filter: { kind: "or", filters: [] } }, ada, true],
    ["nested", { kind: "not", filter: { kind: "and", filters: [yes, { kind: "or", filters: [no, text("username", "Ada")] }] } }, ada, false],
  ];
  for (const [name, filter, u, expected] of cases) {
    test(`${name} → ${expected}`, () => assert.equal(matchesUser(filter, u), expected));
  }
});

describe("validation", () => {
  /** `depth` nested operators of `kind` around `leaf` (the leaf then sits at level `depth`). */
  function nest(depth: number, kind: "and" | "or" | "not", leaf?: UserFilter): UserFilter | undefined {
    let f = leaf;
    for (let i = 0; i < depth; i++) f = kind === "not" ? { kind: "not", filter: f } : { kind, filters: f ? [f] : [] };
    return f;
  }
  const leaf: UserFilter = { kind: "state", state: "active" };

  test("limit: 0 → 100, up to 1000 as asked, above → QUERY-4M0fs", () => {
    assert.equal(listLimit(0), 100);
    assert.equal(listLimit(1), 1);
    assert.equal(listLimit(1000), 1000);
    assert.equal(domainErrorId(() => listLimit(1001)), "QUERY-4M0fs");
    assert.equal(domainErrorId(() => listLimit(4294967295)), "QUERY-4M0fs");
  });

  for (const kind of ["and", "or", "not"] as const) {
    test(`${kind}: a query at level 20 is fine, at level 21 → USER-zsQ97`, () => {
      validateFilters([nest(20, kind, leaf)!]);
      assert.equal(domainErrorId(() => validateFilters([nest(21, kind, leaf)!])), "USER-zsQ97");
    });
  }

  test("the level counts operators, not siblings; a deep empty and/or holds no query that is too deep", () => {
    validateFilters([leaf, leaf, { kind: "and", filters: [leaf, leaf, leaf] }, nest(20, "or", leaf)!]);
    validateFilters([nest(21, "or")!]); // the innermost or, at level 20, is empty
    assert.equal(domainErrorId(() => validateFilters([nest(22, "and")!])), "USER-zsQ97");
  });

  test("not without query → ROSTER-qry01, also nested", () => {
    assert.equal(domainErrorId(() => validateFilters([{ kind: "not" }])), "ROSTER-qry01");
    assert.equal(domainErrorId(() => validateFilters([leaf, { kind: "or", filters: [leaf, { kind: "not" }] }])), "ROSTER-qry01");
  });

  test("not without query whose operand would sit below level 20 → USER-zsQ97", () => {
    assert.equal(domainErrorId(() => validateFilters([nest(19, "and", { kind: "not" })!])), "ROSTER-qry01");
    assert.equal(domainErrorId(() => validateFilters([nest(20, "and", { kind: "not" })!])), "USER-zsQ97");
  });

  test("the first problem in depth-first order wins", () => {
    assert.equal(domainErrorId(() => validateFilters([{ kind: "not" }, nest(25, "or", leaf)!])), "ROSTER-qry01");
    assert.equal(domainErrorId(() => validateFilters([nest(25, "or", leaf)!, { kind: "not" }])), "USER-zsQ97");
  });
});

describe("order", () => {
  test("strings compare by code point (PostgreSQL's C collation), not by UTF-16 unit or locale", () => {
    const cases: [string, string, number][] = [
      ["B", "a", -1],
      ["Zeta", "alpha", -1],
      ["z", "é", -1],
      ["abc", "abd", -1],
      ["ab", "abc", -1],
      ["", "a", -1],
      ["same", "same", 0],
      ["\uFFFD", "😀", -1], // U+FFFD < U+1F600, although its UTF-16 unit is greater than a surrogate
      ["\uE000", "𐐀", -1],
      ["𐐀", "𐐁", -1],
    ];
    for (const [a, b, expected] of cases) {
      assert.equal(Math.sign(compareCodePoints(a, b)), expected, `${a} vs ${b}`);
      assert.equal(Math.sign(compareCodePoints(b, a)), 0 - expected || 0, `${b} vs ${a}`);
    }
  });

  const a = user("10", { username: "carol", givenName: "Zoe", state: "initial", createdAt: new Date("2026-01-03T00:00:00Z") });
  const b = user("11", { username: "Bob", givenName: "Zoe", state: "locked", createdAt: new Date("2026-01-01T00:00:00Z") });
  const c = user("09", { username: "alice", givenName: "Amy", state: "active", type: "machine", createdAt: new Date("2026-01-01T00:00:00Z") });
  const d = user("12", { username: "dave", givenName: "Zoe", state: "inactive", createdAt: new Date("2026-01-02T00:00:00Z") });
  const ids = (column: UserSortColumn, asc: boolean) => [a, b, c, d].sort(compareUsers(column, asc)).map((u) => u.id);

  const cases: [UserSortColumn, string[]][] = [
    ["id", ["09", "10", "11", "12"]],
    ["username", ["11", "09", "10", "12"]], // "Bob" < "alice": code point order
    ["givenName", ["09", "10", "11", "12"]], // ties (Zoe) by id
    ["state", ["09", "12", "11", "10"]], // ACTIVE 1, INACTIVE 2, LOCKED 4, INITIAL 5
    ["type", ["10", "11", "12", "09"]], // HUMAN 1, MACHINE 2, ties by id
    ["createdAt", ["09", "11", "12", "10"]],
  ];
  for (const [column, ascending] of cases) {
    test(`by ${column}, ties by id in the same direction`, () => {
      assert.deepEqual(ids(column, true), ascending);
      assert.deepEqual(ids(column, false), [...ascending].reverse());
    });
  }
});

describe("selectUsers", () => {
  const users = [
    user("1", { orgId: "acme" }),
    user("2", { orgId: "acme", state: "deleted" }),
    user("3", { orgId: "globex" }),
    user("4", { orgId: "globex", state: "locked" }),
    user("5", { orgId: "initech" }),
  ];
  const query = (over: Partial<UserListQuery>): UserListQuery => ({
    filters: [],
    visibility: { kind: "all" },
    sort: "id",
    asc: true,
    offset: 0,
    limit: 100,
    ...over,
  });
  const page = (q: Partial<UserListQuery>) => {
    const r = selectUsers(users, query(q));
    return { ids: r.users.map((u) => u.id), total: r.total };
  };

  test("deleted users never appear, not even when asked for by state or id", () => {
    assert.deepEqual(page({}), { ids: ["1", "3", "4", "5"], total: 4 });
    assert.deepEqual(page({ filters: [{ kind: "state", state: "deleted" }] }), { ids: [], total: 0 });
    assert.deepEqual(page({ filters: [{ kind: "inIds", ids: ["2"] }] }), { ids: [], total: 0 });
  });

  test("scoped visibility: the caller itself and the users of its organizations", () => {
    assert.deepEqual(page({ visibility: { kind: "scoped", selfId: "5", orgIds: ["globex"] } }), { ids: ["3", "4", "5"], total: 3 });
    assert.deepEqual(page({ visibility: { kind: "scoped", selfId: "5", orgIds: [] } }), { ids: ["5"], total: 1 });
    assert.deepEqual(page({ visibility: { kind: "scoped", selfId: "2", orgIds: [] } }), { ids: [], total: 0 });
  });

  test("filters are combined with AND, on top of visibility", () => {
    const q: Partial<UserListQuery> & { filters: UserFilter[] } = {
      visibility: { kind: "scoped", selfId: "5", orgIds: ["globex"] },
      filters: [{ kind: "state", state: "active" }],
    };
    assert.deepEqual(page(q), { ids: ["3", "5"], total: 2 });
    assert.deepEqual(page({ ...q, filters: [...q.filters, { kind: "org", orgId: "acme" }] }), { ids: [], total: 0 });
  });

  test("the total counts every match; offset and limit cut the page", () => {
    assert.deepEqual(page({ offset: 1, limit: 2 }), { ids: ["3", "4"], total: 4 });
    assert.deepEqual(page({ offset: 3, limit: 2, asc: false }), { ids: ["1"], total: 4 });
    assert.deepEqual(page({ offset: 10 }), { ids: [], total: 4 });
  });
});
