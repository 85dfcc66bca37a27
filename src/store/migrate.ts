import type { Kysely } from "kysely";
import { Migrator, type Migration, type MigrationResultSet } from "kysely/migration";
import * as m0001 from "./migrations/0001_initial.js";
import * as m0002 from "./migrations/0002_event_aggregate_type.js";
import * as m0003 from "./migrations/0003_list_indexes.js";
import * as m0004 from "./migrations/0004_notification_delivery.js";

/** Every migration, in order. Forward-only: add new files, never edit applied ones. */
const migrations: Record<string, Migration> = {
  "0001_initial": m0001,
  "0002_event_aggregate_type": m0002,
  "0003_list_indexes": m0003,
  "0004_notification_delivery": m0004,
};

/**
 * Applies pending migrations. Kysely serialises concurrent runs with its own lock table, so
 * several processes may call this at start.
 */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  });
  const result: MigrationResultSet = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === "Error")?.migrationName;
    const cause = result.error instanceof Error ? result.error : new Error(String(result.error));
    throw new Error(`migration ${failed ?? "(unknown)"} failed: ${cause.message}`, { cause });
  }
  return (result.results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}
