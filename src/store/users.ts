import { sql, type Insertable, type Kysely, type Selectable } from "kysely";
import type { Database, UsersTable } from "./schema.js";
import { isUniqueViolation } from "./pg-errors.js";
import { UserIdConflict, UsernameConflict, type Gender, type UserRecord, type UserState, type UserType } from "../domain/store.js";
import { foldCase } from "../domain/users/user-filter.js";

/** Index that keeps live usernames unique, case-insensitively (see migrations/0001). */
const USERNAME_INDEX = "users_username_folded_live";

/** The case-insensitive form of a username: Unicode lower case, computed here, never by collation. */
export function foldUsername(username: string): string {
  return foldCase(username);
}

/**
 * The row version (PostgreSQL's `xmin`, new with every write of the row) of each record this
 * store read or wrote: the fast write checks it besides the sequence, so that a write made beside
 * Roster that left the sequence alone is noticed too.
 */
export const rowVersions = new WeakMap<UserRecord, string>();

export async function getUser(db: Kysely<Database>, id: string, forUpdate = false): Promise<UserRecord | undefined> {
  let query = db
    .selectFrom("users")
    .selectAll()
    .select(sql<string>`xmin::text`.as("row_version"))
    .where("id", "=", id);
  if (forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (!row) return undefined;
  const record = toRecord(row);
  rowVersions.set(record, row.row_version);
  return record;
}

export async function usernameTaken(db: Kysely<Database>, username: string, exceptUserId?: string): Promise<boolean> {
  let query = db
    .selectFrom("users")
    .select("id")
    .where("username_folded", "=", foldUsername(username))
    .where("state", "<>", "deleted");
  if (exceptUserId !== undefined) query = query.where("id", "<>", exceptUserId);
  return (await query.limit(1).executeTakeFirst()) !== undefined;
}

/** Inserts, or takes over the row of a deleted user with the same id. */
export async function insertUser(db: Kysely<Database>, user: UserRecord): Promise<void> {
  const row = toRow(user);
  const result = await translateConflict(() =>
    db
      .insertInto("users")
      .values(row)
      .onConflict((oc) => oc.column("id").doUpdateSet(row).where("users.state", "=", "deleted"))
      .executeTakeFirst(),
  );
  if (result.numInsertedOrUpdatedRows === 0n) throw new UserIdConflict();
}

export async function updateUser(db: Kysely<Database>, user: UserRecord): Promise<void> {
  const { id, ...changes } = toRow(user);
  const result = await translateConflict(() =>
    db.updateTable("users").set(changes).where("id", "=", id).executeTakeFirst(),
  );
  if (result.numUpdatedRows === 0n) throw new Error(`user ${id} does not exist`);
}

/** Runs a write of the users table, turning a taken username into UsernameConflict. */
export async function translateConflict<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isUniqueViolation(err, USERNAME_INDEX)) throw new UsernameConflict();
    throw err;
  }
}

export function toRow(u: UserRecord): Insertable<UsersTable> {
  return {
    id: u.id,
    org_id: u.orgId,
    type: u.type,
    state: u.state,
    username: u.username,
    username_folded: foldUsername(u.username),
    given_name: u.givenName,
    family_name: u.familyName,
    nick_name: u.nickName,
    display_name: u.displayName,
    given_name_folded: foldCase(u.givenName),
    family_name_folded: foldCase(u.familyName),
    nick_name_folded: foldCase(u.nickName),
    display_name_folded: foldCase(u.displayName),
    email_folded: foldCase(u.email),
    preferred_language: u.preferredLanguage,
    gender: u.gender,
    email: u.email,
    email_verified: u.emailVerified,
    phone: u.phone,
    phone_verified: u.phoneVerified,
    password_hash: u.passwordHash,
    password_change_required: u.passwordChangeRequired,
    password_changed_at: u.passwordChangedAt,
    machine_name: u.machineName,
    machine_description: u.machineDescription,
    sequence: u.sequence,
    created_at: u.createdAt,
    changed_at: u.changedAt,
  };
}

export function toRecord(r: Selectable<UsersTable>): UserRecord {
  return {
    id: r.id,
    orgId: r.org_id,
    type: r.type as UserType,
    state: r.state as UserState,
    username: r.username,
    givenName: r.given_name,
    familyName: r.family_name,
    nickName: r.nick_name,
    displayName: r.display_name,
    preferredLanguage: r.preferred_language,
    gender: r.gender as Gender,
    email: r.email,
    emailVerified: r.email_verified,
    phone: r.phone,
    phoneVerified: r.phone_verified,
    passwordHash: r.password_hash,
    passwordChangeRequired: r.password_change_required,
    passwordChangedAt: r.password_changed_at,
    machineName: r.machine_name,
    machineDescription: r.machine_description,
    sequence: Number(r.sequence),
    createdAt: r.created_at,
    changedAt: r.changed_at,
  };
}
