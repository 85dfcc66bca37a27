/**
 * ListUsers end to end (contract.md §9.3): every query type, nesting, paging, every sorting
 * column in both directions with ties, visibility per caller, deleted users, details, limit
 * errors and field rules — over REST (`POST /v2/users`) mostly, and over gRPC (grpc-js with
 * ZITADEL's descriptors, @zitadel/client) and Connect for a few cases.
 *
 * States other than ACTIVE cannot be reached through the API yet (LockUser, DeactivateUser and
 * DeleteUser come with their own RPCs); the test puts them in place through the store, as those
 * RPCs will.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { sql } from "kysely";
import { allProtocols, connectJsonH1, grpcJsClient, show, zitadelGrpc } from "./support/clients.js";
import { assertOk, createWorld, rest, type RestResponse, type World } from "./support/fixtures.js";
import { openInspector, type Inspector } from "./support/inspect.js";
import { startTestRoster, type TestRoster } from "./support/roster.js";
import type { UserRecord, UserState } from "../src/domain/store.js";

const GRPC = { INVALID_ARGUMENT: 3 };

/** Users of the organization "Lists", by the last two digits of their id (see the table in `before`). */
const ID = (n: number) => `90000000000000000${n}`;
const ALL = [1, 2, 3, 4, 5, 6, 7, 8, 9];

function assertError(res: RestResponse, status: number, code: number, id: string, text: string): void {
  assert.equal(res.status, status, `expected HTTP ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
  assert.equal(res.body.code, code, JSON.stringify(res.body));
  assert.deepEqual(res.body.details, [{ "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id, message: text }]);
  assert.equal(res.body.message, `${text} (${id})`);
}

function assertFieldViolation(res: RestResponse, pattern: RegExp): void {
  assert.equal(res.status, 400, JSON.stringify(res.body));
  assert.equal(res.body.code, GRPC.INVALID_ARGUMENT);
  assert.equal(res.body.details, undefined, "field violations carry no ErrorDetail");
  assert.match(res.body.message, pattern);
}

describe("ListUsers", () => {
  let roster: TestRoster;
  let inspector: Inspector;
  let world: World;
  let lists: string; // organization id
  let bulk: string; // organization with 105 users
  const byId = new Map<string, number>();

  async function setState(userId: string, state: UserState): Promise<void> {
    await inspector.store.transaction(async (tx) => {
      const u = (await tx.lockUser(userId)) as UserRecord;
      await tx.updateUser({ ...u, state, sequence: u.sequence + 1, changedAt: new Date() });
    });
  }

  before(async () => {
    roster = await startTestRoster();
    inspector = await openInspector(roster.databaseUrl);
    world = await createWorld(roster);
    const org = await rest(roster, "POST", "/v2/organizations", { token: world.ian.token, body: { name: `Lists-${world.tag}` } });
    assertOk(org);
    lists = org.body.organizationId;

    // n, username, given, family, nick, display, email, phone — created in the order of CREATED, not of ids
    const rows: [number, string, string, string, string, string | undefined, string, string][] = [
      [1, "amy", "Amy", "Zed", "", undefined, "amy@lists.example", ""],
      [2, "Bea", "bea", "Young", "B", undefined, "BEA@Lists.Example", "+41795550002"],
      [3, "50%_off", "Per%cent", "Under_score", "%", "50% off", "percent@lists.example", ""],
      [4, "500xoff", "Perxcent", "Underxscore", "x", "500 off", "x@lists.example", ""],
      [5, "back\\slash", "Back\\slash", "Slash", "\\", "C:\\dir", "back@lists.example", "+41795550005"],
      [6, "émile", "Émile", "Zola", "", undefined, "emile@lists.example", ""],
      [7, "Ünal", "Ünal", "Özdemir", "", undefined, "unal@lists.example", ""],
      [8, "zoë", "Same", "Same", "", undefined, "same@lists.example", ""],
      [9, "zeta", "Same", "Same", "", undefined, "same2@lists.example", ""],
    ];
    for (const n of CREATED) {
      const [, username, givenName, familyName, nickName, displayName, email, phone] = rows.find((r) => r[0] === n)!;
      const res = await rest(roster, "POST", "/v2/users/human", {
        token: world.ian.token,
        body: {
          userId: ID(n),
          username,
          organization: { orgId: lists },
          profile: { givenName, familyName, nickName, displayName },
          email: { email, isVerified: true },
          phone: phone ? { phone, isVerified: true } : undefined,
        },
      });
      assertOk(res);
      byId.set(ID(n), n);
    }
    await setState(ID(4), "locked");
    await setState(ID(6), "inactive");

    // 105 more users, straight into the store: only their number matters
    const orgB = await rest(roster, "POST", "/v2/organizations", { token: world.ian.token, body: { name: `Bulk-${world.tag}` } });
    assertOk(orgB);
    bulk = orgB.body.organizationId;
    const template = (await inspector.user(ID(1)))!;
    await inspector.store.transaction(async (tx) => {
      for (let i = 0; i < 105; i++) {
        const k = String(i).padStart(3, "0");
        await tx.insertUser({ ...template, id: `80000000000000${k}0`, orgId: bulk, username: `bulk-${k}`, email: `bulk-${k}@bulk.example` });
      }
    });
  });
  after(async () => {
    await inspector?.close();
    await roster?.close();
  });

  /** Creation order of the users of "Lists" (ascending creation date). */
  const CREATED = [5, 1, 9, 3, 7, 2, 8, 4, 6];

  const list = (body: unknown, token = world.ian.token) => rest(roster, "POST", "/v2/users", { token, body });
  /** The listed users of "Lists" as their numbers, others as their usernames. */
  const who = (res: RestResponse): (number | string)[] => {
    assertOk(res);
    return (res.body.result ?? []).map((u: { userId: string; username: string }) => byId.get(u.userId) ?? u.username);
  };
  const inLists = (...queries: unknown[]) => ({ query: { asc: true }, queries: [{ organizationIdQuery: { organizationId: lists } }, ...queries] });

  describe("text queries", () => {
    const cases: [string, Record<string, unknown>, number[]][] = [
      ["user_name EQUALS", { userNameQuery: { userName: "Bea" } }, [2]],
      ["user_name EQUALS is case-sensitive", { userNameQuery: { userName: "bea", method: "TEXT_QUERY_METHOD_EQUALS" } }, []],
      ["user_name EQUALS_IGNORE_CASE", { userNameQuery: { userName: "bEA", method: "TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE" } }, [2]],
      ["user_name STARTS_WITH: % is literal", { userNameQuery: { userName: "50%", method: "TEXT_QUERY_METHOD_STARTS_WITH" } }, [3]],
      ["user_name STARTS_WITH_IGNORE_CASE", { userNameQuery: { userName: "Z", method: "TEXT_QUERY_METHOD_STARTS_WITH_IGNORE_CASE" } }, [8, 9]],
      ["user_name CONTAINS: _ is literal", { userNameQuery: { userName: "_", method: "TEXT_QUERY_METHOD_CONTAINS" } }, [3]],
      ["user_name CONTAINS: \\ is literal", { userNameQuery: { userName: "k\\s", method: "TEXT_QUERY_METHOD_CONTAINS" } }, [5]],
      ["user_name CONTAINS_IGNORE_CASE: Unicode lower case", { userNameQuery: { userName: "ÉMI", method: "TEXT_QUERY_METHOD_CONTAINS_IGNORE_CASE" } }, [6]],
      ["user_name ENDS_WITH", { userNameQuery: { userName: "\\slash", method: "TEXT_QUERY_METHOD_ENDS_WITH" } }, [5]],
      ["user_name ENDS_WITH_IGNORE_CASE", { userNameQuery: { userName: "NAL", method: "TEXT_QUERY_METHOD_ENDS_WITH_IGNORE_CASE" } }, [7]],
      ["first_name → given name", { firstNameQuery: { firstName: "Same" } }, [8, 9]],
      ["first_name CONTAINS %", { firstNameQuery: { firstName: "%", method: "TEXT_QUERY_METHOD_CONTAINS" } }, [3]],
      ["last_name STARTS_WITH Under_", { lastNameQuery: { lastName: "Under_", method: "TEXT_QUERY_METHOD_STARTS_WITH" } }, [3]],
      ["last_name EQUALS_IGNORE_CASE Unicode", { lastNameQuery: { lastName: "öZDEMIR", method: "TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE" } }, [7]],
      ["nick_name EQUALS \\", { nickNameQuery: { nickName: "\\" } }, [5]],
      ["display_name: the default is given and family name", { displayNameQuery: { displayName: "bea Young" } }, [2]],
      ["display_name CONTAINS_IGNORE_CASE", { displayNameQuery: { displayName: "ÖZDEMIR", method: "TEXT_QUERY_METHOD_CONTAINS_IGNORE_CASE" } }, [7]],
      ["email EQUALS is case-sensitive", { emailQuery: { emailAddress: "bea@lists.example" } }, []],
      ["email EQUALS_IGNORE_CASE", { emailQuery: { emailAddress: "bea@lists.example", method: "TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE" } }, [2]],
      ["email ENDS_WITH", { emailQuery: { emailAddress: "2@lists.example", method: "TEXT_QUERY_METHOD_ENDS_WITH" } }, [9]],
      ["email empty EQUALS: no human here has an empty email", { emailQuery: { emailAddress: "" } }, []],
      ["phone EQUALS the stored E.164 number", { phoneQuery: { number: "+41795550002" } }, [2]],
      ["phone STARTS_WITH", { phoneQuery: { number: "+4179555000", method: "TEXT_QUERY_METHOD_STARTS_WITH" } }, [2, 5]],
      ["phone: the value is not normalised", { phoneQuery: { number: "079 555 00 02" } }, []],
      ["login_name: the username", { loginNameQuery: { loginName: "Bea" } }, [2]],
      ["login_name EQUALS_IGNORE_CASE", { loginNameQuery: { loginName: "ünal", method: "TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE" } }, [7]],
      ["login_name is not the email", { loginNameQuery: { loginName: "amy@lists.example" } }, []],
    ];
    for (const [name, query, expected] of cases) {
      test(name, async () => {
        const res = await list(inLists(query));
        assert.deepEqual(who(res), expected);
        assert.equal(res.body.details.totalResult ?? "0", String(expected.length));
      });
    }

    test("email EQUALS empty finds the first administrator (a machine user without email)", async () => {
      assert.deepEqual(who(await list({ queries: [{ emailQuery: { emailAddress: "" } }] })), ["admin"]);
    });

    test("a value holding NUL matches nothing", async () => {
      assert.deepEqual(who(await list(inLists({ userNameQuery: { userName: "a\u0000", method: "TEXT_QUERY_METHOD_CONTAINS" } }))), []);
      assert.deepEqual(who(await list(inLists({ inUserIdsQuery: { userIds: ["\u0000", ID(1)] } }))), [1]);
    });
  });

  describe("other queries and operators", () => {
    const cases: [string, unknown[], number[]][] = [
      ["state ACTIVE", [{ stateQuery: { state: "USER_STATE_ACTIVE" } }], [1, 2, 3, 5, 7, 8, 9]],
      ["state LOCKED", [{ stateQuery: { state: "USER_STATE_LOCKED" } }], [4]],
      ["state INACTIVE", [{ stateQuery: { state: "USER_STATE_INACTIVE" } }], [6]],
      ["state INITIAL", [{ stateQuery: { state: "USER_STATE_INITIAL" } }], []],
      ["state UNSPECIFIED matches nothing", [{ stateQuery: { state: "USER_STATE_UNSPECIFIED" } }], []],
      ["state DELETED matches nothing", [{ stateQuery: { state: "USER_STATE_DELETED" } }], []],
      ["type HUMAN", [{ typeQuery: { type: "TYPE_HUMAN" } }], ALL],
      ["type MACHINE: no human", [{ typeQuery: { type: "TYPE_MACHINE" } }], []],
      ["type UNSPECIFIED matches nothing", [{ typeQuery: { type: "TYPE_UNSPECIFIED" } }], []],
      ["in_user_ids", [{ inUserIdsQuery: { userIds: [ID(5), "nobody", ID(1)] } }], [1, 5]],
      ["in_user_ids empty matches nothing", [{ inUserIdsQuery: {} }], []],
      ["in_user_emails is exact", [{ inUserEmailsQuery: { userEmails: ["amy@lists.example", "bea@lists.example"] } }], [1]],
      ["in_user_emails empty matches nothing", [{ inUserEmailsQuery: { userEmails: [] } }], []],
      ["or", [{ orQuery: { queries: [{ userNameQuery: { userName: "amy" } }, { userNameQuery: { userName: "zeta" } }] } }], [1, 9]],
      ["or empty matches nothing", [{ orQuery: {} }], []],
      ["and", [{ andQuery: { queries: [{ firstNameQuery: { firstName: "Same" } }, { emailQuery: { emailAddress: "same2", method: "TEXT_QUERY_METHOD_STARTS_WITH" } }] } }], [9]],
      ["and empty matches everything", [{ andQuery: { queries: [] } }], ALL],
      ["not", [{ notQuery: { query: { stateQuery: { state: "USER_STATE_ACTIVE" } } } }], [4, 6]],
      ["not of not", [{ notQuery: { query: { notQuery: { query: { nickNameQuery: { nickName: "B" } } } } } }], [2]],
      ["several queries are combined with AND", [{ firstNameQuery: { firstName: "Same" } }, { userNameQuery: { userName: "zoë" } }], [8]],
    ];
    for (const [name, queries, expected] of cases) {
      test(name, async () => assert.deepEqual(who(await list(inLists(...queries))), expected));
    }

    test("organization_id alone; an unknown organization matches nothing", async () => {
      assert.deepEqual(who(await list(inLists())), ALL);
      assert.deepEqual(who(await list({ queries: [{ organizationIdQuery: { organizationId: "999999999999999999" } }] })), []);
    });

    test("type MACHINE finds the first administrator", async () => {
      assert.deepEqual(who(await list({ queries: [{ typeQuery: { type: "TYPE_MACHINE" } }] })), ["admin"]);
    });

    const nested = (depth: number): unknown => {
      let q: unknown = { organizationIdQuery: { organizationId: lists } };
      for (let i = 0; i < depth; i++) q = i % 2 ? { andQuery: { queries: [q] } } : { orQuery: { queries: [q] } };
      return q;
    };

    test("20 levels of nesting are allowed", async () => {
      assert.deepEqual(who(await list({ query: { asc: true }, queries: [nested(20)] })), ALL);
    });

    test("21 levels → INVALID_ARGUMENT USER-zsQ97", async () => {
      assertError(await list({ queries: [nested(21)] }), 400, GRPC.INVALID_ARGUMENT, "USER-zsQ97", "Too many query nesting levels (Max 20)");
    });

    test("not without query → INVALID_ARGUMENT ROSTER-qry01, also nested", async () => {
      assertError(await list({ queries: [{ notQuery: {} }] }), 400, GRPC.INVALID_ARGUMENT, "ROSTER-qry01", "Request is invalid");
      assertError(await list(inLists({ orQuery: { queries: [{ notQuery: {} }] } })), 400, GRPC.INVALID_ARGUMENT, "ROSTER-qry01", "Request is invalid");
    });
  });

  describe("sorting", () => {
    const orders: [string, number[]][] = [
      ["USER_FIELD_NAME_UNSPECIFIED", [1, 2, 3, 4, 5, 6, 7, 8, 9]],
      ["USER_FIELD_NAME_USER_NAME", [3, 4, 2, 1, 5, 9, 8, 7, 6]], // code point order: "50%_off" < "500xoff" < "Bea" < "amy" < …
      ["USER_FIELD_NAME_FIRST_NAME", [1, 5, 3, 4, 8, 9, 2, 6, 7]], // "Same" twice: by id
      ["USER_FIELD_NAME_LAST_NAME", [8, 9, 5, 3, 4, 2, 1, 6, 7]],
      ["USER_FIELD_NAME_NICK_NAME", [1, 6, 7, 8, 9, 3, 2, 5, 4]], // five empty nick names, by id
      ["USER_FIELD_NAME_DISPLAY_NAME", [3, 4, 1, 5, 8, 9, 2, 6, 7]],
      ["USER_FIELD_NAME_EMAIL", [2, 1, 5, 6, 3, 9, 8, 7, 4]],
      ["USER_FIELD_NAME_STATE", [1, 2, 3, 5, 7, 8, 9, 6, 4]], // ACTIVE (1), INACTIVE (2), LOCKED (4)
      ["USER_FIELD_NAME_TYPE", ALL], // all human: by id
      ["USER_FIELD_NAME_CREATION_DATE", CREATED],
    ];
    for (const [column, ascending] of orders) {
      test(`${column}, ascending and descending, ties by id in the same direction`, async () => {
        const asc = await list({ ...inLists(), sortingColumn: column });
        assert.deepEqual(who(asc), ascending);
        assert.equal(asc.body.sortingColumn, column === "USER_FIELD_NAME_UNSPECIFIED" ? undefined : column, "the column is echoed");
        const desc = await list({ ...inLists(), query: { asc: false }, sortingColumn: column });
        assert.deepEqual(who(desc), [...ascending].reverse());
      });
    }

    test("without query (no asc) the order is descending", async () => {
      assert.deepEqual(who(await list({ queries: [{ organizationIdQuery: { organizationId: lists } }] })), [...ALL].reverse());
    });

    test("type, across users of both types: humans first, then the machine", async () => {
      const admin = (await list({ queries: [{ typeQuery: { type: "TYPE_MACHINE" } }] })).body.result[0].userId;
      const res = await list({ query: { asc: true }, sortingColumn: "USER_FIELD_NAME_TYPE", queries: [{ inUserIdsQuery: { userIds: [admin, ID(9), ID(1)] } }] });
      assert.deepEqual(who(res), [1, 9, "admin"]);
    });
  });

  describe("paging", () => {
    const inBulk = (query: Record<string, unknown>) => ({ query: { asc: true, ...query }, queries: [{ organizationIdQuery: { organizationId: bulk } }] });
    const usernames = (res: RestResponse): string[] => who(res) as string[];
    const bulkNames = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `bulk-${String(from + i).padStart(3, "0")}`);

    test("limit 0 (or absent) → 100; total_result counts every match", async () => {
      for (const query of [{}, { limit: 0 }]) {
        const res = await list(inBulk(query));
        assert.deepEqual(usernames(res), bulkNames(0, 100));
        assert.equal(res.body.details.totalResult, "105");
      }
    });

    test("limit up to 1000 is honoured", async () => {
      const res = await list(inBulk({ limit: 1000 }));
      assert.deepEqual(usernames(res), bulkNames(0, 105));
      const two = await list(inBulk({ limit: 2 }));
      assert.deepEqual(usernames(two), bulkNames(0, 2));
      assert.equal(two.body.details.totalResult, "105");
    });

    test("offset skips; past the end the page is empty and the total stays", async () => {
      const mid = await list(inBulk({ offset: "100", limit: 10 }));
      assert.deepEqual(usernames(mid), bulkNames(100, 105));
      assert.equal(mid.body.details.totalResult, "105");
      const past = await list(inBulk({ offset: 200, limit: 10 }));
      assert.deepEqual(usernames(past), []);
      assert.equal(past.body.details.totalResult, "105");
      const huge = await list(inBulk({ offset: "18446744073709551615" }));
      assert.deepEqual(usernames(huge), []);
      assert.equal(huge.body.details.totalResult, "105");
    });

    test("pages put together are the whole list, descending too", async () => {
      const seen: string[] = [];
      for (let offset = 0; offset < 105; offset += 25) seen.push(...usernames(await list(inBulk({ offset, limit: 25, asc: false }))));
      assert.deepEqual(seen, bulkNames(0, 105).reverse());
    });

    test("limit above 1000 → INVALID_ARGUMENT QUERY-4M0fs, before the queries are looked at", async () => {
      assertError(await list(inBulk({ limit: 1001 })), 400, GRPC.INVALID_ARGUMENT, "QUERY-4M0fs", "Limit exceeded");
      assertError(await list({ query: { limit: 4294967295 }, queries: [{ notQuery: {} }] }), 400, GRPC.INVALID_ARGUMENT, "QUERY-4M0fs", "Limit exceeded");
    });
  });

  describe("response", () => {
    test("details: total, the position of the newest event, the time of the query; no ETag", async () => {
      const before = Date.now();
      const res = await list(inLists({ userNameQuery: { userName: "amy" } }));
      const after = Date.now();
      assertOk(res);
      const { rows } = await sql<{ p: string }>`SELECT max(position)::text AS p FROM events`.execute(inspector.db);
      assert.equal(res.body.details.processedSequence, rows[0]!.p);
      assert.equal(res.body.details.totalResult, "1");
      const at = Date.parse(res.body.details.timestamp);
      assert.ok(at >= before - 1 && at <= after + 1, res.body.details.timestamp);
      assert.equal(res.headers.get("etag"), null);
    });

    test("each user is the one GetUserByID shows, with creation date", async () => {
      const res = await list(inLists({ inUserIdsQuery: { userIds: [ID(2)] } }));
      const single = await rest(roster, "GET", `/v2/users/${ID(2)}`, { token: world.ian.token });
      assertOk(single);
      assert.deepEqual(res.body.result, [single.body.user]);
      assert.ok(res.body.result[0].details.creationDate);
      assert.equal(res.body.result[0].human.phone.phone, "+41795550002");
    });

    test("an empty result has no users and no total", async () => {
      const res = await list(inLists({ userNameQuery: { userName: "nobody" } }));
      assertOk(res);
      assert.equal(res.body.result, undefined);
      assert.equal(res.body.details.totalResult, undefined); // 0, omitted like every default value
    });
  });

  describe("field rules", () => {
    test("a query without its oneof", async () => {
      assertFieldViolation(await list({ queries: [{}] }), /^invalid ListUsersRequest\.Queries\[0\]: .*SearchQuery\.Query: value is required/);
    });
    test("an empty user name", async () => {
      assertFieldViolation(await list({ queries: [{ userNameQuery: { userName: "" } }] }), /UserName: value length must be between 1 and 200 runes/);
    });
    test("an undefined state, and an undefined method", async () => {
      assertFieldViolation(await list({ queries: [{ stateQuery: { state: 99 } }] }), /State: value must be one of the defined enum values/);
      assertFieldViolation(await list({ queries: [{ emailQuery: { emailAddress: "a", method: 8 } }] }), /Method: value must be one of the defined enum values/);
    });
    test("queries inside or, and and not are checked by the same rules, at any depth", async () => {
      const tooLong = { phoneQuery: { number: "1".repeat(21) } };
      assertFieldViolation(
        await list({ queries: [{ orQuery: { queries: [{ andQuery: { queries: [tooLong] } }] } }] }),
        new RegExp(
          "^invalid ListUsersRequest\\.Queries\\[0\\]: embedded message failed validation \\| caused by: " +
            "invalid SearchQuery\\.OrQuery: embedded message failed validation \\| caused by: " +
            "invalid OrQuery\\.Queries\\[0\\]: embedded message failed validation \\| caused by: " +
            "invalid SearchQuery\\.AndQuery: embedded message failed validation \\| caused by: " +
            "invalid AndQuery\\.Queries\\[0\\]: embedded message failed validation \\| caused by: " +
            "invalid SearchQuery\\.PhoneQuery: embedded message failed validation \\| caused by: " +
            "invalid PhoneQuery\\.Number: value length must be at most 20 runes$",
        ),
      );
      assertFieldViolation(await list({ queries: [{ notQuery: { query: {} } }] }), /invalid NotQuery\.Query: embedded message failed validation \| caused by: invalid SearchQuery\.Query: value is required$/);
      assertFieldViolation(await list({ queries: [{ notQuery: { query: { stateQuery: { state: 99 } } } }] }), /StateQuery\.State: value must be one of the defined enum values$/);
      // the first violation in checking order wins: a nested one in queries[0] before a plain one in queries[1]
      assertFieldViolation(await list({ queries: [{ orQuery: { queries: [tooLong] } }, { userNameQuery: { userName: "" } }] }), /PhoneQuery\.Number/);
      assertFieldViolation(await list({ queries: [{ userNameQuery: { userName: "" } }, { orQuery: { queries: [tooLong] } }] }), /UserNameQuery\.UserName/);
    });
  });

  describe("visibility", () => {
    const acmeAndSelf = () => [world.olga.username, world.ada.username, world.bob.username].sort();
    const names = (res: RestResponse) => (who(res) as string[]).sort();

    test("the IAM_OWNER sees every live user of every organization", async () => {
      const res = await list({ query: { limit: 1000 } });
      const { rows } = await sql<{ n: string }>`SELECT count(*)::text AS n FROM users WHERE state <> 'deleted'`.execute(inspector.db);
      assert.equal(res.body.details.totalResult, rows[0]!.n);
      assert.equal(res.body.result.length, Number(rows[0]!.n));
      const all = who(res);
      for (const u of [world.ada, world.bob, world.olga, world.gus, world.nora]) assert.ok(all.includes(u.username), u.username);
      assert.ok(all.includes("admin"));
      for (const n of ALL) assert.ok(all.includes(n), String(n));
    });

    test("an ORG_USER_MANAGER sees the users of its organization", async () => {
      assert.deepEqual(names(await list({}, world.olga.token)), acmeAndSelf());
      assert.deepEqual(who(await list(inLists(), world.olga.token)), []);
    });

    test("an ORG_OWNER sees the users of its organization", async () => {
      assert.deepEqual(names(await list({}, world.gus.token)), [world.gus.username, world.nora.username].sort());
    });

    test("a user without roles sees itself only, whatever it asks for", async () => {
      const res = await list({}, world.ada.token);
      assert.deepEqual(who(res), [world.ada.username]);
      assert.equal(res.body.details.totalResult, "1");
      assert.deepEqual(who(await list({ queries: [{ organizationIdQuery: { organizationId: world.acme } }] }, world.nora.token)), []);
      assert.deepEqual(who(await list({ queries: [{ inUserIdsQuery: { userIds: [world.bob.id, world.ada.id] } }] }, world.ada.token)), [world.ada.username]);
    });

    test("a membership on another organization shows that organization's users and the caller itself", async () => {
      const w = await createWorld(roster);
      await inspector.store.transaction((tx) => tx.addMembership({ userId: w.nora.id, scope: w.acme, roles: ["ORG_USER_MANAGER"] }));
      assert.deepEqual(names(await list({}, w.nora.token)), [w.nora.username, w.olga.username, w.ada.username, w.bob.username].sort());
    });

    test("a deleted user never appears, not for the IAM_OWNER, not by id, not by state", async () => {
      const w = await createWorld(roster);
      await setState(w.bob.id, "deleted");
      const everyone = await list({ query: { limit: 1000 } });
      assert.ok(!who(everyone).includes(w.bob.username));
      assert.deepEqual(who(await list({ queries: [{ inUserIdsQuery: { userIds: [w.bob.id, w.ada.id] } }] })), [w.ada.username]);
      assert.deepEqual(who(await list({ queries: [{ stateQuery: { state: "USER_STATE_DELETED" } }] })), []);
      assert.deepEqual(names(await list({}, w.olga.token)), [w.olga.username, w.ada.username].sort());
      const counted = await list({ queries: [{ organizationIdQuery: { organizationId: w.acme } }] });
      assert.equal(counted.body.details.totalResult, "2");
    });
  });

  describe("other protocols", () => {
    test("gRPC with ZITADEL's descriptors (grpc-js): a query, its details and a limit error", async () => {
      const grpc = grpcJsClient(roster.port);
      const ok = await grpc.call(
        "ListUsers",
        {
          query: { limit: 2, asc: true },
          sortingColumn: 1, // USER_FIELD_NAME_USER_NAME
          queries: [{ query: { case: "organizationIdQuery", value: { organizationId: lists } } }],
        },
        { token: world.ian.token },
      );
      assert.equal(ok.code, 0, ok.message);
      assert.equal(ok.etag, null);
      const json = ok.json as { details: { totalResult: string }; sortingColumn: string; result: { userId: string }[] };
      assert.deepEqual(json.result.map((u) => byId.get(u.userId)), [3, 4]);
      assert.equal(json.details.totalResult, "9");
      assert.equal(json.sortingColumn, "USER_FIELD_NAME_USER_NAME");
      const tooMany = await grpc.call("ListUsers", { query: { limit: 1001 } }, { token: world.ian.token });
      assert.equal(tooMany.code, GRPC.INVALID_ARGUMENT);
      assert.deepEqual(tooMany.details, [{ id: "QUERY-4M0fs", message: "Limit exceeded" }]);
      assert.equal(tooMany.message, "Limit exceeded (QUERY-4M0fs)");
    });

    test("@zitadel/client over gRPC: nested queries", async () => {
      const client = zitadelGrpc(roster.baseUrl);
      const res = await client.call(
        "ListUsers",
        {
          query: { asc: true },
          queries: [
            { query: { case: "organizationIdQuery", value: { organizationId: lists } } },
            { query: { case: "notQuery", value: { query: { query: { case: "orQuery", value: { queries: [{ query: { case: "stateQuery", value: { state: 1 } } }] } } } } } },
          ],
        },
        { token: world.ian.token },
      );
      assert.equal(res.code, 0, res.message);
      assert.deepEqual((res.json as { result: { userId: string }[] }).result.map((u) => byId.get(u.userId)), [4, 6]);
      const denied = await client.call("ListUsers", { queries: [{ query: { case: "notQuery", value: {} } }] }, { token: world.ian.token });
      assert.deepEqual([denied.code, denied.details], [GRPC.INVALID_ARGUMENT, [{ id: "ROSTER-qry01", message: "Request is invalid" }]]);
    });

    test("every protocol gives the same answer", async () => {
      const request = {
        query: { limit: 2, asc: false },
        sortingColumn: 2, // USER_FIELD_NAME_FIRST_NAME
        queries: [
          { query: { case: "organizationIdQuery", value: { organizationId: lists } } },
          { query: { case: "userNameQuery", value: { userName: "e", method: 4 } } }, // CONTAINS
        ],
      };
      for (const p of allProtocols(roster.port, roster.baseUrl)) {
        const res = await p.call("ListUsers", request, { token: world.ian.token });
        assert.equal(res.code, 0, `${p.name}: ${show(res)}`);
        const json = res.json as { details: { totalResult: string }; sortingColumn: string; result: { userId: string }[] };
        // "e" is in Bea, émile and zeta (not in zoë: ë is another character); first names Émile > bea > Same
        assert.deepEqual(json.result.map((u) => byId.get(u.userId)), [6, 2], p.name);
        assert.equal(json.details.totalResult, "3", p.name);
        assert.equal(json.sortingColumn, "USER_FIELD_NAME_FIRST_NAME", p.name);
        assert.equal(res.etag, null, p.name);
      }
    });

    test("Connect JSON: a caller without roles sees itself", async () => {
      const res = await connectJsonH1(roster.baseUrl).call("ListUsers", {}, { token: world.bob.token });
      assert.equal(res.code, 0, res.message);
      const json = res.json as { details: { totalResult: string }; result: { userId: string }[] };
      assert.deepEqual(json.result.map((u) => u.userId), [world.bob.id]);
      assert.equal(json.details.totalResult, "1");
    });
  });
});
