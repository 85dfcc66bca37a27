/**
 * The Store (src/domain/store.ts) in memory: the same interfaces as the PostgreSQL store, for fast
 * command tests. Transactions run one at a time on a private copy of the data that replaces the
 * committed data when they succeed, so a failing command leaves nothing behind and readers never
 * see uncommitted writes. Where PostgreSQL has a behaviour a caller can see, this store copies it:
 * a failed operation aborts its transaction (later operations fail, and it cannot commit), a
 * transaction's handle is dead once it ended, event payloads come back as JSON, and lists are
 * ordered by code point (the PostgreSQL store orders with `COLLATE "C"`). The shared contract
 * suite (test/support/store-contract.ts) holds both stores to the same behaviour.
 */
import {
  OrgConflict,
  UserIdConflict,
  UsernameConflict,
  type CodeRecord,
  type EventRecord,
  type MembershipRecord,
  type NewNotification,
  type OrgRecord,
  type PrincipalChangeListener,
  type PrincipalUser,
  type Store,
  type StoreTx,
  type TokenRecord,
  type UserRecord,
} from "../domain/store.js";
import { selectOrgs, type OrgSummary } from "../domain/orgs/org-filter.js";
import { selectUsers } from "../domain/users/user-filter.js";

/** A notification as the in-memory store keeps it (the PostgreSQL table has the same columns). */
export interface MemoryNotification extends NewNotification {
  id: number;
  status: "pending" | "sent" | "failed";
}

interface Data {
  users: Map<string, UserRecord>;
  events: EventRecord[];
  metadata: Map<string, Map<string, Buffer>>;
  codes: Map<string, CodeRecord>;
  notifications: MemoryNotification[];
  orgs: Map<string, OrgRecord>;
  memberships: Map<string, MembershipRecord>;
  tokens: Map<string, TokenRecord>;
  settings: Map<string, string>;
  nextPosition: number;
  nextNotificationId: number;
  /** A user row's version: new with every write (PostgreSQL's xmin). */
  userVersions: Map<string, number>;
  nextUserVersion: number;
}

/** The row version of each user record this store returned or wrote (as users.ts does with xmin). */
const rowVersions = new WeakMap<UserRecord, number>();

export interface MemoryStore extends Store {
  /** Committed notifications, oldest first (tests assert on the outbox). */
  notifications(): MemoryNotification[];
}

const fold = (s: string): string => s.toLowerCase();
/** Code point order, as PostgreSQL's "C" collation compares UTF-8 bytes. */
const byCodePoint = (a: string, b: string): number => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
const codeKey = (userId: string, purpose: string): string => `${userId}\u0000${purpose}`;
const membershipKey = (userId: string, scope: string): string => `${userId}\u0000${scope}`;

// Every record crosses the store boundary as a copy (Dates and Buffers included), as rows read
// from a database are: changing what a call returned, or what was passed in, changes nothing stored.
const date = (d: Date): Date => new Date(d.getTime());
const dateOrNull = (d: Date | null): Date | null => (d === null ? null : date(d));
const copyUser = (u: UserRecord): UserRecord => ({
  ...u,
  passwordChangedAt: dateOrNull(u.passwordChangedAt),
  createdAt: date(u.createdAt),
  changedAt: date(u.changedAt),
});
const copyCode = (c: CodeRecord): CodeRecord => ({ ...c, hash: Buffer.from(c.hash), createdAt: date(c.createdAt), expiresAt: date(c.expiresAt) });
/** A payload as a jsonb column gives it back: JSON values only (Dates as strings, no undefined). */
const asJson = (payload: Record<string, unknown>): Record<string, unknown> => JSON.parse(JSON.stringify(payload)) as Record<string, unknown>;
const copyEvent = (e: EventRecord): EventRecord => ({ ...e, payload: asJson(e.payload), createdAt: date(e.createdAt) });
const copyToken = (t: TokenRecord): TokenRecord => ({
  ...t,
  hash: Buffer.from(t.hash),
  expiresAt: dateOrNull(t.expiresAt),
  revokedAt: dateOrNull(t.revokedAt),
  createdAt: date(t.createdAt),
});
const copyMembership = (m: MembershipRecord): MembershipRecord => ({ ...m, roles: [...m.roles] });
const copyOrg = (o: OrgRecord): OrgRecord => ({ ...o, createdAt: date(o.createdAt) });
const copyNotification = (n: MemoryNotification): MemoryNotification => ({
  ...n,
  encryptedPayload: Buffer.from(n.encryptedPayload),
  createdAt: date(n.createdAt),
});

function emptyData(): Data {
  return {
    users: new Map(),
    events: [],
    metadata: new Map(),
    codes: new Map(),
    notifications: [],
    orgs: new Map(),
    memberships: new Map(),
    tokens: new Map(),
    settings: new Map(),
    nextPosition: 1,
    nextNotificationId: 1,
    userVersions: new Map(),
    nextUserVersion: 1,
  };
}

function cloneData(d: Data): Data {
  return {
    users: new Map([...d.users].map(([k, v]) => [k, copyUser(v)])),
    events: d.events.map(copyEvent),
    metadata: new Map([...d.metadata].map(([k, v]) => [k, new Map([...v].map(([mk, mv]) => [mk, Buffer.from(mv)]))])),
    codes: new Map([...d.codes].map(([k, v]) => [k, copyCode(v)])),
    notifications: d.notifications.map(copyNotification),
    orgs: new Map([...d.orgs].map(([k, v]) => [k, copyOrg(v)])),
    memberships: new Map([...d.memberships].map(([k, v]) => [k, copyMembership(v)])),
    tokens: new Map([...d.tokens].map(([k, v]) => [k, copyToken(v)])),
    settings: new Map(d.settings),
    nextPosition: d.nextPosition,
    nextNotificationId: d.nextNotificationId,
    userVersions: new Map(d.userVersions),
    nextUserVersion: d.nextUserVersion,
  };
}

/** The operations of StoreTx over one Data; `get` gives the data they act on at call time. */
function operations(get: () => Data, changed: Set<string> = new Set()): StoreTx {
  const principalOf = (d: Data, userId: string): PrincipalUser | undefined => {
    const u = d.users.get(userId);
    if (!u) return undefined;
    const memberships = [...d.memberships.values()]
      .filter((m) => m.userId === userId)
      .sort((a, b) => byCodePoint(a.scope, b.scope))
      .map(copyMembership);
    return { id: u.id, orgId: u.orgId, state: u.state, memberships };
  };
  const usernameHeld = (d: Data, username: string, exceptUserId?: string): boolean => {
    const folded = fold(username);
    for (const u of d.users.values()) {
      if (u.state !== "deleted" && u.id !== exceptUserId && fold(u.username) === folded) return true;
    }
    return false;
  };

  const versioned = (d: Data, u: UserRecord | undefined): UserRecord | undefined => {
    if (!u) return undefined;
    const copy = copyUser(u);
    rowVersions.set(copy, d.userVersions.get(u.id) ?? 0);
    return copy;
  };
  const written = (d: Data, id: string): void => {
    d.userVersions.set(id, d.nextUserVersion++);
  };
  return {
    async lockUser(id) {
      const d = get();
      return versioned(d, d.users.get(id));
    },
    async getUser(id) {
      const d = get();
      return versioned(d, d.users.get(id));
    },
    async usernameTaken(username, exceptUserId) {
      return usernameHeld(get(), username, exceptUserId);
    },
    async insertUser(user) {
      const d = get();
      const previous = d.users.get(user.id);
      if (previous && previous.state !== "deleted") throw new UserIdConflict();
      if (user.state !== "deleted" && usernameHeld(d, user.username, user.id)) throw new UsernameConflict();
      d.users.set(user.id, copyUser(user));
      written(d, user.id);
    },
    async updateUser(user) {
      const d = get();
      if (!d.users.has(user.id)) throw new Error(`user ${user.id} does not exist`);
      if (user.state !== "deleted" && usernameHeld(d, user.username, user.id)) throw new UsernameConflict();
      d.users.set(user.id, copyUser(user));
      written(d, user.id);
      if (user.state !== "active") changed.add(user.id);
    },
    async setMetadata(userId, key, value) {
      const d = get();
      let entries = d.metadata.get(userId);
      if (!entries) d.metadata.set(userId, (entries = new Map()));
      entries.set(key, Buffer.from(value));
    },
    async getMetadata(userId) {
      const entries = get().metadata.get(userId) ?? new Map<string, Buffer>();
      return [...entries]
        .sort(([a], [b]) => byCodePoint(a, b))
        .map(([key, value]) => ({ key, value: Buffer.from(value) }));
    },
    async purgeUserData(userId) {
      const d = get();
      d.metadata.delete(userId);
      for (const [k, c] of d.codes) if (c.userId === userId) d.codes.delete(k);
      d.notifications = d.notifications.filter((n) => n.userId !== userId || n.status !== "pending");
      for (const [k, m] of d.memberships) if (m.userId === userId) d.memberships.delete(k);
      for (const [k, t] of d.tokens) if (t.userId === userId) d.tokens.delete(k);
      changed.add(userId);
    },

    async appendEvents(list) {
      const d = get();
      const taken = new Set(d.events.map((e) => `${e.aggregateType}\u0000${e.aggregateId}\u0000${e.sequence}`));
      for (const e of list) {
        const key = `${e.aggregateType}\u0000${e.aggregateId}\u0000${e.sequence}`;
        if (taken.has(key)) throw new Error(`duplicate event sequence ${e.sequence} of ${e.aggregateType} ${e.aggregateId}`);
        taken.add(key);
      }
      for (const e of list) d.events.push(copyEvent({ ...e, position: String(d.nextPosition++) }));
    },
    async latestEventPosition() {
      return String(get().nextPosition - 1);
    },
    async listEvents(aggregateId, aggregateType = "user") {
      return get()
        .events.filter((e) => e.aggregateType === aggregateType && e.aggregateId === aggregateId)
        .sort((a, b) => a.sequence - b.sequence)
        .map(copyEvent);
    },

    async getCode(userId, purpose) {
      const c = get().codes.get(codeKey(userId, purpose));
      return c && copyCode(c);
    },
    async putCode(code) {
      get().codes.set(codeKey(code.userId, code.purpose), copyCode(code));
    },
    async deleteCode(userId, purpose) {
      get().codes.delete(codeKey(userId, purpose));
    },
    async setCodeFailedAttempts(userId, purpose, failedAttempts) {
      const c = get().codes.get(codeKey(userId, purpose));
      if (c) c.failedAttempts = failedAttempts;
    },
    async insertNotification(n) {
      const d = get();
      d.notifications.push(copyNotification({ ...n, id: d.nextNotificationId++, status: "pending" }));
    },

    async listUsers(query) {
      const d = get();
      const page = selectUsers(d.users.values(), query);
      return { ...page, users: page.users.map(copyUser), latestPosition: String(d.nextPosition - 1) };
    },
    async listOrgs(query) {
      const d = get();
      const summaries: OrgSummary[] = [...d.orgs.values()].map((o) => {
        const stream = d.events.filter((e) => e.aggregateType === "org" && e.aggregateId === o.id);
        const latest = stream.reduce<EventRecord | undefined>((m, e) => (!m || e.sequence > m.sequence ? e : m), undefined);
        return {
          id: o.id,
          name: o.name,
          state: "active",
          createdAt: new Date(o.createdAt),
          sequence: latest?.sequence ?? 0,
          changedAt: new Date((latest?.createdAt ?? o.createdAt).getTime()),
        };
      });
      return selectOrgs(summaries, query);
    },
    async getOrg(id) {
      const o = get().orgs.get(id);
      return o && copyOrg(o);
    },
    async insertOrg(org) {
      const d = get();
      if (d.orgs.has(org.id)) throw new OrgConflict();
      for (const o of d.orgs.values()) if (fold(o.name) === fold(org.name)) throw new OrgConflict();
      d.orgs.set(org.id, copyOrg(org));
    },
    async getMemberships(userId) {
      return [...get().memberships.values()]
        .filter((m) => m.userId === userId)
        .sort((a, b) => byCodePoint(a.scope, b.scope))
        .map(copyMembership);
    },
    async addMembership(m) {
      const d = get();
      const key = membershipKey(m.userId, m.scope);
      const existing = d.memberships.get(key);
      const roles = existing ? [...existing.roles, ...m.roles.filter((r) => !existing.roles.includes(r))] : [...new Set(m.roles)];
      d.memberships.set(key, { userId: m.userId, scope: m.scope, roles: [...new Set(roles)] });
      changed.add(m.userId);
    },
    async deleteMemberships(userId) {
      const d = get();
      for (const [k, m] of d.memberships) if (m.userId === userId) d.memberships.delete(k);
      changed.add(userId);
    },

    async findTokenByHash(hash) {
      for (const t of get().tokens.values()) if (t.hash.equals(hash)) return copyToken(t);
      return undefined;
    },
    async insertToken(t) {
      const d = get();
      if (d.tokens.has(t.id)) throw new Error(`token ${t.id} exists`);
      for (const other of d.tokens.values()) if (other.hash.equals(t.hash)) throw new Error("token hash exists");
      d.tokens.set(t.id, copyToken(t));
    },
    async listTokens(userId) {
      return [...get().tokens.values()]
        .filter((t) => t.userId === userId)
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .map(copyToken);
    },
    async revokeToken(id, at) {
      const t = get().tokens.get(id);
      if (!t) return false;
      t.revokedAt ??= at;
      changed.add(t.userId);
      return true;
    },

    async findTokenPrincipal(hash) {
      const d = get();
      for (const t of d.tokens.values()) {
        if (!t.hash.equals(hash)) continue;
        const token = { id: t.id, userId: t.userId, expiresAt: dateOrNull(t.expiresAt), revokedAt: dateOrNull(t.revokedAt) };
        return { token, user: principalOf(d, t.userId) };
      }
      return undefined;
    },
    async getPrincipalUser(userId) {
      return principalOf(get(), userId);
    },
    async principalChanged(userId) {
      changed.add(userId);
    },

    async getSetting(key) {
      return get().settings.get(key);
    },
    async putSettingIfAbsent(key, value) {
      const d = get();
      if (!d.settings.has(key)) d.settings.set(key, value);
      return d.settings.get(key)!;
    },
  };
}

/** What PostgreSQL reports for a statement in a transaction that an earlier failure aborted. */
const ABORTED = "current transaction is aborted, commands ignored until end of transaction block";

/**
 * A transaction's handle: once one of its operations failed, every later one fails and the
 * transaction cannot commit (PostgreSQL's aborted state); once the transaction ended, the handle
 * refuses every call, so a stray write cannot reach the committed data.
 */
function transactionHandle(ops: StoreTx, state: { aborted: boolean; ended: boolean }): StoreTx {
  const handle: Record<string, unknown> = {};
  for (const [name, op] of Object.entries(ops) as [string, (...args: unknown[]) => Promise<unknown>][]) {
    handle[name] = async (...args: unknown[]) => {
      if (state.ended) throw new Error("Transaction is already committed or rolled back");
      if (state.aborted) throw new Error(ABORTED);
      try {
        return await op(...args);
      } catch (e) {
        state.aborted = true;
        throw e;
      }
    };
  }
  return handle as unknown as StoreTx;
}

export function createMemoryStore(): MemoryStore {
  let committed = emptyData();
  let queue: Promise<unknown> = Promise.resolve();
  const listeners = new Set<PrincipalChangeListener>();

  /** One transaction at a time, on a copy that becomes the committed data on success. */
  const transaction = <T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> => {
    const run = queue.then(async () => {
      const working = cloneData(committed);
      const state = { aborted: false, ended: false };
      const changed = new Set<string>();
      try {
        const result = await fn(transactionHandle(operations(() => working, changed), state));
        if (state.aborted) throw new Error("Transaction was rolled back instead of committed: an operation in it failed");
        committed = working;
        for (const id of changed) for (const l of listeners) l(id);
        return result;
      } finally {
        state.ended = true;
      }
    });
    queue = run.catch(() => undefined);
    return run;
  };

  return {
    transaction,
    read: operations(() => committed),
    applyUserChange: (change) =>
      transaction(async (tx) => {
        const current = await tx.lockUser(change.before.id);
        if (!current || current.sequence !== change.before.sequence) return false;
        const version = rowVersions.get(change.before);
        if (version !== undefined && version !== rowVersions.get(current)) return false;
        await tx.updateUser(change.after);
        const now = await tx.lockUser(change.before.id);
        rowVersions.set(change.after, rowVersions.get(now!)!);
        await tx.appendEvents(change.events);
        for (const purpose of change.discardCodes) await tx.deleteCode(change.before.id, purpose);
        if (change.principalChanged) await tx.principalChanged(change.before.id);
        return true;
      }),
    onPrincipalChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    withAdvisoryLock: (_key, fn) => transaction(fn),
    notifications: () => committed.notifications.map(copyNotification),
    close: async () => undefined,
  };
}
