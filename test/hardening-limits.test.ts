/**
 * Bounds and first-start integrity (issue items 2, 6, 11 and 12), through a real Roster:
 * the cost of imported bcrypt hashes, the number and size of metadata entries, the reserved
 * organization id `instance`, and a first start whose admin token cannot be written.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { startRoster } from "../src/app.js";
import { loadConfig } from "../src/config/load-config.js";
import { createTestDatabase } from "./support/database.js";
import { newHuman, rest, uniq } from "./support/fixtures.js";
import { openInspector, type Inspector } from "./support/inspect.js";
import { startTestRoster, type TestRoster } from "./support/roster.js";

const SALT_AND_HASH = "abcdefghijklmnopqrstuv" + "wxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0";
/** A well-formed bcrypt hash of the given cost (comparing against it costs 2^cost rounds). */
const bcryptOfCost = (cost: number) => `$2b$${String(cost).padStart(2, "0")}$${SALT_AND_HASH}`;

let roster: TestRoster;
let inspector: Inspector;

before(async () => {
  roster = await startTestRoster();
  inspector = await openInspector(roster.databaseUrl);
});
after(async () => {
  await inspector?.close();
  await roster?.close();
});

const detailId = (body: { details?: { id?: string }[] }) => body?.details?.[0]?.id;

describe("imported bcrypt hashes have a bounded cost (ROSTER_BCRYPT_MAX_IMPORT_COST, default 14)", () => {
  test("AddHumanUser: cost 14 is accepted, cost 15 and 31 are INVALID_ARGUMENT ROSTER-pwc01 and create nothing", async () => {
    const ok = await rest(roster, "POST", "/v2/users/human", {
      token: roster.adminToken,
      body: newHuman({ hashedPassword: { hash: bcryptOfCost(14) } }),
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    for (const cost of [15, 31]) {
      const username = `costly-${cost}-${uniq()}`;
      const res = await rest(roster, "POST", "/v2/users/human", {
        token: roster.adminToken,
        body: newHuman({ username, hashedPassword: { hash: bcryptOfCost(cost) } }),
      });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.code, 3);
      assert.equal(detailId(res.body), "ROSTER-pwc01");
      assert.equal(res.body.message, "Password hash cost is too high (bcrypt cost at most 14 can be imported) (ROSTER-pwc01)");
      assert.equal(await inspector.store.read.usernameTaken(username), false, "no user was created");
    }
  });

  test("UpdateHumanUser: a user cannot set their own password to a cost-30 hash", async () => {
    const password = "Own-Passw0rd!";
    const created = await rest(roster, "POST", "/v2/users/human", {
      token: roster.adminToken,
      body: newHuman({ password: { password } }),
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const userId: string = created.body.userId;
    const before = (await inspector.user(userId))?.passwordHash;
    const res = await rest(roster, "PUT", `/v2/users/human/${userId}`, {
      token: await roster.tokenFor(userId),
      body: { password: { hashedPassword: { hash: bcryptOfCost(30) }, currentPassword: password } },
    });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(detailId(res.body), "ROSTER-pwc01");
    assert.equal((await inspector.user(userId))?.passwordHash, before, "the stored hash is unchanged");
  });

  test("a stored hash above the bound (imported before it existed) is not computed: current_password is refused as wrong", async () => {
    const created = await rest(roster, "POST", "/v2/users/human", {
      token: roster.adminToken,
      body: newHuman({ hashedPassword: { hash: bcryptOfCost(10) } }),
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const userId: string = created.body.userId;
    await inspector.db.updateTable("users").set({ password_hash: bcryptOfCost(30) }).where("id", "=", userId).execute();
    // verified at cost 30 this would take about a day; the test's timeout would end it first
    for (let i = 0; i < 3; i++) {
      const res = await rest(roster, "POST", `/v2/users/${userId}/password`, {
        token: await roster.tokenFor(userId),
        body: { newPassword: { password: "Replaced-Passw0rd!" }, currentPassword: "any-Passw0rd!" },
      });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(detailId(res.body), "COMMAND-3M0fs");
    }
    // an administrator can still replace it (user.write stands in for the current password)
    const reset = await rest(roster, "POST", `/v2/users/${userId}/password`, {
      token: roster.adminToken,
      body: { newPassword: { password: "Replaced-Passw0rd!" } },
    });
    assert.equal(reset.status, 200, JSON.stringify(reset.body));
  });
});

describe("metadata of AddHumanUser is bounded and written in batches", () => {
  const entries = (n: number, valueBytes = 8) =>
    Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: Buffer.alloc(valueBytes, i % 251).toString("base64") }));

  test("100 entries are stored, one event each", async () => {
    const res = await rest(roster, "POST", "/v2/users/human", { token: roster.adminToken, body: newHuman({ metadata: entries(100) }) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const stored = await inspector.store.read.getMetadata(res.body.userId);
    assert.equal(stored.length, 100);
    const events = await inspector.events(res.body.userId);
    assert.equal(events.filter((e) => e.type === "user.metadata.set").length, 100);
  });

  for (const n of [101, 8190]) {
    test(`${n} entries → INVALID_ARGUMENT naming Metadata (not 500), nothing created`, async () => {
      const username = `meta-${n}-${uniq()}`;
      const res = await rest(roster, "POST", "/v2/users/human", {
        token: roster.adminToken,
        body: newHuman({ username, metadata: entries(n) }),
      });
      assert.equal(res.status, 400, JSON.stringify(res.body).slice(0, 300));
      assert.equal(res.body.code, 3);
      assert.equal(res.body.message, "invalid AddHumanUserRequest.Metadata: value must contain no more than 100 item(s)");
      assert.equal(await inspector.store.read.usernameTaken(username), false);
    });
  }

  test("values above 500,000 bytes in total → INVALID_ARGUMENT naming Metadata", async () => {
    const username = `meta-big-${uniq()}`;
    const res = await rest(roster, "POST", "/v2/users/human", {
      token: roster.adminToken,
      body: newHuman({ username, metadata: entries(3, 200_000) }),
    });
    assert.equal(res.status, 400, JSON.stringify(res.body).slice(0, 300));
    assert.equal(res.body.message, "invalid AddHumanUserRequest.Metadata: values must not exceed 500000 bytes in total");
    assert.equal(await inspector.store.read.usernameTaken(username), false);
  });

  test("AddOrganization applies the same bound to a new admin's metadata", async () => {
    const res = await rest(roster, "POST", "/v2/organizations", {
      token: roster.adminToken,
      body: { name: `Meta-${uniq()}`, admins: [{ human: newHuman({ metadata: entries(101) }) }] },
    });
    assert.equal(res.status, 400, JSON.stringify(res.body).slice(0, 300));
    assert.match(res.body.message, /Metadata: value must contain no more than 100 item\(s\)/);
  });

  test("more events than one INSERT can carry (65,535 parameters) are appended in batches", async () => {
    const userId = (await rest(roster, "POST", "/v2/users/human", { token: roster.adminToken, body: newHuman() })).body.userId as string;
    const user = await inspector.user(userId);
    const many = Array.from({ length: 9000 }, (_, i) => ({
      aggregateType: "user" as const,
      aggregateId: userId,
      sequence: user!.sequence + i + 1,
      type: "test.batched",
      payload: { i },
      actorId: "",
      orgId: user!.orgId,
      createdAt: new Date(),
    }));
    await inspector.store.transaction((tx) => tx.appendEvents(many));
    const events = await inspector.events(userId);
    assert.equal(events.filter((e) => e.type === "test.batched").length, 9000);
  });
});

describe("reserved organization ids", () => {
  test("AddOrganization with org id `instance` → INVALID_ARGUMENT ROSTER-org01; no organization, no admin, no instance-wide membership", async () => {
    const username = `inst-owner-${uniq()}`;
    const res = await rest(roster, "POST", "/v2/organizations", {
      token: roster.adminToken,
      body: { name: `Instance-${uniq()}`, orgId: "instance", admins: [{ human: newHuman({ username }), roles: ["ORG_OWNER"] }] },
    });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.code, 3);
    assert.equal(detailId(res.body), "ROSTER-org01");
    assert.equal(await inspector.store.read.getOrg("instance"), undefined);
    assert.equal(await inspector.store.read.usernameTaken(username), false);
  });

  test("another explicit org id is still accepted", async () => {
    const orgId = `org-${uniq()}`;
    const res = await rest(roster, "POST", "/v2/organizations", {
      token: roster.adminToken,
      body: { name: `Custom-${uniq()}`, orgId },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.organizationId, orgId);
  });
});

describe("first start when the admin token cannot be written", () => {
  test("the start fails as a whole, the database keeps no instance; with a writable path the next start creates it and writes the token", async () => {
    const database = await createTestDatabase();
    const dataDir = await mkdtemp(path.join(tmpdir(), "roster-patfile-"));
    try {
      // a directory where the file should be: creating the directory works, writing the file does not
      const patPath = path.join(dataDir, "secrets", "admin.pat");
      await mkdir(patPath, { recursive: true });
      const env = {
        PORT: "0",
        ROSTER_HOST: "127.0.0.1",
        DATABASE_URL: database.url,
        ROSTER_DATA_DIR: dataDir,
        ROSTER_BCRYPT_COST: "4",
        ROSTER_MASTER_KEY: Buffer.alloc(32, 9).toString("base64"),
        ROSTER_FIRST_ADMIN_PAT_FILE: patPath,
      };
      const logger = pino({ level: "silent" });
      await assert.rejects(startRoster(loadConfig(env), logger), (err: Error) => {
        assert.match(err.message, new RegExp(`could not be written to ${patPath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
        assert.match(err.message, /Nothing was created/);
        return true;
      });
      const db = await openInspector(database.url);
      try {
        assert.equal(await db.store.read.getSetting("default_org_id"), undefined, "no instance was committed");
        const users = await db.db.selectFrom("users").select("id").execute();
        assert.deepEqual(users, [], "no admin user was committed");
      } finally {
        await db.close();
      }

      await rm(patPath, { recursive: true });
      const started = await startRoster(loadConfig(env), logger);
      try {
        const token = (await readFile(patPath, "utf8")).trim();
        assert.equal((await stat(patPath)).mode & 0o777, 0o600);
        const res = await rest({ baseUrl: `http://127.0.0.1:${started.port}` }, "POST", "/v2/users/human", { token, body: newHuman() });
        assert.equal(res.status, 200, JSON.stringify(res.body));
      } finally {
        await started.close();
      }
    } finally {
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
