import type { Kysely, Selectable } from "kysely";
import type { Database, TokensTable } from "./schema.js";
import type { TokenRecord } from "../domain/store.js";

export async function findTokenByHash(db: Kysely<Database>, hash: Buffer): Promise<TokenRecord | undefined> {
  const row = await db.selectFrom("tokens").selectAll().where("hash", "=", hash).executeTakeFirst();
  return row && toRecord(row);
}

export async function insertToken(db: Kysely<Database>, t: TokenRecord): Promise<void> {
  await db
    .insertInto("tokens")
    .values({
      id: t.id,
      user_id: t.userId,
      hash: t.hash,
      expires_at: t.expiresAt,
      revoked_at: t.revokedAt,
      created_at: t.createdAt,
    })
    .execute();
}

export async function listTokens(db: Kysely<Database>, userId: string): Promise<TokenRecord[]> {
  const rows = await db.selectFrom("tokens").selectAll().where("user_id", "=", userId).orderBy("created_at").orderBy("id").execute();
  return rows.map(toRecord);
}

/** Revokes the token (an earlier revocation stays); the id of its user, undefined when there is no such token. */
export async function revokeToken(db: Kysely<Database>, id: string, at: Date): Promise<string | undefined> {
  const row = await db
    .updateTable("tokens")
    .set((eb) => ({ revoked_at: eb.fn.coalesce("revoked_at", eb.val(at)) }))
    .where("id", "=", id)
    .returning("user_id")
    .executeTakeFirst();
  return row?.user_id;
}

function toRecord(r: Selectable<TokensTable>): TokenRecord {
  return {
    id: r.id,
    userId: r.user_id,
    hash: r.hash,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    createdAt: r.created_at,
  };
}
