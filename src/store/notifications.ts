import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";
import type { NewNotification } from "../domain/store.js";

/**
 * The channel on which the outbox announces new notifications. PostgreSQL delivers a NOTIFY only
 * when its transaction commits (and folds identical ones of one transaction into one), so a
 * listening delivery worker wakes exactly when there is something committed to send.
 */
export const OUTBOX_CHANNEL = "roster_outbox";

/** Queues a notification in the outbox (same transaction as the code); delivered after commit. */
export async function insertNotification(db: Kysely<Database>, n: NewNotification): Promise<void> {
  // one round trip: the insert and the announcement
  await sql`
    WITH queued AS (
      INSERT INTO notifications (user_id, channel, recipient, purpose, encrypted_payload, created_at, next_attempt_at, last_error)
      VALUES (${n.userId}, ${n.channel}, ${n.recipient}, ${n.purpose}, ${n.encryptedPayload}, ${n.createdAt}, ${n.createdAt}, NULL)
      RETURNING channel
    )
    SELECT pg_notify(${OUTBOX_CHANNEL}, channel) FROM queued`.execute(db);
}
