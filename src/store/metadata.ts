import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";

export async function setMetadata(db: Kysely<Database>, userId: string, key: string, value: Buffer): Promise<void> {
  await db
    .insertInto("user_metadata")
    .values({ user_id: userId, key, value })
    .onConflict((oc) => oc.columns(["user_id", "key"]).doUpdateSet({ value }))
    .execute();
}

/** The user's entries by key in code point order, whatever the database's collation. */
export async function getMetadata(db: Kysely<Database>, userId: string): Promise<{ key: string; value: Buffer }[]> {
  return db
    .selectFrom("user_metadata")
    .select(["key", "value"])
    .where("user_id", "=", userId)
    .orderBy(sql`key COLLATE "C"`)
    .execute();
}
