/**
 * The permission matrix of UpdateHumanUser and GetUserByID on Ada (auth.md §5–6, decisions 1,
 * 2, 3 and 8), for every kind of caller, through REST and through gRPC with ZITADEL's
 * descriptors. Refusals must write nothing.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { grpcJsClient, restClient, show, type Outcome, type ProtocolClient } from "./support/clients.js";
import { ADA_PASSWORD, createWorld, type World } from "./support/fixtures.js";
import { openInspector, type Inspector } from "./support/inspect.js";
import { waitFor } from "./support/process.js";
import { startTestRoster, type TestRoster } from "./support/roster.js";

const NEW_PASSWORD = "Engine-Difference-2";
const NEW_EMAIL = "ada@king.example";

type Refusal = { code: number; id: string; message: string };
const DENIED: Refusal = { code: 7, id: "AUTHZ-HKJD33", message: "No matching permissions found" };
const NOT_FOUND: Refusal = { code: 5, id: "COMMAND-ugjs0upun6", message: "User could not be found" };
const NO_HEADER: Refusal = { code: 16, id: "", message: "auth header missing" };
const TOKEN_INVALID: Refusal = { code: 16, id: "ROSTER-tok01", message: "Token is invalid" };

type Op = "profile" | "empty" | "verifiedEmail" | "returnCode" | "passwordWithoutProof" | "passwordWithCurrent";
const OPS: Op[] = ["profile", "empty", "verifiedEmail", "returnCode", "passwordWithoutProof", "passwordWithCurrent"];

function requestOf(op: Op, userId: string): Record<string, unknown> {
  switch (op) {
    case "profile":
      return { userId, profile: { givenName: "Augusta Ada", familyName: "King" } };
    case "empty":
      return { userId };
    case "verifiedEmail":
      return { userId, email: { email: NEW_EMAIL, verification: { case: "isVerified", value: true } } };
    case "returnCode":
      return { userId, email: { email: NEW_EMAIL, verification: { case: "returnCode", value: {} } } };
    case "passwordWithoutProof":
      return { userId, password: { passwordType: { case: "password", value: { password: NEW_PASSWORD } } } };
    case "passwordWithCurrent":
      return {
        userId,
        password: {
          passwordType: { case: "password", value: { password: NEW_PASSWORD } },
          verification: { case: "currentPassword", value: ADA_PASSWORD },
        },
      };
  }
}

interface Caller {
  name: string;
  token(w: World, roster: TestRoster): Promise<string | undefined>;
  /** The expected answer per operation: "ok" or a refusal. */
  expect: Record<Op, "ok" | Refusal>;
  getUser: "ok" | Refusal;
}

const ALL_OK: Record<Op, "ok"> = {
  profile: "ok",
  empty: "ok",
  verifiedEmail: "ok",
  returnCode: "ok",
  passwordWithoutProof: "ok",
  passwordWithCurrent: "ok",
};

/** A caller without any permission on Acme (decision 3: the empty update says "not found"). */
const STRANGER: Record<Op, Refusal> = {
  profile: DENIED,
  empty: NOT_FOUND,
  verifiedEmail: DENIED,
  returnCode: DENIED,
  passwordWithoutProof: DENIED,
  passwordWithCurrent: DENIED,
};

const refusedAll = (r: Refusal): Record<Op, Refusal> =>
  Object.fromEntries(OPS.map((op) => [op, r])) as Record<Op, Refusal>;

const CALLERS: Caller[] = [
  { name: "Ian (IAM_OWNER)", token: async (w) => w.ian.token, expect: ALL_OK, getUser: "ok" },
  { name: "Olga (ORG_USER_MANAGER of Acme)", token: async (w) => w.olga.token, expect: ALL_OK, getUser: "ok" },
  { name: "Gus (ORG_OWNER of Globex)", token: async (w) => w.gus.token, expect: STRANGER, getUser: DENIED },
  {
    name: "Ada herself",
    token: async (w) => w.ada.token,
    expect: {
      profile: "ok",
      empty: "ok",
      verifiedEmail: DENIED, // decision 2
      returnCode: DENIED, // decision 8
      passwordWithoutProof: DENIED, // decision 1
      passwordWithCurrent: "ok",
    },
    getUser: "ok",
  },
  { name: "Bob (no roles, Acme)", token: async (w) => w.bob.token, expect: STRANGER, getUser: DENIED },
  { name: "Nora (no roles, Globex)", token: async (w) => w.nora.token, expect: STRANGER, getUser: DENIED },
  { name: "no token", token: async () => undefined, expect: refusedAll(NO_HEADER), getUser: NO_HEADER },
  { name: "a random string as token", token: async () => "Zm9vYmFyYmF6cXV4", expect: refusedAll(TOKEN_INVALID), getUser: TOKEN_INVALID },
  {
    name: "a JWT signed by an unknown key",
    token: (w, r) => r.foreignTokenFor(w.ada.id),
    expect: refusedAll(TOKEN_INVALID),
    getUser: TOKEN_INVALID,
  },
  {
    name: "an expired JWT of Ada",
    token: (w, r) => r.tokenFor(w.ada.id, { expiresIn: "2 hours ago" }),
    expect: refusedAll(TOKEN_INVALID),
    getUser: TOKEN_INVALID,
  },
];

let roster: TestRoster;
let inspector: Inspector;
/** Refusals and no-ops write nothing, so they share one world; every write gets a fresh one. */
let shared: World;

before(async () => {
  roster = await startTestRoster();
  inspector = await openInspector(roster.databaseUrl);
  shared = await createWorld(roster);
});

after(async () => {
  await inspector?.close();
  await roster?.close();
});

async function stored(userId: string) {
  const user = await inspector.user(userId);
  assert.ok(user);
  return user;
}

function assertRefused(o: Outcome, r: Refusal, what: string): void {
  assert.equal(o.code, r.code, `${what}: ${show(o)}`);
  if (r.id === "") {
    assert.equal(o.message, r.message, what);
    assert.deepEqual(o.details, [], what);
  } else {
    assert.equal(o.message, `${r.message} (${r.id})`, what);
    assert.deepEqual(o.details, [{ id: r.id, message: r.message }], what);
  }
}

/** What a successful operation must have changed (or not). */
async function assertApplied(op: Op, w: World, o: Outcome, before: Awaited<ReturnType<typeof stored>>, what: string) {
  const after = await stored(w.ada.id);
  const sequence = Number((o.json?.details as { sequence: string }).sequence);
  assert.equal(sequence, after.sequence, `${what}: details.sequence is the current one`);
  switch (op) {
    case "profile":
      assert.equal(after.givenName, "Augusta Ada", what);
      assert.equal(after.familyName, "King", what);
      break;
    case "empty":
      assert.equal(after.sequence, before.sequence, `${what}: nothing written`);
      assert.equal(o.json?.emailCode, undefined);
      break;
    case "verifiedEmail":
      assert.equal(after.email, NEW_EMAIL, what);
      assert.equal(after.emailVerified, true, what);
      assert.equal(o.json?.emailCode, undefined, what);
      break;
    case "returnCode":
      assert.equal(after.email, NEW_EMAIL, what);
      assert.equal(after.emailVerified, false, what);
      assert.match(String(o.json?.emailCode), /^[A-Z0-9]{6}$/, what);
      break;
    case "passwordWithoutProof":
    case "passwordWithCurrent":
      assert.notEqual(after.passwordHash, before.passwordHash, `${what}: password replaced`);
      assert.ok(after.sequence > before.sequence, what);
      break;
  }
}

for (const [protocolName, makeClient] of [
  ["REST", (r: TestRoster) => restClient(r.baseUrl)],
  ["gRPC (grpc-js, @zitadel/proto)", (r: TestRoster) => grpcJsClient(r.port)],
] as Array<[string, (r: TestRoster) => ProtocolClient]>) {
  describe(`UpdateHumanUser on Ada over ${protocolName}`, () => {
    for (const caller of CALLERS) {
      test(caller.name, async () => {
        const client = makeClient(roster);
        for (const op of OPS) {
          const expected = caller.expect[op];
          const writes = expected === "ok" && op !== "empty";
          const w = writes ? await createWorld(roster) : shared;
          const token = await caller.token(w, roster);
          const before = await stored(w.ada.id);
          const eventsBefore = (await inspector.events(w.ada.id)).length;
          const o = await client.call("UpdateHumanUser", requestOf(op, w.ada.id), { token });
          const what = `${caller.name} / ${op}`;
          if (expected === "ok") {
            assert.equal(o.code, 0, `${what}: ${show(o)}`);
            await assertApplied(op, w, o, before, what);
          } else {
            assertRefused(o, expected, what);
            assert.deepEqual(await stored(w.ada.id), before, `${what}: nothing written`);
            assert.equal((await inspector.events(w.ada.id)).length, eventsBefore, `${what}: no event`);
          }
        }
      });
    }
  });

  describe(`GetUserByID of Ada over ${protocolName}`, () => {
    test("every caller", async () => {
      const client = makeClient(roster);
      for (const caller of CALLERS) {
        const token = await caller.token(shared, roster);
        const o = await client.call("GetUserByID", { userId: shared.ada.id }, { token });
        if (caller.getUser === "ok") {
          assert.equal(o.code, 0, `${caller.name}: ${show(o)}`);
          assert.equal((o.json?.user as { userId: string }).userId, shared.ada.id);
        } else {
          assertRefused(o, caller.getUser, caller.name);
        }
      }
    });
  });
}

describe("not found before permission (errors.md §5)", () => {
  test("a stranger learns that an unknown user does not exist; the empty update looks the same", async () => {
    const client = restClient(roster.baseUrl);
    const unknown = "399999999999999999";
    const get = await client.call("GetUserByID", { userId: unknown }, { token: shared.gus.token });
    assertRefused(get, { code: 5, id: "QUERY-Dfbg2", message: "User could not be found" }, "GetUserByID unknown");
    const upd = await client.call("UpdateHumanUser", requestOf("profile", unknown), { token: shared.gus.token });
    assertRefused(upd, NOT_FOUND, "UpdateHumanUser unknown");
    const emptyUnknown = await client.call("UpdateHumanUser", requestOf("empty", unknown), { token: shared.ada.token });
    const emptyForeign = await client.call("UpdateHumanUser", requestOf("empty", shared.ada.id), { token: shared.gus.token });
    assertRefused(emptyUnknown, NOT_FOUND, "empty update, unknown user");
    assert.deepEqual(emptyForeign.raw, emptyUnknown.raw, "decision 3: indistinguishable from a missing user");
  });

  test("the expired token of the matrix is a well-formed JWT whose exp lies in the past", async () => {
    const token = await roster.tokenFor(shared.ada.id, { expiresIn: "2 hours ago" });
    const payload = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()) as { exp: number; sub: string };
    assert.equal(payload.sub, shared.ada.id);
    assert.ok(payload.exp < Date.now() / 1000 - 3600, `exp ${payload.exp}`);
  });
});

describe("the caller's own state", () => {
  test("a locked, inactive or deleted caller is UNAUTHENTICATED ROSTER-tok01, even with roles", async () => {
    const w = await createWorld(roster);
    const client = restClient(roster.baseUrl);
    const request = requestOf("profile", w.ada.id);
    // Olga's token works while she is active: the refusals below come from her state alone.
    const control = await client.call("GetUserByID", { userId: w.ada.id }, { token: w.olga.token });
    assert.equal(control.code, 0, show(control));
    for (const state of ["locked", "inactive", "deleted"] as const) {
      const olga = await stored(w.olga.id);
      await inspector.store.transaction((tx) => tx.updateUser({ ...olga, state }));
      // written by another process (this test's own connection): Roster may have Olga's principal
      // cached and drops it on the change notification, within a second (a TTL backs it up)
      await waitFor(
        async () => (await client.call("GetUserByID", { userId: w.ada.id }, { token: w.olga.token })).code === TOKEN_INVALID.code,
        `Olga ${state} refused`,
        10_000,
      );
      const before = await stored(w.ada.id);
      const o = await client.call("UpdateHumanUser", request, { token: w.olga.token });
      assertRefused(o, TOKEN_INVALID, `Olga ${state}`);
      const g = await grpcJsClient(roster.port).call("GetUserByID", { userId: w.ada.id }, { token: w.olga.token });
      assertRefused(g, TOKEN_INVALID, `Olga ${state} (gRPC)`);
      assert.deepEqual(await stored(w.ada.id), before, `Olga ${state}: nothing written`);
    }
  });
});
