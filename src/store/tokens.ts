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
