/**
 * Fast command tests on the in-memory store: a DomainDeps with a clock the test moves, bcrypt at
 * its lowest cost, fixed keys, and helpers to seed organizations, users and memberships and to
 * read back what a command wrote. Given state + request → events, state, error id.
 */
import assert from "node:assert/strict";
import { deriveKeys } from "../../src/config/keys.js";
import type { DomainDeps } from "../../src/domain/deps.js";
import { DomainError } from "../../src/domain/errors.js";
import { createPermissionChecker, INSTANCE_SCOPE } from "../../src/domain/permissions.js";
import type { Principal } from "../../src/domain/principal.js";
import type { EventRecord, UserRecord } from "../../src/domain/store.js";
import { createPasswordHasher } from "../../src/domain/users/password-hash.js";
import { createMemoryStore, type MemoryStore } from "../../src/store/memory-store.js";
import { createTestClock, type TestClock } from "./clock.js";

export interface DomainWorld {
  deps: DomainDeps;
  store: MemoryStore;
  clock: TestClock;
  /** Adds an organization. */
  org(id: string, name?: string): Promise<string>;
  /** Adds a user (active human in `orgId` unless overridden) with one `user.human.added` event. */
  user(overrides: Partial<UserRecord> & { id: string }): Promise<UserRecord>;
  /** Gives `userId` roles on a scope ("instance" or an org id). */
  grant(userId: string, scope: string, roles: string[]): Promise<void>;
  /** The principal of a stored user, with its memberships. */
  principal(userId: string): Promise<Principal>;
  stored(userId: string): Promise<UserRecord>;
  events(userId: string): Promise<EventRecord[]>;
}

export const START = new Date("2026-06-01T12:00:00.000Z");

export async function createDomainWorld(): Promise<DomainWorld> {
  const store = createMemoryStore();
  const clock = createTestClock(START);
  const deps: DomainDeps = {
    store,
    permissions: createPermissionChecker(),
    hasher: createPasswordHasher({ cost: 4, maxConcurrent: 2 }),
    keys: deriveKeys(Buffer.alloc(32, 9)),
    codes: {
      email: { length: 6, expirySeconds: 3600 },
      phone: { length: 6, expirySeconds: 3600 },
      passwordReset: { length: 6, expirySeconds: 3600 },
    },
    defaultUrlTemplates: {
      emailVerification: "https://id.example/verify?user={{.UserID}}&code={{.Code}}",
      passwordReset: "https://id.example/reset?user={{.UserID}}&code={{.Code}}",
    },
    passwordPolicy: { minLength: 8, hasLowercase: true, hasUppercase: true, hasNumber: true, hasSymbol: true },
    now: clock.now,
  };

  return {
    deps,
    store,
    clock,
    async org(id, name = `Org ${id}`) {
      await store.transaction((tx) => tx.insertOrg({ id, name, createdAt: clock.now() }));
      return id;
    },
    async user(overrides) {
      const now = clock.now();
      const user: UserRecord = {
        orgId: "acme",
        type: "human",
        state: "active",
        username: overrides.id,
        givenName: "Ada",
        familyName: "Lovelace",
        nickName: "",
        displayName: "Ada Lovelace",
        preferredLanguage: "en",
        gender: 0,
        email: `${overrides.id}@example.com`,
        emailVerified: true,
        phone: "",
        phoneVerified: false,
        passwordHash: null,
        passwordChangeRequired: false,
        passwordChangedAt: null,
        machineName: "",
        machineDescription: "",
        sequence: 1,
        createdAt: now,
        changedAt: now,
        ...overrides,
        id: overrides.id,
      };
      await store.transaction(async (tx) => {
        await tx.insertUser(user);
        await tx.appendEvents([
          { aggregateType: "user", aggregateId: user.id, sequence: user.sequence, type: "user.human.added", payload: { userId: user.id }, actorId: "", orgId: user.orgId, createdAt: now },
        ]);
      });
      return user;
    },
    async grant(userId, scope, roles) {
      await store.transaction((tx) => tx.addMembership({ userId, scope, roles }));
    },
    async principal(userId) {
      const user = await store.read.getUser(userId);
      assert.ok(user, `no user ${userId}`);
      return { userId, orgId: user.orgId, memberships: await store.read.getMemberships(userId) };
    },
    async stored(userId) {
      const user = await store.read.getUser(userId);
      assert.ok(user, `no user ${userId}`);
      return user;
    },
    events: (userId) => store.read.listEvents(userId),
  };
}

export { INSTANCE_SCOPE };

/** Awaits `p` and asserts it fails with the DomainError of that id (and kind, when given). */
export async function rejectsWith(p: Promise<unknown>, id: string, kind?: DomainError["kind"]): Promise<DomainError> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof DomainError)) throw e;
    assert.equal(e.id, id, `expected ${id}, got ${e.id} (${e.message})`);
    if (kind) assert.equal(e.kind, kind);
    return e;
  }
  assert.fail(`expected ${id}, but the command succeeded`);
}

/** The event types of a user after its first `skip` events. */
export async function eventTypes(world: DomainWorld, userId: string, skip = 1): Promise<string[]> {
  return (await world.events(userId)).slice(skip).map((e) => e.type);
}
