import { sql, type Kysely } from "kysely";

// ListUsers and ListOrganizations (contract.md §9.3, §10.1) must answer the same on every
// PostgreSQL Roster runs on, whatever locale its database was created with:
//
// - Text columns that lists compare or sort get the "C" collation: comparison and order by code
//   point (UTF-8 byte order), and LIKE 'prefix%' can use a plain btree index. Only the collation
//   changes; the table is not rewritten (its indexes are rebuilt).
// - IGNORE_CASE compares copies folded by Roster itself (`*_folded`, Unicode lower case), never
//   the server's lower(): that depends on the database's locale (an embedded cluster has none,
//   so there lower() folds ASCII only). username_folded and organizations.name_folded exist
//   already; the other searchable names get theirs here, filled in by this migration.
// - Indexes serve the common filters and every sort order with its id tie-break; they cover live
//   users only (deleted users never appear in a list), and their predicate is written exactly as
//   the list queries write it.
//
// users_live_state_order orders by the state's number in zitadel.user.v2.UserState, the order
// ListUsers sorts by; src/store/user-list.ts writes the same expression. Filters on the state
// compare the column itself (users_live_state), where the planner has statistics.

const FOLDED = ["given_name", "family_name", "nick_name", "display_name", "email"] as const;

const C_COLUMNS = {
  users: [
    "id", "org_id", "username", "username_folded", "given_name", "family_name", "nick_name", "display_name",
    "email", "phone", ...FOLDED.map((c) => `${c}_folded`),
  ],
  organizations: ["id", "name", "name_folded"],
};

const LIVE = sql.raw(`WHERE state <> 'deleted'`);

const INDEXES = [
  sql`CREATE INDEX users_live_id ON users (id) ${LIVE}`,
  sql`CREATE INDEX users_live_username ON users (username, id) ${LIVE}`,
  sql`CREATE INDEX users_live_given_name ON users (given_name, id) ${LIVE}`,
  sql`CREATE INDEX users_live_family_name ON users (family_name, id) ${LIVE}`,
  sql`CREATE INDEX users_live_nick_name ON users (nick_name, id) ${LIVE}`,
  sql`CREATE INDEX users_live_display_name ON users (display_name, id) ${LIVE}`,
  sql`CREATE INDEX users_live_email ON users (email, id) ${LIVE}`,
  sql`CREATE INDEX users_live_created_at ON users (created_at, id) ${LIVE}`,
  sql`CREATE INDEX users_live_type ON users (type, id) ${LIVE}`,
  sql`CREATE INDEX users_live_state ON users (state, id) ${LIVE}`,
  // INCLUDE (state): an index-only scan needs the column itself, not only the expression over it
  sql`CREATE INDEX users_live_state_order ON users ((CASE state WHEN 'active' THEN 1 WHEN 'inactive' THEN 2 WHEN 'deleted' THEN 3 WHEN 'locked' THEN 4 WHEN 'initial' THEN 5 ELSE 0 END), id) INCLUDE (state) ${LIVE}`,
  sql`CREATE INDEX users_live_org_id ON users (org_id, id) ${LIVE}`,
  sql`CREATE INDEX users_live_org_username ON users (org_id, username, id) ${LIVE}`,
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await sql.raw(`ALTER TABLE users ${FOLDED.map((c) => `ADD COLUMN ${c}_folded text NOT NULL DEFAULT ''`).join(", ")}`).execute(db);
  await backfillFolded(db);
  for (const [table, columns] of Object.entries(C_COLUMNS)) {
    await sql.raw(`ALTER TABLE ${table} ${columns.map((c) => `ALTER COLUMN ${c} TYPE text COLLATE "C"`).join(", ")}`).execute(db);
  }
  // (org_id, id) below serves every lookup the single-column index did.
  await sql`DROP INDEX users_org_id`.execute(db);
  for (const statement of INDEXES) await statement.execute(db);
}

/**
 * Folds the names of existing users in Roster's own case folding (JavaScript's toLowerCase, the
 * one `foldCase` uses; written out here so that this migration never changes), in batches.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
async function backfillFolded(db: Kysely<any>): Promise<void> {
  const BATCH = 1000;
  let after = "";
  for (;;) {
    const { rows } = await sql<Record<(typeof FOLDED)[number] | "id", string>>`
      SELECT id, ${sql.join(FOLDED.map((c) => sql.ref(c)))} FROM users
      WHERE id COLLATE "C" > ${after} ORDER BY id COLLATE "C" LIMIT ${BATCH}`.execute(db);
    if (rows.length === 0) return;
    const values = sql.join(
      rows.map((r) => sql`(${sql.join([r.id, ...FOLDED.map((c) => r[c]!.toLowerCase())])})`),
    );
    await sql`
      UPDATE users SET ${sql.join(FOLDED.map((c) => sql`${sql.ref(`${c}_folded`)} = v.${sql.ref(c)}`))}
      FROM (VALUES ${values}) AS v(id, ${sql.join(FOLDED.map((c) => sql.ref(c)))})
      WHERE users.id = v.id`.execute(db);
    after = rows[rows.length - 1]!.id;
  }
}
