import type { Kysely } from "kysely";
import type { Database } from "./schema.js";
import { isUniqueViolation } from "./pg-errors.js";
import { OrgConflict, type OrgRecord } from "../domain/store.js";

/** Organization names are unique case-insensitively (Unicode lower case), like usernames. */
export function foldOrgName(name: string): string {
  return name.toLowerCase();
}

export async function getOrg(db: Kysely<Database>, id: string): Promise<OrgRecord | undefined> {
  const row = await db.selectFrom("organizations").select(["id", "name", "created_at"]).where("id", "=", id).executeTakeFirst();
  return row && { id: row.id, name: row.name, createdAt: row.created_at };
}

export async function insertOrg(db: Kysely<Database>, org: OrgRecord): Promise<void> {
  try {
    await db
      .insertInto("organizations")
      .values({ id: org.id, name: org.name, name_folded: foldOrgName(org.name), created_at: org.createdAt })
      .execute();
  } catch (err) {
    if (isUniqueViolation(err, "organizations_pkey", "organizations_name_folded_key")) throw new OrgConflict();
    throw err;
  }
}
