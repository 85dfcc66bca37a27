/**
 * Bulk load for the list bench: `orgs` organizations and `users` users (user i has id 10^17 + i,
 * username user0000000 + i, organization i mod `orgs`; every 1000th deleted, 1 % locked, 2 %
 * inactive), one event each, with INSERT …
 * SELECT generate_series in chunks. The list indexes are dropped for the load and rebuilt from
 * their own definitions afterwards; then VACUUM ANALYZE.
 */
import { performance } from "node:perf_hooks";
import { sql, type Kysely } from "kysely";
import type { Database } from "../src/store/schema.js";

const CHUNK = 100_000;
const userId = (i: number) => String(100_000_000_000_000_000n + BigInt(i));

/** Bulk load: organizations, users and one event each, in chunks, with the list indexes rebuilt afterwards. */
export async function bulkLoad(db: Kysely<Database>, { users: USERS, orgs: ORGS }: { users: number; orgs: number }): Promise<void> {
  const t0 = performance.now();
  const { rows: indexes } = await sql<{ indexname: string; indexdef: string }>`
    SELECT indexname, indexdef FROM pg_indexes
    WHERE schemaname = current_schema() AND tablename = 'users' AND indexname NOT IN ('users_pkey', 'users_username_folded_live')`.execute(db);
  for (const ix of indexes) await sql.raw(`DROP INDEX ${ix.indexname}`).execute(db);

  await sql`
    INSERT INTO organizations (id, name, name_folded, created_at)
    SELECT (200000000000000000 + o)::text, 'Bench Org ' || lpad(o::text, 4, '0'), 'bench org ' || lpad(o::text, 4, '0'),
           timestamptz '2025-01-01 00:00:00+00'
    FROM generate_series(0, ${ORGS - 1}::int) AS o`.execute(db);
  await sql`
    INSERT INTO events (aggregate_type, aggregate_id, sequence, type, payload, actor_id, org_id, created_at)
    SELECT 'org', id, 1, 'org.added', jsonb_build_object('orgId', id, 'name', name), '', id, created_at
    FROM organizations WHERE id LIKE '2000000000000%'`.execute(db);

  // ASCII data only: lower() and Roster's own folding agree on it.
  for (let from = 0; from < USERS; from += CHUNK) {
    const to = Math.min(USERS, from + CHUNK) - 1;
    await sql`
      INSERT INTO users (id, org_id, type, state, username, username_folded, given_name, family_name, nick_name,
                         display_name, given_name_folded, family_name_folded, nick_name_folded, display_name_folded,
                         preferred_language, gender, email, email_folded, email_verified, phone, phone_verified,
                         password_hash, password_change_required, password_changed_at, machine_name, machine_description,
                         sequence, created_at, changed_at)
      SELECT id, org_id, 'human', state, un, un, gn, fn, nn, gn || ' ' || fn, lower(gn), lower(fn), lower(nn), lower(gn || ' ' || fn),
             'en', i % 4, un || '@bench.example', un || '@bench.example', true, '+4179' || lpad((i % 10000000)::text, 7, '0'), false,
             NULL, false, NULL, '', '', 1, ts, ts
      FROM (
        SELECT i, (100000000000000000 + i)::text AS id, (200000000000000000 + i % ${ORGS}::int)::text AS org_id,
               'user' || lpad(i::text, 7, '0') AS un,
               (ARRAY['Ada','Grace','Alan','Edsger','Barbara','Donald','Frances','John','Margaret','Ken'])[1 + i % 10] AS gn,
               (ARRAY['Lovelace','Hopper','Turing','Dijkstra','Liskov','Knuth','Allen','Backus','Hamilton','Thompson','Ritchie'])[1 + (i / 10) % 11] AS fn,
               CASE WHEN i % 3 = 0 THEN 'n' || (i % 97)::text ELSE '' END AS nn,
               CASE WHEN i % 1000 = 999 THEN 'deleted' WHEN i % 100 = 0 THEN 'locked' WHEN i % 100 < 3 THEN 'inactive' ELSE 'active' END AS state,
               timestamptz '2025-01-01 00:00:00+00' + i * interval '1 second' AS ts
        FROM generate_series(${from}::int, ${to}::int) AS i
      ) AS g`.execute(db);
    await sql`
      INSERT INTO events (aggregate_type, aggregate_id, sequence, type, payload, actor_id, org_id, created_at)
      SELECT 'user', id, 1, 'user.human.added', jsonb_build_object('userId', id, 'username', username), '', org_id, created_at
      FROM users WHERE id >= ${userId(from)} AND id <= ${userId(to)}`.execute(db);
    process.stdout.write(`  loaded ${to + 1} users (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  }
  const t1 = performance.now();
  for (const ix of indexes) await sql.raw(ix.indexdef).execute(db);
  const t2 = performance.now();
  await sql`VACUUM ANALYZE users`.execute(db);
  await sql`VACUUM ANALYZE events`.execute(db);
  await sql`VACUUM ANALYZE organizations`.execute(db);
  const t3 = performance.now();
  console.log(
    `loaded ${USERS} users over ${ORGS} organizations: rows ${((t1 - t0) / 1000).toFixed(1)} s, ` +
      `${indexes.length} list indexes ${((t2 - t1) / 1000).toFixed(1)} s, vacuum analyze ${((t3 - t2) / 1000).toFixed(1)} s`,
  );
}
