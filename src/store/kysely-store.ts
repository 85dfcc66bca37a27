/** The Store (src/domain/store.ts) over Kysely: one Kysely handle, a transaction, or the pool. */
import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";
import type { PrincipalChangeListener, Store, StoreTx } from "../domain/store.js";
import * as codes from "./codes.js";
import * as events from "./events.js";
import * as memberships from "./memberships.js";
import * as metadata from "./metadata.js";
import * as notifications from "./notifications.js";
import * as orgList from "./org-list.js";
import * as orgs from "./orgs.js";
import * as principals from "./principals.js";
import * as settings from "./settings.js";
import * as tokens from "./tokens.js";
import { purgeUserData } from "./user-purge.js";
import * as userList from "./user-list.js";
import * as users from "./users.js";
import { applyUserChange } from "./user-change.js";

export interface CreateStoreOptions {
  /** What `Store.close()` does; default: destroy the Kysely pool. Pass `OpenedDatabase.close`. */
  close?: () => Promise<void>;
}

export function createStore(db: Kysely<Database>, opts: CreateStoreOptions = {}): Store {
  const listeners = new Set<PrincipalChangeListener>();
  const dispatch = (userIds: Iterable<string>): void => {
    for (const id of userIds) for (const l of listeners) l(id);
  };
  /** Runs fn with the ids of changed principals collected, told to this process's listeners after commit. */
  const tracked = async <T>(run: (changed: Set<string>) => Promise<T>): Promise<T> => {
    const changed = new Set<string>();
    const result = await run(changed);
    dispatch(changed);
    return result;
  };
  return {
    transaction: (fn) =>
      tracked((changed) =>
        db
          .transaction()
          .setIsolationLevel("read committed")
          .execute((trx) => fn(operations(trx, changed))),
      ),
    read: operations(db, new Set()),
    async applyUserChange(change) {
      const applied = await applyUserChange(db, change);
      if (applied && change.principalChanged) dispatch([change.before.id]);
      return applied;
    },
    onPrincipalChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    withAdvisoryLock: (key, fn) =>
      tracked((changed) =>
        db.transaction().execute(async (trx) => {
          await sql`SELECT pg_advisory_xact_lock(${key}::bigint)`.execute(trx);
          return fn(operations(trx, changed));
        }),
      ),
    close: opts.close ?? (() => db.destroy()),
  };
}

/** `changed` collects the users whose principal a write of this handle changed. */
function operations(db: Kysely<Database>, changed: Set<string>): StoreTx {
  const principalChanged = async (userId: string): Promise<void> => {
    if (changed.has(userId)) return;
    await principals.notifyPrincipalChanged(db, userId);
    changed.add(userId);
  };
  return {
    lockUser: (id) => users.getUser(db, id, true),
    getUser: (id) => users.getUser(db, id),
    usernameTaken: (username, exceptUserId) => users.usernameTaken(db, username, exceptUserId),
    insertUser: (user) => users.insertUser(db, user),
    updateUser: async (user) => {
      await users.updateUser(db, user);
      // a user that is not active may hold no access: whatever was cached of it goes
      if (user.state !== "active") await principalChanged(user.id);
    },
    appendEvents: (list) => events.appendEvents(db, list),
    listEvents: (aggregateId, aggregateType) => events.listEvents(db, aggregateId, aggregateType),
    latestEventPosition: () => events.latestEventPosition(db),
    listUsers: (query) => userList.listUsers(db, query),
    listOrgs: (query) => orgList.listOrgs(db, query),
    setMetadata: (userId, key, value) => metadata.setMetadata(db, userId, key, value),
    getMetadata: (userId) => metadata.getMetadata(db, userId),
    purgeUserData: async (userId) => {
      await purgeUserData(db, userId);
      await principalChanged(userId);
    },

    getCode: (userId, purpose) => codes.getCode(db, userId, purpose),
    putCode: (code) => codes.putCode(db, code),
    deleteCode: (userId, purpose) => codes.deleteCode(db, userId, purpose),
    setCodeFailedAttempts: (userId, purpose, n) => codes.setCodeFailedAttempts(db, userId, purpose, n),
    insertNotification: (n) => notifications.insertNotification(db, n),

    getOrg: (id) => orgs.getOrg(db, id),
    insertOrg: (org) => orgs.insertOrg(db, org),
    getMemberships: (userId) => memberships.getMemberships(db, userId),
    addMembership: async (m) => {
      await memberships.addMembership(db, m);
      await principalChanged(m.userId);
    },
    deleteMemberships: async (userId) => {
      await memberships.deleteMemberships(db, userId);
      await principalChanged(userId);
    },

    findTokenByHash: (hash) => tokens.findTokenByHash(db, hash),
    insertToken: (t) => tokens.insertToken(db, t),
    findTokenPrincipal: (hash) => principals.findTokenPrincipal(db, hash),
    getPrincipalUser: (userId) => principals.getPrincipalUser(db, userId),
    principalChanged,
    listTokens: (userId) => tokens.listTokens(db, userId),
    revokeToken: async (id, at) => {
      const userId = await tokens.revokeToken(db, id, at);
      if (userId === undefined) return false;
      // every process drops what it cached of the token's user
      await principalChanged(userId);
      return true;
    },

    getSetting: (key) => settings.getSetting(db, key),
    putSettingIfAbsent: (key, value) => settings.putSettingIfAbsent(db, key, value),
  };
}
