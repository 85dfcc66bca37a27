import type { Kysely } from "kysely";
import type { Database } from "./schema.js";
import type { NewNotification } from "../domain/store.js";

/** Queues a notification in the outbox (same transaction as the code); delivered after commit. */
export async function insertNotification(db: Kysely<Database>, n: NewNotification): Promise<void> {
  await db
    .insertInto("notifications")
    .values({
      user_id: n.userId,
      channel: n.channel,
      recipient: n.recipient,
      purpose: n.purpose,
      encrypted_payload: n.encryptedPayload,
      created_at: n.createdAt,
      next_attempt_at: n.createdAt,
      last_error: null,
    })
    .execute();
}
