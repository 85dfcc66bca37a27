/** What authentication reads (one statement per miss) and the change signal to other processes. */
import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";
import type { MembershipRecord, PrincipalUser, TokenPrincipal, UserState } from "../domain/store.js";

/** The LISTEN/NOTIFY channel that carries the id of a user whose principal changed. */
export const PRINCIPAL_CHANNEL = "roster_principal";

/** The user's memberships as one JSON array, ordered by scope in code point order. */
const membershipsOf = (userId: ReturnType<typeof sql>) =>
  sql`COALESCE((SELECT json_agg(json_build_object('scope', m.scope, 'roles', m.roles) ORDER BY m.scope COLLATE "C")
     FROM memberships m WHERE m.user_id = ${userId}), '[]'::json)`;

interface PrincipalRow {
  user_id: string;
  org_id: string | null;
  state: string | null;
  memberships: { scope: string; roles: string[] }[];
}

function principalUser(r: PrincipalRow): PrincipalUser | undefined {
  if (r.org_id === null || r.state === null) return undefined;
  const memberships: MembershipRecord[] = r.memberships.map((m) => ({ userId: r.user_id, scope: m.scope, roles: m.roles }));
  return { id: r.user_id, orgId: r.org_id, state: r.state as UserState, memberships };
}

/** tokens ⋈ users ⋈ memberships in one statement. */
export async function findTokenPrincipal(db: Kysely<Database>, hash: Buffer): Promise<TokenPrincipal | undefined> {
  const { rows } = await sql<PrincipalRow & { token_id: string; expires_at: Date | null; revoked_at: Date | null }>`
    SELECT t.id AS token_id, t.user_id, t.expires_at, t.revoked_at, u.org_id, u.state,
      ${membershipsOf(sql.ref("t.user_id"))} AS memberships
    FROM tokens t LEFT JOIN users u ON u.id = t.user_id
    WHERE t.hash = ${hash}`.execute(db);
  const r = rows[0];
  if (!r) return undefined;
  return {
    token: { id: r.token_id, userId: r.user_id, expiresAt: r.expires_at, revokedAt: r.revoked_at },
    user: principalUser(r),
  };
}

/** users ⋈ memberships in one statement. */
export async function getPrincipalUser(db: Kysely<Database>, userId: string): Promise<PrincipalUser | undefined> {
  const { rows } = await sql<PrincipalRow>`
    SELECT u.id AS user_id, u.org_id, u.state, ${membershipsOf(sql.ref("u.id"))} AS memberships
    FROM users u WHERE u.id = ${userId}`.execute(db);
  return rows[0] && principalUser(rows[0]);
}

/** Queues the notification; PostgreSQL delivers it when the transaction commits. */
export async function notifyPrincipalChanged(db: Kysely<Database>, userId: string): Promise<void> {
  await sql`SELECT pg_notify(${PRINCIPAL_CHANNEL}, ${userId})`.execute(db);
}
