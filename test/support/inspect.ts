/**
 * Read-only access to a test Roster's database, for assertions on what was stored (events,
 * codes, notifications, password hashes) that no API shows.
 */
import { openDatabase, type OpenedDatabase } from "../../src/store/database.js";
import { createStore } from "../../src/store/kysely-store.js";
import type { Store } from "../../src/domain/store.js";

export interface Inspector {
  store: Store;
  db: OpenedDatabase["db"];
  /** The user's events, oldest first. */
  events(userId: string): ReturnType<Store["read"]["listEvents"]>;
  user(userId: string): ReturnType<Store["read"]["getUser"]>;
  code(userId: string, purpose: "email" | "phone" | "password_reset"): ReturnType<Store["read"]["getCode"]>;
  /** Pending notifications of the user (encrypted payloads). */
  notifications(userId: string): Promise<{ channel: string; recipient: string; purpose: string; encrypted_payload: Buffer }[]>;
  close(): Promise<void>;
}

export async function openInspector(databaseUrl: string): Promise<Inspector> {
  const opened = await openDatabase({ databaseUrl, dataDir: "", maxConnections: 2 });
  const store = createStore(opened.db, { close: opened.close });
  return {
    store,
    db: opened.db,
    events: (id) => store.read.listEvents(id),
    user: (id) => store.read.getUser(id),
    code: (id, purpose) => store.read.getCode(id, purpose),
    notifications: (id) =>
      opened.db
        .selectFrom("notifications")
        .select(["channel", "recipient", "purpose", "encrypted_payload"])
        .where("user_id", "=", id)
        .orderBy("id")
        .execute()
        // pending rows always hold their payload (it is removed once sent, failed or discarded)
        .then((rows) => rows.map((r) => ({ ...r, encrypted_payload: r.encrypted_payload ?? Buffer.alloc(0) }))),
    close: () => opened.close(),
  };
}
