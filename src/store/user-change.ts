/**
 * The fast write of the command runner: one statement that updates the changed columns of a user
 * if its sequence is still the one the change was planned on, appends the events, deletes the
 * discarded codes and (when a
 * right is taken away) notifies the other processes, all or nothing.
 *
 * The row must also be the version `before` was read or written as (`xmin`, see users.ts), when
 * known: a write beside Roster that left the sequence alone still counts as a change.
 *
 * Under READ COMMITTED an UPDATE that finds the row changed by a concurrent transaction waits for
 * it and re-checks its WHERE on the new version, so a stale sequence matches no row: no update is
 * lost, and the events (numbered from the expected sequence) are inserted only with the update.
 */
import { sql, type Kysely, type RawBuilder } from "kysely";
import type { Database } from "./schema.js";
import type { UserChange } from "../domain/store.js";
import { PRINCIPAL_CHANNEL } from "./principals.js";
import { rowVersions, toRow, translateConflict } from "./users.js";

const same = (a: unknown, b: unknown): boolean =>
  a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b;

export async function applyUserChange(db: Kysely<Database>, change: UserChange): Promise<boolean> {
  const before = toRow(change.before) as Record<string, unknown>;
  const after = toRow(change.after) as Record<string, unknown>;
  const assignments: RawBuilder<unknown>[] = [];
  for (const [column, value] of Object.entries(after)) {
    if (column === "id" || column === "created_at") continue;
    if (column === "sequence" || column === "changed_at" || !same(before[column], value)) {
      assignments.push(sql`${sql.ref(column)} = ${value}`);
    }
  }
  const events = JSON.stringify(
    change.events.map((e) => ({
      aggregate_type: e.aggregateType,
      aggregate_id: e.aggregateId,
      sequence: e.sequence,
      type: e.type,
      payload: e.payload,
      actor_id: e.actorId,
      org_id: e.orgId,
      created_at: e.createdAt.toISOString(),
    })),
  );
  const notify = change.principalChanged
    ? sql`, n AS (SELECT pg_notify(${PRINCIPAL_CHANNEL}, u.id) FROM u)`
    : sql``;
  const discard =
    change.discardCodes.length > 0
      ? sql`, c AS (DELETE FROM codes WHERE user_id IN (SELECT id FROM u) AND purpose = ANY(${change.discardCodes}::text[]))`
      : sql``;
  // data-modifying CTEs (e, c) always run; the SELECT of n runs only when referenced
  const notified = change.principalChanged ? sql`, (SELECT count(*) FROM n) AS notified` : sql``;
  const version = rowVersions.get(change.before);
  const sameVersion = version === undefined ? sql`` : sql`AND xmin = ${version}::xid`;
  const { rows } = await translateConflict(() =>
    sql<{ updated: number; row_version: string | null }>`
      WITH u AS (
        UPDATE users SET ${sql.join(assignments)}
        WHERE id = ${change.before.id} AND sequence = ${change.before.sequence} ${sameVersion}
        RETURNING id, xmin::text AS row_version
      ), e AS (
        INSERT INTO events (aggregate_type, aggregate_id, sequence, type, payload, actor_id, org_id, created_at)
        SELECT x.aggregate_type, x.aggregate_id, x.sequence, x.type, x.payload, x.actor_id, x.org_id, x.created_at
        FROM u, jsonb_to_recordset(${events}::jsonb) AS x(
          aggregate_type text, aggregate_id text, sequence bigint, type text, payload jsonb,
          actor_id text, org_id text, created_at timestamptz)
      )${discard}${notify}
      SELECT (SELECT count(*) FROM u)::int AS updated, (SELECT row_version FROM u) AS row_version${notified}`.execute(db),
  );
  const row = rows[0]!;
  if (row.updated !== 1) return false;
  if (row.row_version !== null) rowVersions.set(change.after, row.row_version);
  return true;
}
