import type { Kysely, Selectable } from "kysely";
import type { CodesTable, Database } from "./schema.js";
import type { CodeDelivery, CodePurpose, CodeRecord } from "../domain/store.js";

export async function getCode(db: Kysely<Database>, userId: string, purpose: CodePurpose): Promise<CodeRecord | undefined> {
  const row = await db
    .selectFrom("codes")
    .selectAll()
    .where("user_id", "=", userId)
    .where("purpose", "=", purpose)
    .executeTakeFirst();
  return row && toRecord(row);
}

/** A user holds at most one code per purpose: a new one replaces the old. */
export async function putCode(db: Kysely<Database>, c: CodeRecord): Promise<void> {
  const row = {
    user_id: c.userId,
    purpose: c.purpose,
    hash: c.hash,
    created_at: c.createdAt,
    expires_at: c.expiresAt,
    failed_attempts: c.failedAttempts,
    delivery: c.delivery,
    url_template: c.urlTemplate,
  };
  const { user_id: _u, purpose: _p, ...replace } = row;
  await db
    .insertInto("codes")
    .values(row)
    .onConflict((oc) => oc.columns(["user_id", "purpose"]).doUpdateSet(replace))
    .execute();
}

export async function deleteCode(db: Kysely<Database>, userId: string, purpose: CodePurpose): Promise<void> {
  await db.deleteFrom("codes").where("user_id", "=", userId).where("purpose", "=", purpose).execute();
}

export async function setCodeFailedAttempts(
  db: Kysely<Database>,
  userId: string,
  purpose: CodePurpose,
  failedAttempts: number,
): Promise<void> {
  await db
    .updateTable("codes")
    .set({ failed_attempts: failedAttempts })
    .where("user_id", "=", userId)
    .where("purpose", "=", purpose)
    .execute();
}

function toRecord(r: Selectable<CodesTable>): CodeRecord {
  return {
    userId: r.user_id,
    purpose: r.purpose as CodePurpose,
    hash: r.hash,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    failedAttempts: r.failed_attempts,
    delivery: r.delivery as CodeDelivery,
    urlTemplate: r.url_template,
  };
}
