import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { openDatabase, type OpenedDatabase } from "../src/store/database.js";
import { createStore } from "../src/store/kysely-store.js";
import { migrateToLatest } from "../src/store/migrate.js";
import type { Database } from "../src/store/schema.js";
import { OrgConflict, UsernameConflict, type Store, type UserRecord } from "../src/store/types.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

function newUser(overrides: Partial<UserRecord> = {}): UserRecord {
  const now = new Date("2024-05-01T10:00:00.123Z");
  return {
    id: randomUUID(),
    orgId: "org-1",
    type: "human",
    state: "active",
    username: `user-${randomBytes(4).toString("hex")}`,
    givenName: "Ada",
    familyName: "Lovelace",
    nickName: "",
    displayName: "Ada Lovelace",
    preferredLanguage: "en",
    gender: 1,
    email: "ada@example.com",
    emailVerified: true,
    phone: "",
    phoneVerified: false,
    passwordHash: null,
    passwordChangeRequired: false,
    passwordChangedAt: null,
    machineName: "",
    machineDescription: "",
    sequence: 1,
    createdAt: now,
    changedAt: now,
    ...overrides,
  };
}

describe("store", () => {
  let testDb: TestDatabase;
  let opened: OpenedDatabase;
  let store: Store;
  let firstMigration: string[];

  before(async () => {
    testDb = await createTestDatabase();
    opened = await openDatabase({ databaseUrl: testDb.url, dataDir: "/nonexistent" });
    store = createStore(opened.db, { close: opened.close });
    firstMigration = await migrateToLatest(opened.db);
  });

  after(async () => {
    await store?.close();
    await testDb?.drop();
  });

  test("migrations apply once and a second run changes nothing", async () => {
    assert.deepEqual(firstMigration, ["0001_initial", "0002_event_aggregate_type", "0003_list_indexes"]);
    assert.deepEqual(await migrateToLatest(opened.db), []);
    const tables = await sql<{ table_name: string }>`
      SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name
    `.execute(opened.db);
    const names = tables.rows.map((r) => r.table_name);
    for (const t of ["codes", "events", "memberships", "notifications", "organizations", "settings", "tokens", "users"]) {
      assert.ok(names.includes(t), `table ${t} exists`);
    }
  });

  test("migration 0002 keeps the events of an existing log and files organization events under their own type", async () => {
    const older = await createTestDatabase();
    const db = await openDatabase({ databaseUrl: older.url, dataDir: "/nonexistent" });
    try {
      const { up } = await import("../src/store/migrations/0001_initial.js");
      await up(db.db);
      await sql`CREATE TABLE kysely_migration (name varchar(255) PRIMARY KEY, timestamp varchar(255) NOT NULL)`.execute(db.db);
      await sql`INSERT INTO kysely_migration VALUES ('0001_initial', '2024-05-01T00:00:00.000Z')`.execute(db.db);
      await sql`INSERT INTO events (aggregate_id, sequence, type, payload, actor_id, org_id, created_at) VALUES
        ('u1', 1, 'user.human.added', '{}', 'a', 'o1', now()),
        ('o1', 1, 'org.added', '{}', 'a', 'o1', now())`.execute(db.db);
      assert.deepEqual(await migrateToLatest(db.db), ["0002_event_aggregate_type", "0003_list_indexes"]);
      const reopened = createStore(db.db, { close: async () => {} });
      assert.deepEqual((await reopened.read.listEvents("u1")).map((e) => [e.aggregateType, e.type]), [["user", "user.human.added"]]);
      assert.deepEqual((await reopened.read.listEvents("o1", "org")).map((e) => [e.aggregateType, e.type]), [["org", "org.added"]]);
      // a user stream with the organization's id is a stream of its own
      await reopened.transaction((tx) =>
        tx.appendEvents([{ aggregateType: "user", aggregateId: "o1", sequence: 1, type: "user.human.added", payload: {}, actorId: "a", orgId: "o1", createdAt: new Date() }]),
      );
      assert.deepEqual((await reopened.read.listEvents("o1")).map((e) => e.type), ["user.human.added"]);
    } finally {
      await db.close();
      await older.drop();
    }
  });

  test("a user round-trips, locks and updates", async () => {
    const user = newUser({ passwordHash: "$2b$10$abc", passwordChangedAt: new Date("2024-05-02T00:00:00.456Z") });
    await store.transaction((tx) => tx.insertUser(user));
    assert.deepEqual(await store.read.getUser(user.id), user);
    assert.equal(await store.read.getUser("missing"), undefined);

    const updated = await store.transaction(async (tx) => {
      const locked = await tx.lockUser(user.id);
      assert.ok(locked);
      const next: UserRecord = { ...locked, givenName: "Augusta", sequence: locked.sequence + 1, changedAt: new Date() };
      await tx.updateUser(next);
      return next;
    });
    const stored = await store.read.getUser(user.id);
    assert.deepEqual(stored, updated);
    assert.equal(typeof stored?.sequence, "number");
    assert.equal(stored?.sequence, 2);
  });

  test("a failing transaction rolls back", async () => {
    const user = newUser();
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.insertUser(user);
        throw new Error("boom");
      }),
      /boom/,
    );
    assert.equal(await store.read.getUser(user.id), undefined);
  });

  test("usernames are unique case-insensitively and free again after deletion", async () => {
    const ada = newUser({ username: "Ädä.Lovelace" });
    await store.transaction((tx) => tx.insertUser(ada));

    await assert.rejects(
      store.transaction((tx) => tx.insertUser(newUser({ username: "äDÄ.lovelace" }))),
      UsernameConflict,
    );
    assert.equal(await store.read.usernameTaken("ÄDÄ.LOVELACE"), true);
    assert.equal(await store.read.usernameTaken("ÄDÄ.LOVELACE", ada.id), false);
    assert.equal(await store.read.usernameTaken("someone-else"), false);

    const other = newUser({ username: "other-name" });
    await store.transaction((tx) => tx.insertUser(other));
    await assert.rejects(
      store.transaction((tx) => tx.updateUser({ ...other, username: "ädä.LOVELACE" })),
      UsernameConflict,
    );
    // Changing only the case of one's own name is allowed.
    await store.transaction((tx) => tx.updateUser({ ...ada, username: "ädä.lovelace" }));

    await store.transaction((tx) => tx.updateUser({ ...ada, state: "deleted" }));
    assert.equal(await store.read.usernameTaken("Ädä.Lovelace"), false);
    const successor = newUser({ username: "ÄDÄ.LOVELACE" });
    await store.transaction((tx) => tx.insertUser(successor));
    assert.equal((await store.read.getUser(successor.id))?.username, "ÄDÄ.LOVELACE");
  });

  test("insertUser replaces a deleted user with the same id, never a live one", async () => {
    const user = newUser({ sequence: 4 });
    await store.transaction((tx) => tx.insertUser(user));
    await assert.rejects(store.transaction((tx) => tx.insertUser({ ...user, username: "fresh-name" })), /already exists/);

    await store.transaction((tx) => tx.updateUser({ ...user, state: "deleted", sequence: 5 }));
    const reborn = newUser({ id: user.id, username: "reborn", sequence: 6, givenName: "New" });
    await store.transaction((tx) => tx.insertUser(reborn));
    assert.deepEqual(await store.read.getUser(user.id), reborn);
  });

  test("updateUser of a missing user fails", async () => {
    await assert.rejects(store.transaction((tx) => tx.updateUser(newUser())), /does not exist/);
  });

  test("events append in order and a duplicate sequence is rejected", async () => {
    const id = randomUUID();
    const at = new Date("2024-05-03T12:00:00.789Z");
    const event = (sequence: number) => ({
      aggregateType: "user" as const,
      aggregateId: id,
      sequence,
      type: "user.human.profile.changed",
      payload: { givenName: { old: "A", new: `B${sequence}` }, list: [1, 2] },
      actorId: "actor",
      orgId: "org-1",
      createdAt: at,
    });
    await store.transaction((tx) => tx.appendEvents([event(1), event(2)]));
    await store.transaction((tx) => tx.appendEvents([]));
    await assert.rejects(store.transaction((tx) => tx.appendEvents([event(3), event(2)])));

    const listed = await store.read.listEvents(id);
    assert.deepEqual(
      listed.map(({ position: _p, ...rest }) => rest),
      [event(1), event(2)],
    );
    assert.ok(BigInt(listed[1]!.position) > BigInt(listed[0]!.position));
  });

  test("codes are put, replaced, counted and deleted; notifications queue", async () => {
    const userId = randomUUID();
    const code = {
      userId,
      purpose: "email" as const,
      hash: randomBytes(32),
      createdAt: new Date("2024-05-04T00:00:00.000Z"),
      expiresAt: new Date("2024-05-04T01:00:00.000Z"),
      failedAttempts: 0,
      delivery: "sent" as const,
      urlTemplate: "https://x.test/verify?code={{.Code}}",
    };
    await store.transaction((tx) => tx.putCode(code));
    assert.deepEqual(await store.read.getCode(userId, "email"), code);
    assert.equal(await store.read.getCode(userId, "phone"), undefined);

    const replacement = { ...code, hash: randomBytes(32), delivery: "returned" as const, urlTemplate: null, failedAttempts: 2 };
    await store.transaction((tx) => tx.putCode(replacement));
    assert.deepEqual(await store.read.getCode(userId, "email"), replacement);

    await store.transaction((tx) => tx.setCodeFailedAttempts(userId, "email", 3));
    assert.equal((await store.read.getCode(userId, "email"))?.failedAttempts, 3);

    await store.transaction((tx) => tx.deleteCode(userId, "email"));
    assert.equal(await store.read.getCode(userId, "email"), undefined);

    const payload = randomBytes(48);
    await store.transaction((tx) =>
      tx.insertNotification({ userId, channel: "email", recipient: "a@b.test", purpose: "email", encryptedPayload: payload, createdAt: new Date() }),
    );
    const rows = await opened.db.selectFrom("notifications").selectAll().where("user_id", "=", userId).execute();
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.status, "pending");
    assert.equal(rows[0]!.attempts, 0);
    assert.deepEqual(rows[0]!.encrypted_payload, payload);
  });

  test("organizations conflict on id and on case-folded name", async () => {
    const org = { id: randomUUID(), name: "Acme Straße", createdAt: new Date("2024-05-05T00:00:00.000Z") };
    await store.transaction((tx) => tx.insertOrg(org));
    assert.deepEqual(await store.read.getOrg(org.id), org);
    assert.equal(await store.read.getOrg("missing"), undefined);
    await assert.rejects(store.transaction((tx) => tx.insertOrg({ ...org, name: "Other" })), OrgConflict);
    await assert.rejects(store.transaction((tx) => tx.insertOrg({ ...org, id: randomUUID(), name: "ACME STRASSE".replace("SS", "ẞ") })), OrgConflict);
  });

  test("memberships merge roles per scope and can be deleted", async () => {
    const userId = randomUUID();
    await store.transaction(async (tx) => {
      await tx.addMembership({ userId, scope: "instance", roles: ["IAM_OWNER"] });
      await tx.addMembership({ userId, scope: "instance", roles: ["IAM_OWNER", "IAM_USER_MANAGER", "IAM_USER_MANAGER"] });
      await tx.addMembership({ userId, scope: "org-1", roles: ["ORG_OWNER"] });
    });
    assert.deepEqual(await store.read.getMemberships(userId), [
      { userId, scope: "instance", roles: ["IAM_OWNER", "IAM_USER_MANAGER"] },
      { userId, scope: "org-1", roles: ["ORG_OWNER"] },
    ]);
    await store.transaction((tx) => tx.deleteMemberships(userId));
    assert.deepEqual(await store.read.getMemberships(userId), []);
  });

  test("tokens are found by hash", async () => {
    const token = { id: randomUUID(), userId: "u1", hash: randomBytes(32), expiresAt: null, revokedAt: null, createdAt: new Date("2024-05-06T00:00:00.000Z") };
    await store.transaction((tx) => tx.insertToken(token));
    assert.deepEqual(await store.read.findTokenByHash(token.hash), token);
    assert.equal(await store.read.findTokenByHash(randomBytes(32)), undefined);
  });

  test("settings keep the first value written", async () => {
    assert.equal(await store.read.getSetting("default_org_id"), undefined);
    const results = await Promise.all(
      ["a", "b", "c", "d"].map((v) => store.transaction((tx) => tx.putSettingIfAbsent("default_org_id", v))),
    );
    const stored = await store.read.getSetting("default_org_id");
    assert.ok(stored);
    assert.deepEqual(results, [stored, stored, stored, stored]);
  });

  test("withAdvisoryLock serialises its holders", async () => {
    await store.transaction((tx) => tx.putSettingIfAbsent("counter", "0"));
    // Read, pause, write: without mutual exclusion the increments would overwrite each other.
    await Promise.all(
      Array.from({ length: 8 }, () =>
        store.withAdvisoryLock(4242, async (tx) => {
          const value = Number(await tx.getSetting("counter"));
          await new Promise((r) => setTimeout(r, 5));
          await opened.db.updateTable("settings").set({ value: String(value + 1) }).where("key", "=", "counter").execute();
        }),
      ),
    );
    assert.equal(await store.read.getSetting("counter"), "8");
  });

  test("50 concurrent lock-increment-append transactions from two pools lose nothing", async () => {
    const user = newUser({ sequence: 0 });
    await store.transaction((tx) => tx.insertUser(user));
    const secondDb = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: opened.url, max: 5 }) }),
    });
    const second = createStore(secondDb);
    try {
      const bump = (s: Store, i: number) =>
        s.transaction(async (tx) => {
          const current = await tx.lockUser(user.id);
          assert.ok(current);
          const sequence = current.sequence + 1;
          const changedAt = new Date();
          await tx.updateUser({ ...current, sequence, changedAt });
          await tx.appendEvents([
            { aggregateType: "user", aggregateId: user.id, sequence, type: "test.bumped", payload: { i }, actorId: "", orgId: user.orgId, createdAt: changedAt },
          ]);
        });
      await Promise.all(Array.from({ length: 50 }, (_, i) => bump(i % 2 === 0 ? store : second, i)));
    } finally {
      await second.close();
    }
    assert.equal((await store.read.getUser(user.id))?.sequence, 50);
    const events = await store.read.listEvents(user.id);
    assert.deepEqual(
      events.map((e) => e.sequence),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    assert.equal(new Set(events.map((e) => (e.payload as { i: number }).i)).size, 50);
  });
});

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Starts another Node process that opens the embedded database in `dataDir`, writes a setting,
 * prints its URL and waits; on a line "close" on stdin it closes and exits.
 */
function startOwner(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const script = `
    import { openDatabase } from ${JSON.stringify(path.join(repoRoot, "src/store/database.ts"))};
    import { migrateToLatest } from ${JSON.stringify(path.join(repoRoot, "src/store/migrate.ts"))};
    import { createStore } from ${JSON.stringify(path.join(repoRoot, "src/store/kysely-store.ts"))};
    const opened = await openDatabase({ dataDir: ${JSON.stringify(dataDir)} });
    await migrateToLatest(opened.db);
    await createStore(opened.db).transaction((tx) => tx.putSettingIfAbsent("written_by", String(process.pid)));
    process.stdout.write("URL " + opened.url + "\\n");
    process.stdin.on("data", async () => { await opened.close(); process.exit(0); });
  `;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: repoRoot,
    stdio: ["pipe", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /URL (\S+)\n/.exec(out);
      if (match) resolve({ child, url: match[1]! });
    });
    child.once("exit", (code) => reject(new Error(`owner process exited early (${code})`)));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
}

async function readSetting(url: string, key: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<{ value: string }>("SELECT value FROM settings WHERE key = $1", [key]);
    return result.rows[0]?.value;
  } finally {
    await client.end();
  }
}

// Only the embedded server has a lifecycle of its own to test.
if (!process.env.DATABASE_URL) {
  describe("embedded PostgreSQL", () => {
    let dataDir: string;

    before(async () => {
      dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "roster-store-embedded-"));
    });

    after(async () => {
      await fs.rm(dataDir, { recursive: true, force: true });
    });

    test("starts again on the same data after its owner was killed", async () => {
      const first = await startOwner(dataDir);
      first.child.kill("SIGKILL");
      await exited(first.child);
      // The orphaned server still holds the directory.
      assert.ok(existsSync(path.join(dataDir, "pg", "postmaster.pid")));

      const reopened = await openDatabase({ dataDir });
      try {
        assert.equal(reopened.embedded, true);
        assert.deepEqual(await migrateToLatest(reopened.db), []);
        assert.equal(await readSetting(reopened.url, "written_by"), String(first.child.pid));
      } finally {
        await reopened.close();
      }
      assert.equal(existsSync(path.join(dataDir, "pg", "postmaster.pid")), false, "close() stopped the server");
    });

    test("shares a server whose owner is alive and leaves it running", async () => {
      const owner = await startOwner(dataDir);
      try {
        const shared = await openDatabase({ dataDir });
        assert.equal(shared.url, owner.url);
        assert.ok(await readSetting(shared.url, "written_by"));
        await shared.close();
        // The owner's server survives our close().
        assert.ok(await readSetting(owner.url, "written_by"));
      } finally {
        owner.child.stdin!.write("close\n");
        await exited(owner.child);
      }
      assert.equal(existsSync(path.join(dataDir, "pg", "postmaster.pid")), false, "the owner stopped its server");
    });
  });
}
