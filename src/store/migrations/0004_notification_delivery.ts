import { sql, type Kysely } from "kysely";

// The delivery worker (src/notify/delivery-worker.ts) works the outbox:
//
// - status: pending → sending (claimed under a lease) → sent | failed | discarded; a retry goes
//   back to pending with a later next_attempt_at, and a claim whose lease ran out (its process
//   died mid-send) may be claimed again.
// - The sealed payload (code and link) is removed once a notification leaves the outbox for
//   good, so it becomes nullable.
// - notifications_due finds the pending rows that are due (by next_attempt_at; the claim then
//   takes them in id order), notifications_leased the claims whose lease expired.
const statements = [
  sql`ALTER TABLE notifications
        ADD COLUMN lease_until timestamptz,
        ADD COLUMN claimed_by text,
        ADD COLUMN sent_at timestamptz,
        ALTER COLUMN encrypted_payload DROP NOT NULL,
        ADD CONSTRAINT notifications_status_known
          CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'discarded'))`,
  sql`DROP INDEX notifications_due`,
  sql`CREATE INDEX notifications_due ON notifications (next_attempt_at, id) WHERE status = 'pending'`,
  sql`CREATE INDEX notifications_leased ON notifications (lease_until) WHERE status = 'sending'`,
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of statements) await statement.execute(db);
}
