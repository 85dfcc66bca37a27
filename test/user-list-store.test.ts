/**
 * The PostgreSQL store's ListUsers/ListOrganizations against the domain's definition
 * (`selectUsers`, `selectOrgs`): the same rows, the same queries — curated ones for every edge
 * of the spec and a few hundred generated ones — must give the same page and total, on the
 * server (PostgreSQL 15) and on the embedded PostgreSQL 18 alike. Also: the list indexes are
 * the ones the planner can use, and migration 0003 folds names that existed before it.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { sql } from "kysely";
import { openDatabase, type OpenedDatabase } from "../src/store/database.js";
import { createStore } from "../src/store/kysely-store.js";
import { migrateToLatest } from "../src/store/migrate.js";
import type { Store, UserRecord, UserState, UserType } from "../src/domain/store.js";
import { userListParts, userListStatement } from "../src/store/user-list.js";
import {
  selectUsers,
  type TextMatch,
  type TextOp,
  type UserFilter,
  type UserListQuery,
  type UserSortColumn,
  type UserTextField,
  type UserVisibility,
} from "../src/domain/users/user-filter.js";
import { selectOrgs, type OrgFilter, type OrgListQuery, type OrgSummary } from "../src/domain/orgs/org-filter.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

const ORGS = ["org-acme", "org-globex", "org-initech"];
const T0 = Date.parse("2026-01-01T00:00:00.000Z");

/** Names that sort, fold or match differently in one locale or another, and LIKE's own characters. */
const NAMES: [username: string, given: string, family: string, nick: string, email: string][] = [
  ["Ada", "Ada", "Lovelace", "Countess", "ada@acme.example"],
  ["bob", "Bob", "builder", "", "Bob@Acme.Example"],
  ["Émile", "Émile", "Zola", "", "emile@globex.example"],
  ["émilie", "émilie", "zola", "Mimi", "EMILIE@globex.example"],
  ["Zoë", "Zoë", "Ärger", "", "zoe@initech.example"],
  ["zed", "zed", "arger", "Z", "zed@initech.example"],
  ["50%off", "Per%Cent", "100%", "%", "p%c@acme.example"],
  ["a_b", "Under_Score", "x_y", "_", "a_b@acme.example"],
  ["axb", "UnderXScore", "xzy", "x", "axb@acme.example"],
  ["back\\slash", "Back\\Slash", "c:\\dir", "\\", "b\\s@acme.example"],
  ["𐐀sher", "𐐀sher", "Deseret", "𐐨", "deseret@globex.example"],
  ["\uFFFDrepl", "Repl", "\uFFFD", "", "repl@globex.example"],
  ["İnci", "İnci", "IŞIK", "", "inci@initech.example"],
  ["ΣΟΦΙΑΣ", "Σοφία", "ΟΔΟΣ", "σοφια", "sofia@initech.example"],
  ["straße", "Straße", "STRASSE", "", "strasse@acme.example"],
  ["Grace", "Grace", "Hopper", "Amazing", "grace@acme.example"],
  ["grace.b", "Grace", "Brewster", "", "grace@globex.example"],
  ["UPPER", "UPPER", "CASE", "", "UPPER@ACME.EXAMPLE"],
  ["lower", "lower", "case", "", "lower@acme.example"],
  ["Mixed Case", "Mixed", "Case", "mc", "mixed@acme.example"],
  ["  spaced", " Spaced ", "Out ", "", "spaced@acme.example"],
  ["dup1", "Same", "Same", "", "same@acme.example"],
  ["dup2", "Same", "Same", "", "same@acme.example"],
  ["dup3", "Same", "Same", "", "same@globex.example"],
];
const STATES: UserState[] = ["active", "active", "inactive", "locked", "initial", "deleted", "active"];
const IDS = ["100", "099", "1000", "2", "we\"ird,id", "{braces}", "Z-id", "a-id", "é-id", "10", "09"];

function buildUsers(): UserRecord[] {
  return NAMES.map(([username, givenName, familyName, nickName, email], i) => ({
    id: IDS[i] ?? `3${String(i).padStart(17, "0")}`,
    orgId: ORGS[i % ORGS.length]!,
    type: (i % 7 === 3 ? "machine" : "human") as UserType,
    state: STATES[i % STATES.length]!,
    username,
    givenName,
    familyName,
    nickName,
    displayName: `${givenName} ${familyName}`,
    preferredLanguage: "en",
    gender: 0,
    email,
    emailVerified: true,
    phone: i % 3 === 0 ? "" : `+4179555${String(1000 + i)}`,
    phoneVerified: false,
    passwordHash: null,
    passwordChangeRequired: false,
    passwordChangedAt: null,
    machineName: "",
    machineDescription: "",
    sequence: 1 + (i % 4),
    // pairs share a creation time, so that the id tie-break decides
    createdAt: new Date(T0 + Math.floor(i / 2) * 1000),
    changedAt: new Date(T0 + i * 1000),
  }));
}

/** A small deterministic generator (mulberry32), so that a failing query can be reproduced. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TEXT_FIELDS: UserTextField[] = ["username", "givenName", "familyName", "nickName", "displayName", "email", "phone", "loginName"];
const OPS: TextOp[] = ["equals", "startsWith", "contains", "endsWith"];
const SORTS: UserSortColumn[] = ["id", "username", "givenName", "familyName", "nickName", "displayName", "email", "state", "type", "createdAt"];

function fieldValue(u: UserRecord, f: UserTextField): string {
  const key = f === "loginName" ? "username" : f;
  return u[key];
}

function randomFilter(r: () => number, users: UserRecord[], depth: number): UserFilter {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const k = r();
  if (depth < 3 && k < 0.2) {
    const kind = pick(["and", "or", "not"] as const);
    if (kind === "not") return { kind, filter: randomFilter(r, users, depth + 1) };
    return { kind, filters: Array.from({ length: Math.floor(r() * 3) }, () => randomFilter(r, users, depth + 1)) };
  }
  if (k < 0.65) {
    const field = pick(TEXT_FIELDS);
    const source = fieldValue(pick(users), field);
    const [a, b] = [Math.floor(r() * (source.length + 1)), Math.floor(r() * (source.length + 1))].sort((x, y) => x - y);
    let value = [...source].slice(a, b + 1).join("");
    const twist = r();
    if (twist < 0.2) value = value.toUpperCase();
    else if (twist < 0.35) value = value.toLowerCase();
    else if (twist < 0.4) value = pick(["%", "_", "\\", "%%", "a%", "_b", "\\s", ""]);
    const match: TextMatch = { op: pick(OPS), ignoreCase: r() < 0.5 };
    return { kind: "text", field, match, value };
  }
  if (k < 0.75) return { kind: "state", state: pick([null, "active", "inactive", "locked", "initial", "deleted"] as const) };
  if (k < 0.8) return { kind: "type", type: pick([null, "human", "machine"] as const) };
  if (k < 0.87) return { kind: "inIds", ids: users.filter(() => r() < 0.2).map((u) => u.id) };
  if (k < 0.93) return { kind: "inEmails", emails: users.filter(() => r() < 0.2).map((u) => (r() < 0.2 ? u.email.toUpperCase() : u.email)) };
  return { kind: "org", orgId: pick([...ORGS, "org-none"]) };
}

function randomVisibility(r: () => number, users: UserRecord[]): UserVisibility {
  if (r() < 0.4) return { kind: "all" };
  return {
    kind: "scoped",
    selfId: users[Math.floor(r() * users.length)]!.id,
    orgIds: ORGS.filter(() => r() < 0.4),
  };
}

describe("PostgreSQL list store = the domain's definition", () => {
  let testDb: TestDatabase;
  let opened: OpenedDatabase;
  let store: Store;
  let users: UserRecord[];

  before(async () => {
    testDb = await createTestDatabase();
    opened = await openDatabase({ databaseUrl: testDb.url, dataDir: "/nonexistent", maxConnections: 3 });
    store = createStore(opened.db, { close: opened.close });
    await migrateToLatest(opened.db);
    users = buildUsers();
    await store.transaction(async (tx) => {
      for (const u of users) await tx.insertUser(u);
    });
  });
  after(async () => {
    await store?.close();
    await testDb?.drop();
  });

  async function agree(query: UserListQuery, label: string): Promise<void> {
    const expected = selectUsers(users, query);
    const actual = await store.read.listUsers(query);
    const show = (p: { users: UserRecord[]; total: number }) => ({ ids: p.users.map((u) => u.id), total: p.total });
    assert.deepEqual(show(actual), show(expected), `${label}: ${JSON.stringify(query)}`);
  }

  const base: UserListQuery = { filters: [], visibility: { kind: "all" }, sort: "id", asc: true, offset: 0, limit: 100 };

  test("rows come back as they were stored", async () => {
    const page = await store.read.listUsers({ ...base, filters: [{ kind: "inIds", ids: ["100"] }] });
    assert.deepEqual(page.users, [users[0]]);
  });

  test("every sort column, both directions, ties by id", async () => {
    for (const sort of SORTS) {
      for (const asc of [true, false]) await agree({ ...base, sort, asc }, `sort ${sort} ${asc ? "asc" : "desc"}`);
    }
  });

  test("every text field with every method, exact and ignoring case, with LIKE's characters taken literally", async () => {
    const values = ["Ada", "ada", "É", "é", "ÉMILE", "%", "_", "\\", "a_b", "a%", "x_y", "c:\\", "𐐀", "𐐨", "İ", "i̇", "ΣΟΦΙΑΣ", "σοφιας", "ss", "ß", "STRASSE", " ", "", "@acme.example", "+4179", "Same"];
    for (const field of TEXT_FIELDS) {
      for (const op of OPS) {
        for (const ignoreCase of [false, true]) {
          for (const value of values) {
            await agree({ ...base, filters: [{ kind: "text", field, match: { op, ignoreCase }, value }] }, `${field} ${op} ${ignoreCase}`);
          }
        }
      }
    }
  });

  test("state, type, ids, emails, organization; empty lists and operators", async () => {
    const filters: UserFilter[] = [
      ...(["active", "inactive", "locked", "initial", "deleted", null] as const).map((state): UserFilter => ({ kind: "state", state })),
      ...(["human", "machine", null] as const).map((type): UserFilter => ({ kind: "type", type })),
      { kind: "inIds", ids: [] },
      { kind: "inIds", ids: IDS },
      { kind: "inIds", ids: ["we\"ird,id", "{braces}", "nobody"] },
      { kind: "inEmails", emails: [] },
      { kind: "inEmails", emails: ["same@acme.example", "BOB@ACME.EXAMPLE", "Bob@Acme.Example"] },
      { kind: "org", orgId: "org-globex" },
      { kind: "org", orgId: "org-none" },
      { kind: "and", filters: [] },
      { kind: "or", filters: [] },
      { kind: "not", filter: { kind: "or", filters: [] } },
      { kind: "not", filter: { kind: "and", filters: [] } },
      { kind: "not", filter: { kind: "state", state: "active" } },
      { kind: "not", filter: { kind: "not", filter: { kind: "org", orgId: "org-acme" } } },
      { kind: "or", filters: [{ kind: "org", orgId: "org-acme" }, { kind: "state", state: "locked" }] },
    ];
    for (const f of filters) await agree({ ...base, filters: [f] }, f.kind);
    await agree({ ...base, filters: filters.slice(0, 2) }, "two filters are combined with AND");
  });

  test("visibility and paging", async () => {
    const visibilities: UserVisibility[] = [
      { kind: "all" },
      { kind: "scoped", selfId: "100", orgIds: [] },
      { kind: "scoped", selfId: "2", orgIds: ["org-globex"] },
      { kind: "scoped", selfId: IDS[5]!, orgIds: ["org-acme", "org-initech"] }, // a deleted caller sees not itself
      { kind: "scoped", selfId: "nobody", orgIds: [] },
    ];
    for (const visibility of visibilities) {
      for (const [offset, limit] of [[0, 100], [0, 1], [0, 3], [2, 3], [5, 100], [19, 2], [40, 5], [100, 1]] as const) {
        await agree({ ...base, visibility, sort: "username", asc: true, offset, limit }, "paging");
        await agree({ ...base, visibility, sort: "createdAt", asc: false, offset, limit }, "paging desc");
      }
    }
  });

  test("a few hundred generated queries", async () => {
    const r = rng(20260401);
    for (let i = 0; i < 400; i++) {
      const query: UserListQuery = {
        filters: Array.from({ length: Math.floor(r() * 3) }, () => randomFilter(r, users, 0)),
        visibility: randomVisibility(r, users),
        sort: SORTS[Math.floor(r() * SORTS.length)]!,
        asc: r() < 0.5,
        offset: r() < 0.7 ? 0 : Math.floor(r() * 25),
        limit: 1 + Math.floor(r() * 30),
      };
      await agree(query, `generated #${i}`);
    }
  });

  test("a value holding NUL matches nothing instead of failing", async () => {
    await agree({ ...base, filters: [{ kind: "text", field: "username", match: { op: "contains", ignoreCase: false }, value: "a\u0000" }] }, "NUL");
    await agree({ ...base, filters: [{ kind: "not", filter: { kind: "text", field: "email", match: { op: "equals", ignoreCase: true }, value: "\u0000" } }] }, "not NUL");
    await agree({ ...base, filters: [{ kind: "inIds", ids: ["100", "\u0000"] }, { kind: "inEmails", emails: ["\u0000", "ada@acme.example"] }] }, "NUL in lists");
    await agree({ ...base, filters: [{ kind: "org", orgId: "org\u0000" }] }, "NUL org");
    await agree({ ...base, visibility: { kind: "scoped", selfId: "\u0000", orgIds: ["\u0000", "org-acme"] } }, "NUL visibility");
  });

  test("the latest event position is the greatest position of the log", async () => {
    assert.equal(await store.read.latestEventPosition(), "0");
    const at = new Date(T0);
    await store.transaction((tx) =>
      tx.appendEvents([
        { aggregateType: "user", aggregateId: "100", sequence: 2, type: "user.test", payload: {}, actorId: "", orgId: "org-acme", createdAt: at },
        { aggregateType: "user", aggregateId: "099", sequence: 2, type: "user.test", payload: {}, actorId: "", orgId: "org-acme", createdAt: at },
      ]),
    );
    const { rows } = await sql<{ p: string }>`SELECT max(position)::text AS p FROM events`.execute(opened.db);
    assert.equal(await store.read.latestEventPosition(), rows[0]!.p);
    assert.notEqual(rows[0]!.p, "0");
  });

  test("the planner can use the list indexes for every sort order and the common filters", async () => {
    const SORT_INDEX: Record<UserSortColumn, string> = {
      id: "users_live_id",
      username: "users_live_username",
      givenName: "users_live_given_name",
      familyName: "users_live_family_name",
      nickName: "users_live_nick_name",
      displayName: "users_live_display_name",
      email: "users_live_email",
      state: "users_live_state_order",
      type: "users_live_type",
      createdAt: "users_live_created_at",
    };
    const text = (field: UserTextField, op: TextOp, ignoreCase: boolean, value: string): UserFilter => ({ kind: "text", field, match: { op, ignoreCase }, value });
    const cases: [string, UserListQuery, string][] = [
      ...SORTS.map((sort): [string, UserListQuery, string] => [`sort by ${sort}`, { ...base, sort, asc: false, offset: 5 }, SORT_INDEX[sort]]),
      ["email equals", { ...base, filters: [text("email", "equals", false, "ada@acme.example")] }, "users_live_email"],
      ["username prefix", { ...base, sort: "username", filters: [text("username", "startsWith", false, "gr")] }, "users_live_username"],
      ["username prefix ignoring case", { ...base, filters: [text("username", "startsWith", true, "GR")] }, "users_username_folded_live"],
      ["organization by username", { ...base, sort: "username", filters: [{ kind: "org", orgId: "org-acme" }] }, "users_live_org_username"],
      ["organization by id", { ...base, filters: [{ kind: "org", orgId: "org-acme" }] }, "users_live_org_id"],
      ["state", { ...base, filters: [{ kind: "state", state: "locked" }] }, "users_live_state"],
    ];
    for (const [label, query, index] of cases) {
      const { page, count } = userListParts(query);
      const [pagePlan, countPlan, listPlan] = await opened.db.transaction().execute(async (trx) => {
        // a handful of rows: make the planner show what it would do with many
        await sql`SET LOCAL enable_seqscan = off`.execute(trx);
        await sql`SET LOCAL enable_bitmapscan = off`.execute(trx);
        const out: string[] = [];
        for (const q of [page.compile(trx), count.compile(trx), userListStatement(trx, query)]) {
          const { rows } = await trx.executeQuery<{ "QUERY PLAN": string }>({ ...q, sql: `EXPLAIN (COSTS OFF) ${q.sql}` });
          out.push(rows.map((r) => r["QUERY PLAN"]).join("\n"));
        }
        return out;
      });
      assert.match(pagePlan!, new RegExp(`Index (Only )?Scan( Backward)? using ${index} on users\\b`), `${label}:\n${pagePlan}`);
      assert.doesNotMatch(pagePlan!, /Seq Scan on users/, `${label}:\n${pagePlan}`);
      assert.doesNotMatch(countPlan!, /Seq Scan on users/, `${label}:\n${countPlan}`);
      assert.doesNotMatch(listPlan!, /Seq Scan on users/, `${label}:\n${listPlan}`);
    }
  });

  describe("organizations", () => {
    const orgs: OrgSummary[] = [];

    before(async () => {
      const names = ["Acme", "acme corp", "Émile & Co", "zeta", "Zeta%", "under_score", "Back\\slash", "𐐀 org"];
      await store.transaction(async (tx) => {
        for (const [i, name] of names.entries()) {
          const id = `5000000000000000${String(i).padStart(2, "0")}`;
          const createdAt = new Date(T0 + i * 1000);
          await tx.insertOrg({ id, name, createdAt });
          const events = i % 3; // some organizations have no events at all (like the bootstrap's default)
          await tx.appendEvents(
            Array.from({ length: events }, (_, s) => ({
              aggregateType: "org" as const, aggregateId: id, sequence: s + 1, type: "org.test", payload: {}, actorId: "", orgId: id,
              createdAt: new Date(createdAt.getTime() + (s + 1) * 60_000),
            })),
          );
          orgs.push({
            id, name, state: "active", createdAt, sequence: events,
            changedAt: events === 0 ? createdAt : new Date(createdAt.getTime() + events * 60_000),
          });
        }
      });
    });

    async function agreeOrgs(query: OrgListQuery, label: string): Promise<void> {
      assert.deepEqual(await store.read.listOrgs(query), selectOrgs(orgs, query), `${label}: ${JSON.stringify(query)}`);
    }

    test("filters, visibility, sort and paging", async () => {
      const filters: OrgFilter[][] = [
        [],
        [{ kind: "state", state: "active" }],
        [{ kind: "state", state: "inactive" }],
        [{ kind: "state", state: null }],
        [{ kind: "none" }],
        [{ kind: "id", id: orgs[2]!.id }],
        [{ kind: "id", id: "\u0000" }],
        ...OPS.flatMap((op) =>
          [false, true].flatMap((ignoreCase) =>
            ["acme", "ACME", "Zeta", "%", "_", "\\", "é", "É", "𐐀", "\u0000"].map((value): OrgFilter[] => [{ kind: "name", match: { op, ignoreCase }, value }]),
          ),
        ),
      ];
      const visibilities: OrgListQuery["visibility"][] = [
        { kind: "all" },
        { kind: "scoped", orgIds: [] },
        { kind: "scoped", orgIds: [orgs[0]!.id, orgs[3]!.id, "unknown"] },
      ];
      for (const f of filters) {
        for (const visibility of visibilities) {
          for (const sort of ["id", "name"] as const) {
            await agreeOrgs({ filters: f, visibility, sort, asc: true, offset: 0, limit: 100 }, "orgs");
            await agreeOrgs({ filters: f, visibility, sort, asc: false, offset: 1, limit: 2 }, "orgs paged");
          }
        }
      }
    });
  });
});

describe("migration 0003 on existing users", () => {
  test("folds names that existed before it with Roster's own folding, whatever the database's locale", async () => {
    const older = await createTestDatabase();
    const db = await openDatabase({ databaseUrl: older.url, dataDir: "/nonexistent" });
    try {
      await (await import("../src/store/migrations/0001_initial.js")).up(db.db);
      await (await import("../src/store/migrations/0002_event_aggregate_type.js")).up(db.db);
      await sql`CREATE TABLE kysely_migration (name varchar(255) PRIMARY KEY, timestamp varchar(255) NOT NULL)`.execute(db.db);
      await sql`INSERT INTO kysely_migration VALUES ('0001_initial', '2024-05-01T00:00:00.000Z'), ('0002_event_aggregate_type', '2024-05-02T00:00:00.000Z')`.execute(db.db);
      for (let i = 0; i < 1500; i++) {
        // more than one batch of the backfill
        await sql`INSERT INTO users (id, org_id, type, state, username, username_folded, given_name, family_name, nick_name, display_name, email, sequence, created_at, changed_at)
          VALUES (${`u${String(i).padStart(4, "0")}`}, 'o1', 'human', 'active', ${`ÉMILE${i}`}, ${`émile${i}`}, 'ÉMILE', 'ZOLA', 'Ñ', 'ÉMILE ZOLA', 'Émile@Example.COM', 1, now(), now())`.execute(db.db);
      }
      const applied = await migrateToLatest(db.db);
      assert.equal(applied[0], "0003_list_indexes", "0003 runs first on this older schema (later migrations follow it)");
      const { rows } = await sql<Record<string, string>>`
        SELECT DISTINCT given_name_folded, family_name_folded, nick_name_folded, display_name_folded, email_folded FROM users`.execute(db.db);
      assert.deepEqual(rows, [{ given_name_folded: "émile", family_name_folded: "zola", nick_name_folded: "ñ", display_name_folded: "émile zola", email_folded: "émile@example.com" }]);
      const migrated = createStore(db.db, { close: async () => {} });
      const page = await migrated.read.listUsers({
        filters: [{ kind: "text", field: "givenName", match: { op: "equals", ignoreCase: true }, value: "émile" }],
        visibility: { kind: "all" }, sort: "username", asc: true, offset: 0, limit: 2,
      });
      assert.equal(page.total, 1500);
      assert.deepEqual(page.users.map((u) => u.username), ["ÉMILE0", "ÉMILE1"]);
    } finally {
      await db.close();
      await older.drop();
    }
  });
});
