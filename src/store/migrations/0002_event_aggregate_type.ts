import { sql, type Kysely } from "kysely";

// Organization events share the log with user events, and both kinds of id may be chosen by the
// client, so an organization and a user can carry the same id: a stream is identified by its
// aggregate type and id together.
const statements = [
  sql`ALTER TABLE events ADD COLUMN aggregate_type text NOT NULL DEFAULT 'user'`,
  sql`UPDATE events SET aggregate_type = 'org' WHERE type LIKE 'org.%'`,
  sql`ALTER TABLE events ALTER COLUMN aggregate_type DROP DEFAULT`,
  sql`ALTER TABLE events DROP CONSTRAINT events_pkey`,
  sql`ALTER TABLE events ADD PRIMARY KEY (aggregate_type, aggregate_id, sequence)`,
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of statements) await statement.execute(db);
}
