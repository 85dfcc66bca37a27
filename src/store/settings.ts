import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export async function getSetting(db: Kysely<Database>, key: string): Promise<string | undefined> {
  const row = await db.selectFrom("settings").select("value").where("key", "=", key).executeTakeFirst();
  return row?.value;
}

/** First writer wins; under READ COMMITTED the follow-up read sees the winner's committed value. */
export async function putSettingIfAbsent(db: Kysely<Database>, key: string, value: string): Promise<string> {
  const inserted = await db
    .insertInto("settings")
    .values({ key, value })
    .onConflict((oc) => oc.column("key").doNothing())
    .returning("value")
    .executeTakeFirst();
  if (inserted) return inserted.value;
  const stored = await getSetting(db, key);
  if (stored === undefined) throw new Error(`setting ${key} vanished`);
  return stored;
}
