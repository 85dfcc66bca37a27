/**
 * SQL statements per request, counted through the pool's statement hook: on a warm principal
 * cache an UpdateHumanUser costs at most 3 statements (a read and one conditional write) and a
 * GetUserByID or a ListUsers page exactly one, over gRPC and REST alike; a conflicting writer still loses nothing.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { grpcJsClient, type ProtocolClient } from "./support/clients.js";
import { rest } from "./support/fixtures.js";
import { openInspector } from "./support/inspect.js";
import { startTestRoster, type TestRoster } from "./support/roster.js";

/** Statements of other parts of Roster that run on their own schedule (delivery, change feed, readiness). */
const BACKGROUND = /\bnotifications\b|\bLISTEN\b|^SELECT 1$/i;

describe("statements per request", () => {
  let roster: TestRoster;
  let grpc: ProtocolClient;
  let counting = false;
  let seen: string[] = [];

  before(async () => {
    roster = await startTestRoster({}, {
      onStatement: (sql) => {
        if (counting && !BACKGROUND.test(sql)) seen.push(sql);
      },
    });
    grpc = grpcJsClient(roster.port);
  });
  after(async () => {
    await roster?.close();
  });

  /** The statements `fn` made Roster send. */
  const count = async (fn: () => Promise<void>): Promise<string[]> => {
    seen = [];
    counting = true;
    try {
      await fn();
    } finally {
      counting = false;
    }
    return seen;
  };

  const sequenceOf = async (userId: string): Promise<number> =>
    Number((await rest(roster, "GET", `/v2/users/${userId}`, { token: roster.adminToken })).body.details.sequence);

  /** Authentication lookups (cache misses: the first use, and once a second at most after it). */
  const isPrincipalLookup = (sql: string): boolean => /\bFROM tokens\b|\bjson_agg\b/.test(sql);

  const newUser = async (): Promise<string> => {
    const u = `stmt-${Math.random().toString(36).slice(2, 10)}`;
    const res = await rest(roster, "POST", "/v2/users/human", {
      token: roster.adminToken,
      body: { username: u, profile: { givenName: "Count", familyName: "Me" }, email: { email: `${u}@example.com`, isVerified: true } },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.userId as string;
  };

  const N = 10;

  test(`UpdateHumanUser: at most 3 statements each on a warm cache (${N} profile changes, gRPC and REST)`, async () => {
    const userId = await newUser();
    const start = await sequenceOf(userId); // also warms the cache
    const statements = await count(async () => {
      for (let i = 0; i < N; i++) {
        const viaGrpc = await grpc.call(
          "UpdateHumanUser",
          { userId, profile: { givenName: `G${i}`, familyName: "Me" } },
          { token: roster.adminToken },
        );
        assert.equal(viaGrpc.code, 0, viaGrpc.message);
        const viaRest = await rest(roster, "PUT", `/v2/users/human/${userId}`, {
          token: roster.adminToken,
          body: { profile: { givenName: `R${i}`, familyName: "Me" } },
        });
        assert.equal(viaRest.status, 200, JSON.stringify(viaRest.body));
      }
    });
    const lookups = statements.filter(isPrincipalLookup).length;
    assert.ok(lookups < 2 * N, "the cache answers most requests");
    const own = statements.length - lookups;
    assert.ok(own <= 3 * 2 * N, `${own} statements for ${2 * N} updates:\n${statements.join("\n")}`);
    assert.equal(statements.filter((s) => /^\s*(begin|start transaction)/i.test(s)).length, 0, "no transaction for a profile change");
    const user = await rest(roster, "GET", `/v2/users/${userId}`, { token: roster.adminToken });
    assert.equal(user.body.user.human.profile.givenName, `R${N - 1}`);
    assert.equal(Number(user.body.details.sequence), start + 2 * N);
  });

  test(`GetUserByID: exactly one statement each on a warm cache (${N} reads, gRPC and REST)`, async () => {
    const userId = await newUser();
    await grpc.call("GetUserByID", { userId }, { token: roster.adminToken });
    const statements = await count(async () => {
      for (let i = 0; i < N; i++) {
        const viaGrpc = await grpc.call("GetUserByID", { userId }, { token: roster.adminToken });
        assert.equal(viaGrpc.code, 0, viaGrpc.message);
        const viaRest = await rest(roster, "GET", `/v2/users/${userId}`, { token: roster.adminToken });
        assert.equal(viaRest.status, 200);
      }
    });
    const lookups = statements.filter(isPrincipalLookup).length;
    assert.ok(lookups < 2 * N, "the cache answers most requests");
    assert.equal(statements.length - lookups, 2 * N, statements.join("\n"));
  });

  test(`ListUsers: exactly one statement each on a warm cache (${N} pages over gRPC)`, async () => {
    await newUser();
    await grpc.call("ListUsers", {}, { token: roster.adminToken });
    const statements = await count(async () => {
      for (let i = 0; i < N; i++) {
        const page = await grpc.call("ListUsers", { query: { limit: 2 } }, { token: roster.adminToken });
        assert.equal(page.code, 0, page.message);
      }
    });
    const lookups = statements.filter(isPrincipalLookup).length;
    assert.equal(statements.length - lookups, N, statements.join("\n"));
  });

  test("a cold cache costs one statement for authentication", async () => {
    const userId = await newUser();
    const jwt = await roster.tokenFor(userId);
    const statements = await count(async () => {
      const res = await rest(roster, "GET", `/v2/users/${userId}`, { token: jwt });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    });
    assert.equal(statements.length, 2, statements.join("\n"));
    assert.equal(statements.filter(isPrincipalLookup).length, 1);
  });

  test("a change written beside Roster without moving the sequence is seen by the next command", async () => {
    const userId = await newUser();
    const updated = await rest(roster, "PUT", `/v2/users/human/${userId}`, { token: roster.adminToken, body: { profile: { givenName: "Once", familyName: "Me" } } });
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    const inspector = await openInspector(roster.databaseUrl);
    try {
      await inspector.db.updateTable("users").set({ state: "initial" }).where("id", "=", userId).execute();
    } finally {
      await inspector.close();
    }
    const res = await rest(roster, "POST", `/v2/users/${userId}/deactivate`, { token: roster.adminToken, body: {} });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.match(JSON.stringify(res.body), /COMMAND-gvx4kct9r2/);
  });

  test("concurrent updates of one hot user in one process: every one applied, sequence without gap, still at most 3 statements each", async () => {
    const userId = await newUser();
    const start = await sequenceOf(userId);
    let results: Awaited<ReturnType<ProtocolClient["call"]>>[] = [];
    const statements = await count(async () => {
      results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          grpc.call("UpdateHumanUser", { userId, profile: { givenName: "Same", familyName: "Me", nickName: `n${i}` } }, { token: roster.adminToken }),
        ),
      );
    });
    const own = statements.filter((s) => !isPrincipalLookup(s)).length;
    assert.ok(own <= 3 * 20, `${own} statements for 20 updates:\n${statements.join("\n")}`);
    assert.deepEqual(results.map((r) => r.code), Array(20).fill(0));
    const sequences = results.map((r) => Number((r.json as { details: { sequence: string } }).details.sequence)).sort((a, b) => a - b);
    assert.deepEqual(sequences, Array.from({ length: 20 }, (_, i) => start + 1 + i));
    assert.equal(await sequenceOf(userId), start + 20);
  });
});
