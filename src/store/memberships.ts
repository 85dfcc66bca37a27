import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";
import type { MembershipRecord } from "../domain/store.js";

/** The user's memberships by scope in code point order, whatever the database's collation. */
export async function getMemberships(db: Kysely<Database>, userId: string): Promise<MembershipRecord[]> {
  const rows = await db
    .selectFrom("memberships")
    .selectAll()
    .where("user_id", "=", userId)
    .orderBy(sql`scope COLLATE "C"`)
    .execute();
  return rows.map((r) => ({ userId: r.user_id, scope: r.scope, roles: r.roles }));
}

/** Adds roles to the membership on `scope`, keeping the roles it already has. */
export async function addMembership(db: Kysely<Database>, m: MembershipRecord): Promise<void> {
  const roles = [...new Set(m.roles)];
  await db
    .insertInto("memberships")
    .values({ user_id: m.userId, scope: m.scope, roles })
    .onConflict((oc) =>
      oc.columns(["user_id", "scope"]).doUpdateSet({
        roles: sql<string[]>`memberships.roles || ARRAY(
          SELECT r FROM unnest(excluded.roles) AS r WHERE r <> ALL (memberships.roles)
        )`,
      }),
    )
    .execute();
}

export async function deleteMemberships(db: Kysely<Database>, userId: string): Promise<void> {
  await db.deleteFrom("memberships").where("user_id", "=", userId).execute();
}
