/** The Store (src/domain/store.ts) over Kysely: one Kysely handle, a transaction, or the pool. */
import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";
import type { Store, StoreTx } from "../domain/store.js";
import * as codes from "./codes.js";
import * as events from "./events.js";
import * as memberships from "./memberships.js";
import * as metadata from "./metadata.js";
import * as notifications from "./notifications.js";
import * as orgList from "./org-list.js";
import * as orgs from "./orgs.js";
import * as settings from "./settings.js";
import * as tokens from "./tokens.js";
import { purgeUserData } from "./user-purge.js";
import * as userList from "./user-list.js";
import * as users from "./users.js";

export interface CreateStoreOptions {
  /** What `Store.close()` does; default: destroy the Kysely pool. Pass `OpenedDatabase.close`. */
  close?: () => Promise<void>;
}

export function createStore(db: Kysely<Database>, opts: CreateStoreOptions = {}): Store {
  return {
    transaction: (fn) =>
      db
        .transaction()
        .setIsolationLevel("read committed")
        .execute((trx) => fn(operations(trx))),
    read: operations(db),
    withAdvisoryLock: (key, fn) =>
      db.transaction().execute(async (trx) => {
        await sql`SELECT pg_advisory_xact_lock(${key}::bigint)`.execute(trx);
        return fn(operations(trx));
      }),
    close: opts.close ?? (() => db.destroy()),
  };
}

function operations(db: Kysely<Database>): StoreTx {
  return {
    lockUser: (id) => users.getUser(db, id, true),
    getUser: (id) => users.getUser(db, id),
    usernameTaken: (username, exceptUserId) => users.usernameTaken(db, username, exceptUserId),
    insertUser: (user) => users.insertUser(db, user),
    updateUser: (user) => users.updateUser(db, user),
    appendEvents: (list) => events.appendEvents(db, list),
    listEvents: (aggregateId, aggregateType) => events.listEvents(db, aggregateId, aggregateType),
    latestEventPosition: () => events.latestEventPosition(db),
    listUsers: (query) => userList.listUsers(db, query),
    listOrgs: (query) => orgList.listOrgs(db, query),
    setMetadata: (userId, key, value) => metadata.setMetadata(db, userId, key, value),
    getMetadata: (userId) => metadata.getMetadata(db, userId),
    purgeUserData: (userId) => purgeUserData(db, userId),

    getCode: (userId, purpose) => codes.getCode(db, userId, purpose),
    putCode: (code) => codes.putCode(db, code),
    deleteCode: (userId, purpose) => codes.deleteCode(db, userId, purpose),
    setCodeFailedAttempts: (userId, purpose, n) => codes.setCodeFailedAttempts(db, userId, purpose, n),
    insertNotification: (n) => notifications.insertNotification(db, n),

    getOrg: (id) => orgs.getOrg(db, id),
    insertOrg: (org) => orgs.insertOrg(db, org),
    getMemberships: (userId) => memberships.getMemberships(db, userId),
    addMembership: (m) => memberships.addMembership(db, m),
    deleteMemberships: (userId) => memberships.deleteMemberships(db, userId),

    findTokenByHash: (hash) => tokens.findTokenByHash(db, hash),
    insertToken: (t) => tokens.insertToken(db, t),
    listTokens: (userId) => tokens.listTokens(db, userId),
    revokeToken: (id, at) => tokens.revokeToken(db, id, at),

    getSetting: (key) => settings.getSetting(db, key),
    putSettingIfAbsent: (key, value) => settings.putSettingIfAbsent(db, key, value),
  };
}
