// The store contract (test/support/store-contract.ts) against PostgreSQL: a new database on the
// DATABASE_URL server, or an embedded server when it is unset. Every test starts from empty
// tables.
import { sql } from "kysely";
import { openDatabase, type OpenedDatabase } from "../src/store/database.js";
import { createStore } from "../src/store/kysely-store.js";
import { migrateToLatest } from "../src/store/migrate.js";
import type { CodePurpose, NotificationChannel, Store } from "../src/domain/store.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { describeStoreContract } from "./support/store-contract.js";

let testDb: TestDatabase | undefined;
let opened: OpenedDatabase | undefined;
let store: Store | undefined;
let tables: string[] = [];

describeStoreContract("PostgreSQL", {
  async setup() {
    testDb = await createTestDatabase();
    opened = await openDatabase({ databaseUrl: testDb.url, dataDir: "/nonexistent", maxConnections: 12 });
    await migrateToLatest(opened.db);
    store = createStore(opened.db, { close: opened.close });
    const rows = await sql<{ table_name: string }>`
      SELECT table_name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name NOT LIKE 'kysely_migration%'
    `.execute(opened.db);
    tables = rows.rows.map((r) => r.table_name);
  },
  async fresh() {
    const db = opened!.db;
    // DELETE, not TRUNCATE: on tables this small it is many times faster
    await sql.raw(tables.map((t) => `DELETE FROM "${t}";`).join(" ")).execute(db);
    return {
      store: store!,
      outbox: async (userId) => {
        const rows = await db.selectFrom("notifications").selectAll().where("user_id", "=", userId).orderBy("id").execute();
        return rows.map((r) => ({
          userId: r.user_id,
          channel: r.channel as NotificationChannel,
          recipient: r.recipient,
          purpose: r.purpose as CodePurpose,
          encryptedPayload: r.encrypted_payload ?? Buffer.alloc(0), // removed only once sent
          createdAt: r.created_at,
          status: r.status,
        }));
      },
    };
  },
  async teardown() {
    await store?.close();
    await testDb?.drop();
  },
});
