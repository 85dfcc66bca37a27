/** What a deleted user leaves behind is removed in the deleting transaction (contract.md §9.8). */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

/**
 * Deletes the user's metadata, codes, undelivered notifications, role memberships and personal
 * access tokens. The user row (state `deleted`) and its events stay: the log is the audit trail,
 * and a later user with the same id continues its sequence.
 */
export async function purgeUserData(db: Kysely<Database>, userId: string): Promise<void> {
  await db.deleteFrom("user_metadata").where("user_id", "=", userId).execute();
  await db.deleteFrom("codes").where("user_id", "=", userId).execute();
  await db.deleteFrom("notifications").where("user_id", "=", userId).where("status", "=", "pending").execute();
  await db.deleteFrom("memberships").where("user_id", "=", userId).execute();
  await db.deleteFrom("tokens").where("user_id", "=", userId).execute();
}
