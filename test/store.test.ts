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
import type { Store, UserRecord } from "../src/domain/store.js";
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

  // The behaviour every store shares is the store contract (test/support/store-contract.ts, run
  // against PostgreSQL by test/store-contract-postgres.test.ts). What follows is PostgreSQL's own:
  // columns no interface shows, and locks that hold across connections and processes.

  test("case-insensitive uniqueness lives in stored folded columns, not in a collation", async () => {
    await store.transaction(async (tx) => {
      await tx.insertUser(newUser({ id: "fold-1", username: "Ädä.LOVELACE" }));
      await tx.insertOrg({ id: "fold-org", name: "ACME STRAẞE", createdAt: new Date() });
    });
    const user = await opened.db.selectFrom("users").select(["username", "username_folded"]).where("id", "=", "fold-1").executeTakeFirstOrThrow();
    assert.deepEqual(user, { username: "Ädä.LOVELACE", username_folded: "ädä.lovelace" });
    const org = await opened.db.selectFrom("organizations").select(["name", "name_folded"]).where("id", "=", "fold-org").executeTakeFirstOrThrow();
    assert.deepEqual(org, { name: "ACME STRAẞE", name_folded: "acme straße" });
    const indexes = await sql<{ indexdef: string }>`SELECT indexdef FROM pg_indexes WHERE indexname = 'users_username_folded_live'`.execute(opened.db);
    assert.match(indexes.rows[0]?.indexdef ?? "", /UNIQUE INDEX .* \(username_folded\) WHERE \(state <> 'deleted'::text\)/);
  });

  test("int8 columns come back as numbers (sequence) and decimal strings (position)", async () => {
    const big = 2 ** 40 + 1;
    const id = randomUUID();
    await store.transaction(async (tx) => {
      await tx.insertUser(newUser({ id, sequence: big }));
      await tx.appendEvents([{ aggregateType: "user", aggregateId: id, sequence: big, type: "t", payload: {}, actorId: "", orgId: "o", createdAt: new Date() }]);
    });
    assert.equal((await store.read.getUser(id))?.sequence, big);
    const [event] = await store.read.listEvents(id);
    assert.equal(event?.sequence, big);
    assert.match(event?.position ?? "", /^[1-9][0-9]*$/);
  });

  test("a notification row starts pending, unattempted and due at its creation", async () => {
    const userId = randomUUID();
    const createdAt = new Date("2024-05-04T00:00:00.000Z");
    const payload = randomBytes(48);
    await store.transaction((tx) =>
      tx.insertNotification({ userId, channel: "email", recipient: "a@b.test", purpose: "email", encryptedPayload: payload, createdAt }),
    );
    const rows = await opened.db.selectFrom("notifications").selectAll().where("user_id", "=", userId).execute();
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.status, "pending");
    assert.equal(rows[0]!.attempts, 0);
    assert.deepEqual(rows[0]!.next_attempt_at, createdAt);
    assert.equal(rows[0]!.last_error, null);
    assert.deepEqual(rows[0]!.encrypted_payload, payload);
  });

  test("withAdvisoryLock holds a PostgreSQL advisory lock that other connections see", async () => {
    const other = new pg.Client({ connectionString: opened.url });
    await other.connect();
    try {
      const tryLock = async () =>
        (await other.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1::bigint) AS ok", [4343])).rows[0]!.ok;
      await store.withAdvisoryLock(4343, async () => {
        assert.equal(await tryLock(), false);
      });
      assert.equal(await tryLock(), true);
      await other.query("SELECT pg_advisory_unlock($1::bigint)", [4343]);
    } finally {
      await other.end();
    }
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

    test("a one-shot command shares a server whose owner is alive and leaves it running; a second start is refused", async () => {
      const owner = await startOwner(dataDir);
      try {
        await assert.rejects(openDatabase({ dataDir }), /in use by another Roster process/);
        const shared = await openDatabase({ dataDir, purpose: "migrate" });
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
