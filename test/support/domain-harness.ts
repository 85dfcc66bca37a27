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
import type { CodePurpose, CodeRecord, EventRecord, MembershipRecord, UserRecord } from "../../src/domain/store.js";
import { createPasswordHasher } from "../../src/domain/users/password-hash.js";
import { issueCode } from "../../src/domain/users/verification-codes.js";
import { createMemoryStore, type MemoryNotification, type MemoryStore } from "../../src/store/memory-store.js";
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
  /** Gives the user a pending code of that purpose (replacing one); returns the plain code. */
  code(userId: string, purpose: CodePurpose, overrides?: Partial<Pick<CodeRecord, "failedAttempts" | "delivery">>): Promise<string>;
  /** The user's notifications in the outbox, oldest first. */
  notifications(userId: string): MemoryNotification[];
  /** Everything stored about one user, to compare before and after a request. */
  snapshot(userId: string): Promise<UserSnapshot>;
  /** Asserts that nothing stored about the user changed since `before`. */
  assertUnchanged(before: UserSnapshot): Promise<void>;
}

export interface UserSnapshot {
  userId: string;
  user: UserRecord | undefined;
  events: EventRecord[];
  codes: Record<CodePurpose, CodeRecord | undefined>;
  metadata: { key: string; value: Buffer }[];
  memberships: MembershipRecord[];
  notifications: MemoryNotification[];
}

export const START = new Date("2026-06-01T12:00:00.000Z");

/** A world on an empty in-memory store; `overrides` replace parts of its DomainDeps (e.g. the hasher). */
export async function createDomainWorld(overrides: Partial<DomainDeps> = {}): Promise<DomainWorld> {
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
    ...overrides,
  };

  const snapshot = async (userId: string): Promise<UserSnapshot> => ({
    userId,
    user: await store.read.getUser(userId),
    events: await store.read.listEvents(userId),
    codes: {
      email: await store.read.getCode(userId, "email"),
      phone: await store.read.getCode(userId, "phone"),
      password_reset: await store.read.getCode(userId, "password_reset"),
    },
    metadata: await store.read.getMetadata(userId),
    memberships: await store.read.getMemberships(userId),
    notifications: store.notifications().filter((n) => n.userId === userId),
  });

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
    async code(userId, purpose, codeOverrides = {}) {
      const user = await store.read.getUser(userId);
      assert.ok(user, `no user ${userId}`);
      const issued = issueCode(deps, user, purpose, { kind: "return" }, clock.now());
      await store.transaction((tx) => tx.putCode({ ...issued.record, ...codeOverrides }));
      return issued.plain;
    },
    notifications: (userId) => store.notifications().filter((n) => n.userId === userId),
    snapshot,
    async assertUnchanged(before) {
      assert.deepEqual(await snapshot(before.userId), before, `something of ${before.userId} was written`);
    },
  };
}

export const ADA_PASSWORD = "Analytical-1843";

/**
 * The cast of update-human-user.md §12 on the in-memory store: organizations acme and globex; Ada
 * (acme, no roles; Ada / Lovelace, nick Countess, language en, female; ada@acme.example verified;
 * +41795550123 unverified with a pending phone code; password ADA_PASSWORD; sequence 9), Bob
 * (acme, no roles), Olga (ORG_USER_MANAGER of acme), Gus (ORG_OWNER of globex), Nora (globex, no
 * roles) and Ian (a machine user, IAM_OWNER).
 */
export async function seedExampleCast(w: DomainWorld): Promise<{ adaPhoneCode: string }> {
  await w.org("acme", "Acme");
  await w.org("globex", "Globex");
  await w.user({
    id: "ada",
    username: "ada",
    nickName: "Countess",
    gender: 1,
    email: "ada@acme.example",
    phone: "+41795550123",
    phoneVerified: false,
    passwordHash: await w.deps.hasher.hash(ADA_PASSWORD),
    passwordChangedAt: w.clock.now(),
    sequence: 9,
  });
  const adaPhoneCode = await w.code("ada", "phone");
  await w.user({ id: "bob", username: "bob", givenName: "Bob", familyName: "Builder", displayName: "Bob Builder" });
  await w.user({ id: "olga", username: "olga", givenName: "Olga", familyName: "Manager", displayName: "Olga Manager" });
  await w.grant("olga", "acme", ["ORG_USER_MANAGER"]);
  await w.user({ id: "gus", orgId: "globex", username: "gus", givenName: "Gus", familyName: "Owner", displayName: "Gus Owner" });
  await w.grant("gus", "globex", ["ORG_OWNER"]);
  await w.user({ id: "nora", orgId: "globex", username: "nora" });
  await w.user({ id: "ian", type: "machine", username: "ian", givenName: "", familyName: "", displayName: "", email: "", machineName: "Ian" });
  await w.grant("ian", INSTANCE_SCOPE, ["IAM_OWNER"]);
  return { adaPhoneCode };
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
