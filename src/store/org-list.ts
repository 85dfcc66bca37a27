/**
 * ListOrganizations in SQL: the domain's organization filters (src/domain/orgs/org-filter.ts)
 * compiled to one WHERE clause for the page and the count, visibility included. Each listed
 * organization's sequence and change date come from its event stream, read for the page only.
 */
import { sql, type Kysely, type RawBuilder, type SqlBool } from "kysely";
import type { Database } from "./schema.js";
import { escapeLike, storable } from "./user-list.js";
import { foldCase } from "../domain/users/user-filter.js";
import type { OrgFilter, OrgListQuery, OrgPage, OrgState } from "../domain/orgs/org-filter.js";

/** The organizations table has no state column: every organization is active until one can be deactivated. */
const STORED_STATE: OrgState = "active";

function filterSql(f: OrgFilter): RawBuilder<SqlBool> {
  switch (f.kind) {
    case "name": {
      if (!storable(f.value)) return sql<SqlBool>`FALSE`;
      const col = sql.ref(f.match.ignoreCase ? "o.name_folded" : "o.name");
      const v = f.match.ignoreCase ? foldCase(f.value) : f.value;
      if (f.match.op === "equals") return sql<SqlBool>`${col} = ${v}`;
      const e = escapeLike(v);
      const pattern = f.match.op === "startsWith" ? `${e}%` : f.match.op === "endsWith" ? `%${e}` : `%${e}%`;
      return sql<SqlBool>`${col} LIKE ${pattern} ESCAPE '\\'`;
    }
    case "id":
      return storable(f.id) ? sql<SqlBool>`o.id = ${f.id}` : sql<SqlBool>`FALSE`;
    case "state":
      return f.state === STORED_STATE ? sql<SqlBool>`TRUE` : sql<SqlBool>`FALSE`;
    case "none":
      return sql<SqlBool>`FALSE`;
  }
}

function whereSql(query: OrgListQuery): RawBuilder<SqlBool> {
  const parts = query.filters.map(filterSql);
  if (query.visibility.kind === "scoped") {
    const ids = query.visibility.orgIds.filter(storable);
    parts.push(ids.length === 0 ? sql<SqlBool>`FALSE` : sql<SqlBool>`o.id = ANY(${ids}::text[])`);
  }
  return parts.length === 0 ? sql<SqlBool>`TRUE` : (sql.join(parts, sql.raw(" AND ")) as RawBuilder<SqlBool>);
}

export async function listOrgs(db: Kysely<Database>, query: OrgListQuery): Promise<OrgPage> {
  const where = whereSql(query);
  const dir = sql.raw(query.asc ? "ASC" : "DESC");
  const order = query.sort === "name" ? sql`o.name ${dir}, o.id ${dir}` : sql`o.id ${dir}`;
  const run = async (q: Kysely<Database>): Promise<OrgPage> => {
    const { rows } = await sql<{ id: string; name: string; created_at: Date; sequence: string | null; changed_at: Date | null }>`
      SELECT o.id, o.name, o.created_at, e.sequence, e.changed_at
      FROM (SELECT o.id, o.name, o.created_at FROM organizations AS o WHERE ${where}
            ORDER BY ${order} LIMIT ${query.limit} OFFSET ${query.offset}) AS o
      LEFT JOIN LATERAL (
        SELECT max(sequence) AS sequence, max(created_at) AS changed_at FROM events
        WHERE aggregate_type = 'org' AND aggregate_id = o.id
      ) AS e ON TRUE
      ORDER BY ${order}`.execute(q);
    const orgs = rows.map((r) => ({
      id: r.id,
      name: r.name,
      state: STORED_STATE,
      createdAt: r.created_at,
      sequence: r.sequence === null ? 0 : Number(r.sequence),
      changedAt: r.changed_at ?? r.created_at,
    }));
    if (orgs.length < query.limit && (orgs.length > 0 || query.offset === 0)) return { orgs, total: query.offset + orgs.length };
    const { rows: counted } = await sql<{ n: string }>`SELECT count(*) AS n FROM organizations AS o WHERE ${where}`.execute(q);
    return { orgs, total: Number(counted[0]?.n ?? 0) };
  };
  if (db.isTransaction) return run(db);
  return db.transaction().setIsolationLevel("repeatable read").setAccessMode("read only").execute(run);
}
