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

/** One statement, one snapshot: the count beside the page, and for the page only, each organization's event stream. */
export async function listOrgs(db: Kysely<Database>, query: OrgListQuery): Promise<OrgPage> {
  const where = whereSql(query);
  const dir = sql.raw(query.asc ? "ASC" : "DESC");
  const order = (alias: string) => (query.sort === "name" ? sql`${sql.ref(`${alias}.name`)} ${dir}, ${sql.ref(`${alias}.id`)} ${dir}` : sql`${sql.ref(`${alias}.id`)} ${dir}`);
  const { rows } = await sql<{ total: string; id: string | null; name: string; created_at: Date; sequence: string | null; changed_at: Date | null }>`
    SELECT c.total, p.id, p.name, p.created_at, p.sequence, p.changed_at
    FROM (SELECT count(*) AS total FROM organizations AS o WHERE ${where}) AS c
    LEFT JOIN LATERAL (
      SELECT o.id, o.name, o.created_at, e.sequence, e.changed_at
      FROM (SELECT o.id, o.name, o.created_at FROM organizations AS o WHERE ${where}
            ORDER BY ${order("o")} LIMIT ${query.limit} OFFSET ${query.offset}) AS o
      LEFT JOIN LATERAL (
        SELECT max(sequence) AS sequence, max(created_at) AS changed_at FROM events
        WHERE aggregate_type = 'org' AND aggregate_id = o.id
      ) AS e ON TRUE
    ) AS p ON TRUE
    ORDER BY ${order("p")}`.execute(db);
  const orgs = rows.flatMap((r) =>
    r.id === null
      ? []
      : [{
          id: r.id,
          name: r.name,
          state: STORED_STATE,
          createdAt: r.created_at,
          sequence: r.sequence === null ? 0 : Number(r.sequence),
          changedAt: r.changed_at ?? r.created_at,
        }],
  );
  return { orgs, total: Number(rows[0]?.total ?? 0) };
}
