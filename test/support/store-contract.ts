/**
 * The store contract: what every implementation of the domain's Store (src/domain/store.ts) must
 * do, as one suite run against each of them (test/store-contract-memory.test.ts,
 * test/store-contract-postgres.test.ts), so that the in-memory store of the command tests and
 * PostgreSQL cannot drift apart. Every test starts from an empty store.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import {
  OrgConflict,
  UserIdConflict,
  UsernameConflict,
  type CodePurpose,
  type CodeRecord,
  type NewEvent,
  type NewNotification,
  type Store,
  type StoreTx,
  type TokenRecord,
  type UserRecord,
} from "../../src/domain/store.js";

/** A notification as the outbox holds it. */
export interface OutboxEntry extends NewNotification {
  status: string;
}

export interface ContractSubject {
  store: Store;
  /** The user's notifications in the outbox, oldest first (no store method reads them back). */
  outbox(userId: string): Promise<OutboxEntry[]>;
}

export interface StoreContractTarget {
  /** Once, before the suite (e.g. create and migrate a database). */
  setup?(): Promise<void>;
  /** Before every test: a store holding nothing. */
  fresh(): Promise<ContractSubject>;
  /** Once, after the suite. */
  teardown?(): Promise<void>;
}

const T0 = new Date("2024-05-01T10:00:00.123Z");
const at = (minutes: number): Date => new Date(T0.getTime() + minutes * 60_000);

export function newUser(id: string, overrides: Partial<UserRecord> = {}): UserRecord {
  return {
    id,
    orgId: "org-1",
    type: "human",
    state: "active",
    username: `user-${id}`,
    givenName: "Ada",
    familyName: "Lovelace",
    nickName: "",
    displayName: "Ada Lovelace",
    preferredLanguage: "en",
    gender: 1,
    email: "ada@example.com",
    emailVerified: true,
    phone: "",
    phoneVerified: false,
    passwordHash: null,
    passwordChangeRequired: false,
    passwordChangedAt: null,
    machineName: "",
    machineDescription: "",
    sequence: 1,
    createdAt: at(0),
    changedAt: at(0),
    ...overrides,
  };
}

function userEvent(aggregateId: string, sequence: number, payload: Record<string, unknown> = { n: sequence }): NewEvent {
  return { aggregateType: "user", aggregateId, sequence, type: "test.happened", payload, actorId: "actor", orgId: "org-1", createdAt: at(sequence) };
}

function newCode(userId: string, purpose: CodePurpose, overrides: Partial<CodeRecord> = {}): CodeRecord {
  return {
    userId,
    purpose,
    hash: Buffer.from(`${purpose}-hash-of-${userId}`.padEnd(32, "#")),
    createdAt: at(1),
    expiresAt: at(61),
    failedAttempts: 0,
    delivery: "sent",
    urlTemplate: "https://x.test/verify?code={{.Code}}",
    ...overrides,
  };
}

function newNotification(userId: string, overrides: Partial<NewNotification> = {}): NewNotification {
  return {
    userId,
    channel: "email",
    recipient: `${userId}@example.com`,
    purpose: "email",
    encryptedPayload: Buffer.from([0, 1, 2, 254, 255]),
    createdAt: at(2),
    ...overrides,
  };
}

function newToken(id: string, userId: string, overrides: Partial<TokenRecord> = {}): TokenRecord {
  return { id, userId, hash: Buffer.from(`token-hash-${id}`.padEnd(32, "=")), expiresAt: null, revokedAt: null, createdAt: at(3), ...overrides };
}

/** A promise with its resolve function, to hold a transaction open while the test looks around. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const pause = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

export function describeStoreContract(name: string, target: StoreContractTarget): void {
  describe(`store contract: ${name}`, () => {
    let subject: ContractSubject;
    let store: Store;
    const tx = <T>(fn: (t: StoreTx) => Promise<T>): Promise<T> => store.transaction(fn);

    before(async () => {
      await target.setup?.();
    });
    after(async () => {
      await target.teardown?.();
    });
    beforeEach(async () => {
      subject = await target.fresh();
      store = subject.store;
    });

    describe("users", () => {
      test("a user round-trips through insert, get and lock, every field as written", async () => {
        const user = newUser("u1", {
          type: "human",
          state: "locked",
          username: "Ada.Lovelace",
          nickName: "Countess",
          preferredLanguage: "en-GB",
          gender: 2,
          phone: "+41795550123",
          phoneVerified: true,
          emailVerified: false,
          passwordHash: "$2b$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
          passwordChangeRequired: true,
          passwordChangedAt: at(5),
          sequence: 7,
          createdAt: at(1),
          changedAt: at(9),
        });
        const machine = newUser("m1", { type: "machine", username: "robot", machineName: "Robot", machineDescription: "does things", givenName: "", familyName: "", displayName: "" });
        await tx(async (t) => {
          await t.insertUser(user);
          await t.insertUser(machine);
        });
        assert.deepEqual(await store.read.getUser("u1"), user);
        assert.deepEqual(await store.read.getUser("m1"), machine);
        assert.deepEqual(await tx((t) => t.lockUser("u1")), user);
        assert.equal(await store.read.getUser("nobody"), undefined);
        assert.equal(await tx((t) => t.lockUser("nobody")), undefined);
      });

      test("updateUser writes the whole state of an existing user", async () => {
        await tx((t) => t.insertUser(newUser("u1")));
        const next = newUser("u1", {
          orgId: "org-1",
          state: "inactive",
          username: "renamed",
          givenName: "Augusta",
          familyName: "King",
          nickName: "A",
          displayName: "Augusta King",
          preferredLanguage: "und",
          gender: 3,
          email: "augusta@example.com",
          emailVerified: false,
          phone: "+14155550100",
          phoneVerified: true,
          passwordHash: "$2b$04$zyxwvutsrqponmlkjihgfeZYXWVUTSRQPONMLKJIHGFEDCBA98765",
          passwordChangeRequired: true,
          passwordChangedAt: at(30),
          sequence: 12,
          changedAt: at(30),
        });
        await tx(async (t) => {
          const locked = await t.lockUser("u1");
          assert.ok(locked);
          await t.updateUser(next);
        });
        const stored = await store.read.getUser("u1");
        assert.deepEqual(stored, next);
        assert.equal(typeof stored?.sequence, "number");
      });

      test("updateUser of a missing user fails and writes nothing", async () => {
        await assert.rejects(tx((t) => t.updateUser(newUser("ghost"))), /does not exist/);
        assert.equal(await store.read.getUser("ghost"), undefined);
      });

      test("insertUser refuses an id held by a live user with UserIdConflict, also when the username is taken too", async () => {
        await tx(async (t) => {
          await t.insertUser(newUser("u1", { username: "first" }));
          await t.insertUser(newUser("u2", { username: "second" }));
        });
        for (const state of ["active", "inactive", "locked", "initial"] as const) {
          await tx((t) => t.updateUser(newUser("u1", { username: "first", state })));
          await assert.rejects(tx((t) => t.insertUser(newUser("u1", { username: "fresh-name" }))), UserIdConflict);
          await assert.rejects(tx((t) => t.insertUser(newUser("u1", { username: "SECOND" }))), UserIdConflict);
        }
        assert.equal((await store.read.getUser("u1"))?.username, "first");
      });

      test("insertUser replaces a deleted user with the same id, every field", async () => {
        await tx((t) => t.insertUser(newUser("u1", { username: "old", sequence: 4, passwordHash: "$2b$04$x", givenName: "Old" })));
        await tx((t) => t.updateUser(newUser("u1", { username: "old", state: "deleted", sequence: 5 })));
        const reborn = newUser("u1", { username: "reborn", sequence: 6, givenName: "New", passwordHash: null, createdAt: at(40), changedAt: at(40) });
        await tx((t) => t.insertUser(reborn));
        assert.deepEqual(await store.read.getUser("u1"), reborn);
      });

      const sameNames: [string, string][] = [
        ["Ädä.Lovelace", "äDÄ.lovelace"],
        ["STRAẞE", "straße"],
        ["İris", "i̇ris"],
        ["ΑΘΗΝΑ", "αθηνα"],
        ["ada", "ADA"],
      ];
      for (const [held, other] of sameNames) {
        test(`usernames are unique in Unicode lower case: ${JSON.stringify(held)} holds ${JSON.stringify(other)}`, async () => {
          await tx((t) => t.insertUser(newUser("u1", { username: held })));
          await assert.rejects(tx((t) => t.insertUser(newUser("u2", { username: other }))), UsernameConflict);
          assert.equal(await store.read.getUser("u2"), undefined);
          assert.equal(await store.read.usernameTaken(other), true);
          assert.equal(await store.read.usernameTaken(other, "u1"), false);
          assert.equal(await store.read.usernameTaken(other, "u2"), true);
        });
      }

      test("lower case is not full case folding: STRASSE does not hold straße; names are not trimmed", async () => {
        await tx(async (t) => {
          await t.insertUser(newUser("u1", { username: "STRASSE" }));
          await t.insertUser(newUser("u2", { username: "straße" }));
          await t.insertUser(newUser("u3", { username: "ada" }));
          await t.insertUser(newUser("u4", { username: " ada" }));
        });
        assert.equal(await store.read.usernameTaken("strasse"), true);
        assert.equal(await store.read.usernameTaken("someone-else"), false);
      });

      test("usernameTaken sees only live users; a deleted user's name is free for insert and update", async () => {
        await tx(async (t) => {
          await t.insertUser(newUser("u1", { username: "Ada" }));
          await t.insertUser(newUser("u2", { username: "bob" }));
        });
        await tx((t) => t.updateUser(newUser("u1", { username: "Ada", state: "deleted" })));
        assert.equal(await store.read.usernameTaken("ada"), false);
        await tx((t) => t.insertUser(newUser("u3", { username: "ADA" })));
        assert.equal(await store.read.usernameTaken("ada"), true);
        await tx((t) => t.updateUser(newUser("u3", { username: "carol" })));
        await tx((t) => t.updateUser(newUser("u2", { username: "aDa" })));
        assert.equal((await store.read.getUser("u2"))?.username, "aDa");
        // a deleted row never holds a name, even one written as deleted with a taken name
        await tx((t) => t.insertUser(newUser("u4", { username: "ADA", state: "deleted" })));
        assert.equal((await store.read.getUser("u4"))?.state, "deleted");
      });

      test("updateUser refuses another live user's name in other case; one's own name in other case is fine", async () => {
        await tx(async (t) => {
          await t.insertUser(newUser("u1", { username: "Ädä" }));
          await t.insertUser(newUser("u2", { username: "other" }));
        });
        await assert.rejects(tx((t) => t.updateUser(newUser("u2", { username: "äDÄ" }))), UsernameConflict);
        assert.equal((await store.read.getUser("u2"))?.username, "other");
        await tx((t) => t.updateUser(newUser("u1", { username: "ädä" })));
        assert.equal((await store.read.getUser("u1"))?.username, "ädä");
      });

      test("reviving a deleted user whose name was taken meanwhile is a UsernameConflict", async () => {
        await tx((t) => t.insertUser(newUser("u1", { username: "ada" })));
        await tx((t) => t.updateUser(newUser("u1", { username: "ada", state: "deleted" })));
        await tx((t) => t.insertUser(newUser("u2", { username: "ADA" })));
        await assert.rejects(tx((t) => t.updateUser(newUser("u1", { username: "ada", state: "active" }))), UsernameConflict);
        await assert.rejects(tx((t) => t.insertUser(newUser("u1", { username: "ada", state: "active" }))), UsernameConflict);
        assert.equal((await store.read.getUser("u1"))?.state, "deleted");
      });

      test("records are copies: changing what was written or read changes nothing stored", async () => {
        const user = newUser("u1", { passwordChangedAt: at(5) });
        await tx((t) => t.insertUser(user));
        user.givenName = "Mutated";
        user.createdAt.setTime(0);
        const read = (await store.read.getUser("u1"))!;
        read.username = "mutated";
        read.changedAt.setTime(0);
        read.passwordChangedAt!.setTime(0);
        await tx(async (t) => {
          const locked = (await t.lockUser("u1"))!;
          locked.familyName = "Mutated";
          locked.createdAt.setTime(1);
          const again = (await t.getUser("u1"))!;
          assert.equal(again.familyName, "Lovelace");
          assert.deepEqual(again.createdAt, at(0));
        });
        assert.deepEqual(await store.read.getUser("u1"), newUser("u1", { passwordChangedAt: at(5) }));
      });
    });

    describe("metadata", () => {
      test("one value per key, replaced by a later write; read in code point order of the keys", async () => {
        const keys = ["😀", "b", "ä", "B", "～", "a1", "_x", "a"];
        await tx(async (t) => {
          for (const key of keys) await t.setMetadata("u1", key, Buffer.from(`v-${key}`));
          await t.setMetadata("u2", "a", Buffer.from("other user"));
        });
        await tx(async (t) => {
          await t.setMetadata("u1", "b", Buffer.from([0, 255, 10]));
          await t.setMetadata("u1", "a", Buffer.alloc(0));
        });
        const entries = await store.read.getMetadata("u1");
        assert.deepEqual(
          entries.map((e) => e.key),
          ["B", "_x", "a", "a1", "b", "ä", "～", "😀"],
        );
        assert.deepEqual(entries.find((e) => e.key === "b")?.value, Buffer.from([0, 255, 10]));
        assert.deepEqual(entries.find((e) => e.key === "a")?.value, Buffer.alloc(0));
        assert.deepEqual(entries.find((e) => e.key === "😀")?.value, Buffer.from("v-😀"));
        assert.deepEqual(await store.read.getMetadata("u2"), [{ key: "a", value: Buffer.from("other user") }]);
        assert.deepEqual(await store.read.getMetadata("nobody"), []);
      });

      test("values are copies", async () => {
        const value = Buffer.from("original");
        await tx((t) => t.setMetadata("u1", "k", value));
        value.write("MUTATED!");
        const [read] = await store.read.getMetadata("u1");
        read!.value.write("CHANGED!");
        assert.deepEqual(await store.read.getMetadata("u1"), [{ key: "k", value: Buffer.from("original") }]);
      });
    });

    describe("purgeUserData", () => {
      async function seed(userId: string): Promise<void> {
        await tx(async (t) => {
          await t.insertUser(newUser(userId, { username: `name-${userId}`, sequence: 2 }));
          await t.appendEvents([userEvent(userId, 1), userEvent(userId, 2)]);
          await t.setMetadata(userId, "k1", Buffer.from("v1"));
          await t.setMetadata(userId, "k2", Buffer.from("v2"));
          for (const purpose of ["email", "phone", "password_reset"] as const) await t.putCode(newCode(userId, purpose));
          await t.insertNotification(newNotification(userId));
          await t.insertNotification(newNotification(userId, { channel: "sms", recipient: "+41795550123", purpose: "phone" }));
          await t.addMembership({ userId, scope: "instance", roles: ["IAM_OWNER"] });
          await t.addMembership({ userId, scope: "org-1", roles: ["ORG_OWNER"] });
          await t.insertToken(newToken(`${userId}-t1`, userId));
          await t.insertToken(newToken(`${userId}-t2`, userId));
        });
      }

      test("removes metadata, codes, pending notifications, memberships and tokens; the row and the events stay", async () => {
        await seed("gone");
        await seed("kept");
        const before = { user: await store.read.getUser("gone"), events: await store.read.listEvents("gone") };
        await tx(async (t) => {
          await t.updateUser(newUser("gone", { username: "name-gone", state: "deleted", sequence: 3 }));
          await t.appendEvents([userEvent("gone", 3)]);
          await t.purgeUserData("gone");
        });

        assert.deepEqual(await store.read.getMetadata("gone"), []);
        for (const purpose of ["email", "phone", "password_reset"] as const) assert.equal(await store.read.getCode("gone", purpose), undefined);
        assert.deepEqual(await subject.outbox("gone"), []);
        assert.deepEqual(await store.read.getMemberships("gone"), []);
        assert.equal(await store.read.findTokenByHash(newToken("gone-t1", "gone").hash), undefined);
        assert.equal(await store.read.findTokenByHash(newToken("gone-t2", "gone").hash), undefined);
        assert.deepEqual(await store.read.getUser("gone"), { ...before.user, state: "deleted", sequence: 3 });
        assert.deepEqual(
          (await store.read.listEvents("gone")).map((e) => e.sequence),
          [...before.events.map((e) => e.sequence), 3],
        );

        // nothing of another user is touched
        assert.equal((await store.read.getMetadata("kept")).length, 2);
        for (const purpose of ["email", "phone", "password_reset"] as const) assert.ok(await store.read.getCode("kept", purpose));
        assert.equal((await subject.outbox("kept")).length, 2);
        assert.equal((await store.read.getMemberships("kept")).length, 2);
        assert.ok(await store.read.findTokenByHash(newToken("kept-t1", "kept").hash));
        assert.equal((await store.read.listEvents("kept")).length, 2);
      });

      test("a user re-added under the purged id starts with nothing of the old one", async () => {
        await seed("u1");
        await tx(async (t) => {
          await t.updateUser(newUser("u1", { username: "name-u1", state: "deleted", sequence: 3 }));
          await t.purgeUserData("u1");
        });
        await tx((t) => t.insertUser(newUser("u1", { username: "name-u1", sequence: 4 })));
        assert.deepEqual(await store.read.getMetadata("u1"), []);
        assert.deepEqual(await store.read.getMemberships("u1"), []);
        assert.equal(await store.read.getCode("u1", "email"), undefined);
        assert.equal((await store.read.getUser("u1"))?.sequence, 4);
      });
    });

    describe("events", () => {
      test("appended events read back per stream, oldest first, with increasing positions", async () => {
        const payload = { givenName: { old: "A", new: "B" }, list: [1, "two", null, true], text: "Ünïcødé 😀", n: -1.5 };
        await tx((t) => t.appendEvents([userEvent("u1", 1, payload), userEvent("u1", 2)]));
        await tx((t) => t.appendEvents([userEvent("u2", 1)]));
        await tx((t) => t.appendEvents([]));
        await tx((t) => t.appendEvents([userEvent("u1", 3)]));

        const listed = await store.read.listEvents("u1");
        assert.deepEqual(
          listed.map(({ position: _p, ...rest }) => rest),
          [userEvent("u1", 1, payload), userEvent("u1", 2), userEvent("u1", 3)],
        );
        const positions = listed.map((e) => BigInt(e.position));
        assert.ok(positions[0]! < positions[1]! && positions[1]! < positions[2]!, `positions ${positions.join(", ")}`);
        const [other] = await store.read.listEvents("u2");
        assert.ok(BigInt(other!.position) > positions[1]! && BigInt(other!.position) < positions[2]!, "positions are global, in append order");
        assert.equal(typeof listed[0]!.sequence, "number");
        assert.deepEqual(await store.read.listEvents("nobody"), []);
      });

      test("events are ordered by sequence, not by the order they were appended in", async () => {
        await tx((t) => t.appendEvents([userEvent("u1", 2)]));
        await tx((t) => t.appendEvents([userEvent("u1", 1)]));
        assert.deepEqual((await store.read.listEvents("u1")).map((e) => e.sequence), [1, 2]);
      });

      test("a duplicate sequence is rejected with its whole batch, against the log and within a batch", async () => {
        await tx((t) => t.appendEvents([userEvent("u1", 1), userEvent("u1", 2)]));
        await assert.rejects(tx((t) => t.appendEvents([userEvent("u1", 3), userEvent("u1", 2, { dup: true })])));
        await assert.rejects(tx((t) => t.appendEvents([userEvent("u1", 4), userEvent("u1", 4)])));
        assert.deepEqual(
          (await store.read.listEvents("u1")).map((e) => [e.sequence, e.payload]),
          [
            [1, { n: 1 }],
            [2, { n: 2 }],
          ],
        );
      });

      test("a stream is its aggregate type and id together; by default the user's", async () => {
        const orgEvent: NewEvent = { ...userEvent("shared", 1), aggregateType: "org", type: "org.added", payload: { name: "Acme" } };
        await tx((t) => t.appendEvents([userEvent("shared", 1), orgEvent]));
        assert.deepEqual((await store.read.listEvents("shared")).map((e) => [e.aggregateType, e.type]), [["user", "test.happened"]]);
        assert.deepEqual((await store.read.listEvents("shared", "user")).map((e) => e.type), ["test.happened"]);
        assert.deepEqual((await store.read.listEvents("shared", "org")).map(({ position: _p, ...rest }) => rest), [orgEvent]);
        assert.deepEqual(await store.read.listEvents("u1", "org"), []);
      });

      test("payloads come back as JSON: Dates as ISO strings, undefined members dropped", async () => {
        const payload = { when: at(1), missing: undefined, nested: { alsoMissing: undefined, kept: 0 }, list: [at(2)] } as unknown as Record<string, unknown>;
        await tx((t) => t.appendEvents([userEvent("u1", 1, payload)]));
        const [e] = await store.read.listEvents("u1");
        assert.deepEqual(e!.payload, { when: at(1).toISOString(), nested: { kept: 0 }, list: [at(2).toISOString()] });
      });

      test("events are copies", async () => {
        const event = userEvent("u1", 1, { nested: { value: "original" } });
        await tx((t) => t.appendEvents([event]));
        (event.payload.nested as { value: string }).value = "mutated";
        event.createdAt.setTime(0);
        const [read] = await store.read.listEvents("u1");
        (read!.payload.nested as { value: string }).value = "changed";
        read!.createdAt.setTime(0);
        const [again] = await store.read.listEvents("u1");
        assert.deepEqual(again!.payload, { nested: { value: "original" } });
        assert.deepEqual(again!.createdAt, at(1));
      });
    });

    describe("codes", () => {
      test("a code round-trips; one per user and purpose, a new one replaces the old", async () => {
        const code = newCode("u1", "email");
        await tx(async (t) => {
          await t.putCode(code);
          await t.putCode(newCode("u1", "phone", { delivery: "returned", urlTemplate: null }));
          await t.putCode(newCode("u2", "email"));
        });
        assert.deepEqual(await store.read.getCode("u1", "email"), code);
        assert.equal(await store.read.getCode("u1", "password_reset"), undefined);
        assert.equal(await store.read.getCode("nobody", "email"), undefined);

        const replacement = newCode("u1", "email", { hash: Buffer.alloc(32, 7), createdAt: at(10), expiresAt: at(70), delivery: "returned", urlTemplate: null, failedAttempts: 2 });
        await tx((t) => t.putCode(replacement));
        assert.deepEqual(await store.read.getCode("u1", "email"), replacement);
        assert.deepEqual(await store.read.getCode("u1", "phone"), newCode("u1", "phone", { delivery: "returned", urlTemplate: null }));
        assert.deepEqual(await store.read.getCode("u2", "email"), newCode("u2", "email"));
      });

      test("failed attempts are set on the code of that purpose only; on no code nothing happens", async () => {
        await tx(async (t) => {
          await t.putCode(newCode("u1", "password_reset"));
          await t.putCode(newCode("u1", "email"));
        });
        await tx((t) => t.setCodeFailedAttempts("u1", "password_reset", 3));
        await tx((t) => t.setCodeFailedAttempts("u1", "phone", 4));
        assert.equal((await store.read.getCode("u1", "password_reset"))?.failedAttempts, 3);
        assert.equal((await store.read.getCode("u1", "email"))?.failedAttempts, 0);
        assert.equal(await store.read.getCode("u1", "phone"), undefined);
      });

      test("deleteCode removes that purpose only; deleting nothing is fine", async () => {
        await tx(async (t) => {
          await t.putCode(newCode("u1", "email"));
          await t.putCode(newCode("u1", "phone"));
        });
        await tx(async (t) => {
          await t.deleteCode("u1", "email");
          await t.deleteCode("u1", "password_reset");
          await t.deleteCode("nobody", "email");
        });
        assert.equal(await store.read.getCode("u1", "email"), undefined);
        assert.ok(await store.read.getCode("u1", "phone"));
      });

      test("codes are copies", async () => {
        const code = newCode("u1", "email");
        await tx((t) => t.putCode(code));
        code.hash.fill(0);
        code.expiresAt.setTime(0);
        const read = (await store.read.getCode("u1", "email"))!;
        read.hash.fill(1);
        read.createdAt.setTime(0);
        assert.deepEqual(await store.read.getCode("u1", "email"), newCode("u1", "email"));
      });
    });

    describe("notifications", () => {
      test("an inserted notification is pending in the outbox, in insertion order, per user", async () => {
        const first = newNotification("u1");
        const second = newNotification("u1", { channel: "sms", recipient: "+41795550123", purpose: "phone", encryptedPayload: Buffer.from("sealed"), createdAt: at(9) });
        await tx(async (t) => {
          await t.insertNotification(first);
          await t.insertNotification(newNotification("u2"));
        });
        await tx((t) => t.insertNotification(second));
        assert.deepEqual(await subject.outbox("u1"), [
          { ...first, status: "pending" },
          { ...second, status: "pending" },
        ]);
        assert.equal((await subject.outbox("u2")).length, 1);
        assert.deepEqual(await subject.outbox("nobody"), []);
      });
    });

    describe("organizations", () => {
      test("an organization round-trips", async () => {
        const org = { id: "o1", name: "Acme Straße", createdAt: at(4) };
        await tx((t) => t.insertOrg(org));
        assert.deepEqual(await store.read.getOrg("o1"), org);
        assert.equal(await store.read.getOrg("missing"), undefined);
      });

      test("OrgConflict for a taken id or a taken name in Unicode lower case; nothing of it is written", async () => {
        await tx((t) => t.insertOrg({ id: "o1", name: "Acme Straße", createdAt: at(4) }));
        await assert.rejects(tx((t) => t.insertOrg({ id: "o1", name: "Other", createdAt: at(5) })), OrgConflict);
        await assert.rejects(tx((t) => t.insertOrg({ id: "o2", name: "ACME STRAẞE", createdAt: at(5) })), OrgConflict);
        await assert.rejects(tx((t) => t.insertOrg({ id: "o3", name: "acme straße", createdAt: at(5) })), OrgConflict);
        assert.equal(await store.read.getOrg("o2"), undefined);
        assert.equal(await store.read.getOrg("o3"), undefined);
        assert.equal((await store.read.getOrg("o1"))?.name, "Acme Straße");
        // not trimmed, not fully case-folded
        await tx(async (t) => {
          await t.insertOrg({ id: "o4", name: "Acme Straße ", createdAt: at(6) });
          await t.insertOrg({ id: "o5", name: "ACME STRASSE", createdAt: at(6) });
        });
      });

      test("organizations are copies", async () => {
        const org = { id: "o1", name: "Acme", createdAt: at(4) };
        await tx((t) => t.insertOrg(org));
        org.name = "Mutated";
        org.createdAt.setTime(0);
        const read = (await store.read.getOrg("o1"))!;
        read.createdAt.setTime(0);
        assert.deepEqual(await store.read.getOrg("o1"), { id: "o1", name: "Acme", createdAt: at(4) });
      });
    });

    describe("memberships", () => {
      test("addMembership merges roles per scope without duplicates, keeping the order they came in", async () => {
        await tx(async (t) => {
          await t.addMembership({ userId: "u1", scope: "instance", roles: ["IAM_OWNER"] });
          await t.addMembership({ userId: "u1", scope: "instance", roles: ["IAM_USER_MANAGER", "IAM_OWNER", "IAM_USER_MANAGER", "X"] });
          await t.addMembership({ userId: "u1", scope: "o1", roles: ["ORG_OWNER", "ORG_OWNER"] });
        });
        await tx((t) => t.addMembership({ userId: "u1", scope: "o1", roles: ["ORG_USER_MANAGER", "ORG_OWNER"] }));
        assert.deepEqual(await store.read.getMemberships("u1"), [
          { userId: "u1", scope: "instance", roles: ["IAM_OWNER", "IAM_USER_MANAGER", "X"] },
          { userId: "u1", scope: "o1", roles: ["ORG_OWNER", "ORG_USER_MANAGER"] },
        ]);
        assert.deepEqual(await store.read.getMemberships("nobody"), []);
      });

      test("memberships are listed by scope in code point order", async () => {
        await tx(async (t) => {
          for (const scope of ["😀", "org-B", "instance", "～", "Org-a", "300000000000000001", "ärger"]) {
            await t.addMembership({ userId: "u1", scope, roles: ["ORG_OWNER"] });
          }
        });
        assert.deepEqual(
          (await store.read.getMemberships("u1")).map((m) => m.scope),
          ["300000000000000001", "Org-a", "instance", "org-B", "ärger", "～", "😀"],
        );
      });

      test("deleteMemberships removes all of one user's memberships and no one else's", async () => {
        await tx(async (t) => {
          await t.addMembership({ userId: "u1", scope: "instance", roles: ["IAM_OWNER"] });
          await t.addMembership({ userId: "u1", scope: "o1", roles: ["ORG_OWNER"] });
          await t.addMembership({ userId: "u2", scope: "o1", roles: ["ORG_OWNER"] });
        });
        await tx((t) => t.deleteMemberships("u1"));
        await tx((t) => t.deleteMemberships("nobody"));
        assert.deepEqual(await store.read.getMemberships("u1"), []);
        assert.deepEqual(await store.read.getMemberships("u2"), [{ userId: "u2", scope: "o1", roles: ["ORG_OWNER"] }]);
      });

      test("memberships are copies", async () => {
        const m = { userId: "u1", scope: "o1", roles: ["ORG_OWNER"] };
        await tx((t) => t.addMembership(m));
        m.roles.push("MUTATED");
        const [read] = await store.read.getMemberships("u1");
        read!.roles.push("CHANGED");
        assert.deepEqual(await store.read.getMemberships("u1"), [{ userId: "u1", scope: "o1", roles: ["ORG_OWNER"] }]);
      });
    });

    describe("tokens", () => {
      test("a token is found by its hash, compared as bytes", async () => {
        const token = newToken("t1", "u1", { expiresAt: at(100), revokedAt: at(50) });
        const plain = newToken("t2", "u2");
        await tx(async (t) => {
          await t.insertToken(token);
          await t.insertToken(plain);
        });
        assert.deepEqual(await store.read.findTokenByHash(token.hash), token);
        assert.deepEqual(await store.read.findTokenByHash(plain.hash), plain);
        // the same bytes in another buffer, and as a view into a larger one
        assert.deepEqual(await store.read.findTokenByHash(Buffer.from(token.hash)), token);
        const larger = Buffer.concat([Buffer.from("xx"), token.hash, Buffer.from("yy")]);
        assert.deepEqual(await store.read.findTokenByHash(larger.subarray(2, 2 + token.hash.length)), token);
        // not a prefix, not an extension, not one byte off
        assert.equal(await store.read.findTokenByHash(token.hash.subarray(0, token.hash.length - 1)), undefined);
        assert.equal(await store.read.findTokenByHash(Buffer.concat([token.hash, Buffer.from([0])])), undefined);
        const offByOne = Buffer.from(token.hash);
        offByOne[0] = offByOne[0]! ^ 1;
        assert.equal(await store.read.findTokenByHash(offByOne), undefined);
        assert.equal(await store.read.findTokenByHash(Buffer.alloc(0)), undefined);
      });

      test("a user's tokens are listed oldest first; revoking marks one once and names unknown ids", async () => {
        const late = newToken("t-late", "u1", { createdAt: at(9) });
        const early = newToken("t-early", "u1", { createdAt: at(2) });
        await tx(async (t) => {
          await t.insertToken(late);
          await t.insertToken(early);
          await t.insertToken(newToken("t-other", "u2"));
        });
        assert.deepEqual(await tx((t) => t.listTokens("u1")), [early, late]);
        assert.deepEqual(await tx((t) => t.listTokens("nobody")), []);

        assert.equal(await tx((t) => t.revokeToken("t-late", at(20))), true);
        assert.equal(await tx((t) => t.revokeToken("t-late", at(30))), true);
        assert.deepEqual((await store.read.findTokenByHash(late.hash))?.revokedAt, at(20), "a second revocation keeps the first time");
        assert.equal(await tx((t) => t.revokeToken("no-such-token", at(20))), false);
        assert.equal((await store.read.findTokenByHash(early.hash))?.revokedAt, null);
      });

      test("a token id or hash is stored once", async () => {
        await tx((t) => t.insertToken(newToken("t1", "u1")));
        await assert.rejects(tx((t) => t.insertToken(newToken("t1", "u1", { hash: Buffer.alloc(32, 3) }))));
        await assert.rejects(tx((t) => t.insertToken({ ...newToken("t2", "u2"), hash: newToken("t1", "u1").hash })));
        assert.equal(await store.read.findTokenByHash(Buffer.alloc(32, 3)), undefined);
        assert.equal((await store.read.findTokenByHash(newToken("t1", "u1").hash))?.userId, "u1");
      });

      test("tokens are copies", async () => {
        const token = newToken("t1", "u1");
        await tx((t) => t.insertToken(token));
        const original = Buffer.from(token.hash);
        token.hash.fill(0);
        token.createdAt.setTime(0);
        const read = (await store.read.findTokenByHash(original))!;
        read.hash.fill(1);
        read.createdAt.setTime(0);
        assert.deepEqual(await store.read.findTokenByHash(original), newToken("t1", "u1"));
      });
    });

    describe("settings", () => {
      test("putSettingIfAbsent keeps the first value and answers the stored one", async () => {
        assert.equal(await store.read.getSetting("default_org_id"), undefined);
        assert.equal(await tx((t) => t.putSettingIfAbsent("default_org_id", "first")), "first");
        assert.equal(await tx((t) => t.putSettingIfAbsent("default_org_id", "second")), "first");
        assert.equal(await store.read.getSetting("default_org_id"), "first");
        assert.equal(await tx((t) => t.putSettingIfAbsent("other", "x")), "x");
      });

      test("concurrent writers: the first wins and every writer is told its value", async () => {
        const results = await Promise.all(["a", "b", "c", "d"].map((v) => tx((t) => t.putSettingIfAbsent("k", v))));
        const stored = await store.read.getSetting("k");
        assert.ok(stored && ["a", "b", "c", "d"].includes(stored));
        assert.deepEqual(results, [stored, stored, stored, stored]);
      });
    });

    describe("transactions", () => {
      /** One write of every kind. */
      async function writeEverything(t: StoreTx): Promise<void> {
        await t.insertUser(newUser("u1", { username: "tx-user" }));
        await t.appendEvents([userEvent("u1", 1)]);
        await t.setMetadata("u1", "k", Buffer.from("v"));
        await t.putCode(newCode("u1", "email"));
        await t.insertNotification(newNotification("u1"));
        await t.insertOrg({ id: "o1", name: "Tx Org", createdAt: at(1) });
        await t.addMembership({ userId: "u1", scope: "o1", roles: ["ORG_OWNER"] });
        await t.insertToken(newToken("t1", "u1"));
        await t.putSettingIfAbsent("k", "v");
      }

      async function nothingWritten(): Promise<void> {
        assert.equal(await store.read.getUser("u1"), undefined);
        assert.equal(await store.read.usernameTaken("tx-user"), false);
        assert.deepEqual(await store.read.listEvents("u1"), []);
        assert.deepEqual(await store.read.getMetadata("u1"), []);
        assert.equal(await store.read.getCode("u1", "email"), undefined);
        assert.deepEqual(await subject.outbox("u1"), []);
        assert.equal(await store.read.getOrg("o1"), undefined);
        assert.deepEqual(await store.read.getMemberships("u1"), []);
        assert.equal(await store.read.findTokenByHash(newToken("t1", "u1").hash), undefined);
        assert.equal(await store.read.getSetting("k"), undefined);
      }

      async function everythingWritten(): Promise<void> {
        assert.equal((await store.read.getUser("u1"))?.username, "tx-user");
        assert.equal((await store.read.listEvents("u1")).length, 1);
        assert.equal((await store.read.getMetadata("u1")).length, 1);
        assert.ok(await store.read.getCode("u1", "email"));
        assert.equal((await subject.outbox("u1")).length, 1);
        assert.ok(await store.read.getOrg("o1"));
        assert.equal((await store.read.getMemberships("u1")).length, 1);
        assert.ok(await store.read.findTokenByHash(newToken("t1", "u1").hash));
        assert.equal(await store.read.getSetting("k"), "v");
      }

      test("a transaction that returns commits everything and answers its value", async () => {
        const value = await tx(async (t) => {
          await writeEverything(t);
          return { answer: 42 };
        });
        assert.deepEqual(value, { answer: 42 });
        await everythingWritten();
      });

      test("a transaction that throws writes nothing and rethrows the same error", async () => {
        const boom = new Error("boom");
        const thrown = await tx(async (t) => {
          await writeEverything(t);
          throw boom;
        }).catch((e: unknown) => e);
        assert.equal(thrown, boom);
        await nothingWritten();
        // the store goes on working
        await tx(writeEverything);
        await everythingWritten();
      });

      test("a transaction reads its own writes", async () => {
        await tx(async (t) => {
          await writeEverything(t);
          assert.equal((await t.getUser("u1"))?.username, "tx-user");
          assert.equal((await t.lockUser("u1"))?.username, "tx-user");
          assert.equal(await t.usernameTaken("TX-USER"), true);
          assert.equal((await t.listEvents("u1")).length, 1);
          assert.equal((await t.getMetadata("u1")).length, 1);
          assert.ok(await t.getCode("u1", "email"));
          assert.ok(await t.getOrg("o1"));
          assert.equal((await t.getMemberships("u1")).length, 1);
          assert.ok(await t.findTokenByHash(newToken("t1", "u1").hash));
          assert.equal(await t.getSetting("k"), "v");
        });
      });

      test("reads outside a transaction do not see its writes before it commits", async () => {
        const written = deferred();
        const release = deferred();
        const running = tx(async (t) => {
          await writeEverything(t);
          written.resolve();
          await release.promise;
        });
        await written.promise;
        try {
          await nothingWritten();
        } finally {
          release.resolve();
        }
        await running;
        await everythingWritten();
      });

      test("a failed operation aborts its transaction: later operations fail, and it cannot commit even if the error was caught", async () => {
        await tx((t) => t.insertUser(newUser("u0", { username: "taken" })));
        let failure: unknown;
        let later: "succeeded" | "failed" | undefined;
        const outcome = await tx(async (t) => {
          await writeEverything(t);
          failure = await t.insertUser(newUser("u2", { username: "TAKEN" })).catch((e: unknown) => e);
          later = await t.getSetting("k").then(
            () => "succeeded" as const,
            () => "failed" as const,
          );
          return "returned";
        }).then(
          (value) => value,
          (e: unknown) => e,
        );
        assert.ok(failure instanceof UsernameConflict, `the insert fails with UsernameConflict, got ${String(failure)}`);
        assert.equal(later, "failed");
        assert.ok(outcome instanceof Error, `the transaction must fail, got ${String(outcome)}`);
        await nothingWritten();
      });

      test("a transaction's handle is dead once the transaction ended", async () => {
        let handle: StoreTx | undefined;
        await tx(async (t) => {
          handle = t;
        });
        await assert.rejects(handle!.putSettingIfAbsent("late", "1"));
        await assert.rejects(handle!.getSetting("late"));
        assert.equal(await store.read.getSetting("late"), undefined);
      });

      test("concurrent lock-read-increment transactions on one user never lose an update", async () => {
        await tx((t) => t.insertUser(newUser("u1", { sequence: 0 })));
        const n = 20;
        const bump = (i: number) =>
          tx(async (t) => {
            const current = await t.lockUser("u1");
            assert.ok(current);
            await pause(); // widen the window between read and write
            const sequence = current.sequence + 1;
            await t.updateUser({ ...current, sequence, changedAt: at(sequence) });
            await t.appendEvents([userEvent("u1", sequence, { i })]);
          });
        await Promise.all(Array.from({ length: n }, (_, i) => bump(i)));
        assert.equal((await store.read.getUser("u1"))?.sequence, n);
        const events = await store.read.listEvents("u1");
        assert.deepEqual(
          events.map((e) => e.sequence),
          Array.from({ length: n }, (_, i) => i + 1),
        );
        assert.equal(new Set(events.map((e) => e.payload.i)).size, n);
      });

      test("a transaction waiting for a user's lock sees what the holder committed", async () => {
        await tx((t) => t.insertUser(newUser("u1", { givenName: "Before" })));
        const locked = deferred();
        const release = deferred();
        const holder = tx(async (t) => {
          const u = (await t.lockUser("u1"))!;
          locked.resolve();
          await release.promise;
          await t.updateUser({ ...u, givenName: "Holder", sequence: u.sequence + 1 });
        });
        await locked.promise;
        const waiter = tx(async (t) => (await t.lockUser("u1"))?.givenName);
        await pause();
        release.resolve();
        await holder;
        assert.equal(await waiter, "Holder");
      });
    });

    describe("applyUserChange", () => {
      const change = (before: UserRecord, patch: Partial<UserRecord>, n = 1, discardCodes: CodePurpose[] = []) => ({
        before,
        after: { ...before, ...patch, sequence: before.sequence + n, changedAt: at(40) },
        events: Array.from({ length: n }, (_, i) => userEvent(before.id, before.sequence + i + 1)),
        discardCodes,
        principalChanged: false,
      });

      test("writes the new state, the events and the discarded codes when the sequence still matches", async () => {
        const user = newUser("u1", { sequence: 3 });
        await tx(async (t) => {
          await t.insertUser(user);
          await t.putCode(newCode("u1", "password_reset"));
          await t.putCode(newCode("u1", "email"));
        });
        const c = change(user, { givenName: "Augusta", username: "Augusta.K", passwordChangedAt: at(40) }, 2, ["password_reset"]);
        assert.equal(await store.applyUserChange(c), true);
        assert.deepEqual(await store.read.getUser("u1"), c.after);
        assert.deepEqual((await store.read.listEvents("u1")).map((e) => e.sequence), [4, 5]);
        assert.equal(await store.read.getCode("u1", "password_reset"), undefined);
        assert.ok(await store.read.getCode("u1", "email"));
        assert.equal(await store.read.usernameTaken("augusta.k"), true);
      });

      test("writes nothing and answers false when the sequence moved or the user is gone", async () => {
        const user = newUser("u1", { sequence: 3 });
        await tx((t) => t.insertUser(user));
        await tx((t) => t.updateUser({ ...user, sequence: 4 }));
        assert.equal(await store.applyUserChange(change(user, { givenName: "Stale" }, 1, ["email"])), false);
        assert.equal((await store.read.getUser("u1"))?.givenName, user.givenName);
        assert.deepEqual(await store.read.listEvents("u1"), []);
        assert.equal(await store.applyUserChange(change(newUser("ghost"), { givenName: "X" })), false);
        assert.deepEqual(await store.read.listEvents("ghost"), []);
      });

      test("concurrent changes planned on one snapshot: exactly one applies", async () => {
        const user = newUser("u1", { sequence: 1 });
        await tx((t) => t.insertUser(user));
        const results = await Promise.all(Array.from({ length: 6 }, (_, i) => store.applyUserChange(change(user, { nickName: `n${i}` }))));
        assert.equal(results.filter(Boolean).length, 1);
        assert.deepEqual((await store.read.listEvents("u1")).map((e) => e.sequence), [2]);
      });

      test("a record read (or written) before the row was written again does not apply, even with the same sequence", async () => {
        const user = newUser("u1", { sequence: 3 });
        await tx((t) => t.insertUser(user));
        const read = (await store.read.getUser("u1"))!;
        // written beside the runner, the sequence left alone
        await tx((t) => t.updateUser({ ...read, state: "initial" }));
        assert.equal(await store.applyUserChange(change(read, { givenName: "Stale" })), false);
        const fresh = (await store.read.getUser("u1"))!;
        const c = change(fresh, { givenName: "Fresh" });
        assert.equal(await store.applyUserChange(c), true);
        // the state it wrote is a valid base for the next change
        assert.equal(await store.applyUserChange(change(c.after, { givenName: "Next" })), true);
        assert.equal((await store.read.getUser("u1"))?.givenName, "Next");
        assert.equal((await store.read.getUser("u1"))?.state, "initial");
      });

      test("a username held by another live user is a UsernameConflict and writes nothing", async () => {
        const user = newUser("u1");
        await tx(async (t) => {
          await t.insertUser(user);
          await t.insertUser(newUser("u2", { username: "Taken" }));
        });
        await assert.rejects(store.applyUserChange(change(user, { username: "TAKEN" })), UsernameConflict);
        assert.equal((await store.read.getUser("u1"))?.username, user.username);
        assert.deepEqual(await store.read.listEvents("u1"), []);
      });
    });

    describe("principals", () => {
      test("a token with its user's organization, state and memberships; a user's alone", async () => {
        await tx(async (t) => {
          await t.insertUser(newUser("u1", { state: "locked" }));
          await t.addMembership({ userId: "u1", scope: "o2", roles: ["ORG_OWNER"] });
          await t.addMembership({ userId: "u1", scope: "instance", roles: ["IAM_OWNER"] });
          await t.insertToken(newToken("t1", "u1", { expiresAt: at(9) }));
          await t.insertToken(newToken("t2", "gone"));
        });
        const memberships = [
          { userId: "u1", scope: "instance", roles: ["IAM_OWNER"] },
          { userId: "u1", scope: "o2", roles: ["ORG_OWNER"] },
        ];
        const user = { id: "u1", orgId: "org-1", state: "locked", memberships };
        assert.deepEqual(await store.read.findTokenPrincipal(newToken("t1", "u1").hash), {
          token: { id: "t1", userId: "u1", expiresAt: at(9), revokedAt: null },
          user,
        });
        assert.deepEqual(await store.read.findTokenPrincipal(newToken("t2", "gone").hash), {
          token: { id: "t2", userId: "gone", expiresAt: null, revokedAt: null },
          user: undefined,
        });
        assert.equal(await store.read.findTokenPrincipal(Buffer.alloc(32)), undefined);
        assert.deepEqual(await store.read.getPrincipalUser("u1"), user);
        assert.equal(await store.read.getPrincipalUser("gone"), undefined);
      });

      test("listeners hear of a changed principal after commit, never of a rolled back one", async () => {
        const heard: (string | undefined)[] = [];
        const stop = store.onPrincipalChange((id) => heard.push(id));
        const user = newUser("u1");
        await tx((t) => t.insertUser(user));
        await assert.rejects(
          tx(async (t) => {
            await t.principalChanged("u1");
            throw new Error("boom");
          }),
        );
        assert.deepEqual(heard, []);
        await tx((t) => t.principalChanged("u1"));
        assert.deepEqual(heard, ["u1"]);
        await tx((t) => t.addMembership({ userId: "u2", scope: "instance", roles: ["IAM_OWNER"] }));
        await tx((t) => t.purgeUserData("u3"));
        assert.deepEqual(heard, ["u1", "u2", "u3"]);
        const locked = { ...user, state: "locked" as const, sequence: 2 };
        await store.applyUserChange({ before: user, after: locked, events: [userEvent("u1", 2)], discardCodes: [], principalChanged: true });
        assert.deepEqual(heard, ["u1", "u2", "u3", "u1"]);
        stop();
        await tx((t) => t.principalChanged("u1"));
        assert.equal(heard.length, 4);
      });
    });

    describe("withAdvisoryLock", () => {
      test("holders of one key run one after the other", async () => {
        await tx((t) => t.insertUser(newUser("counter", { sequence: 0 })));
        // read without a row lock, pause, write: only the advisory lock keeps increments apart
        await Promise.all(
          Array.from({ length: 8 }, () =>
            store.withAdvisoryLock(4242, async (t) => {
              const current = (await t.getUser("counter"))!;
              await pause();
              await t.updateUser({ ...current, sequence: current.sequence + 1 });
            }),
          ),
        );
        assert.equal((await store.read.getUser("counter"))?.sequence, 8);
      });

      test("it is a transaction: commits on return, writes nothing on throw", async () => {
        assert.equal(
          await store.withAdvisoryLock(7, async (t) => {
            await t.putSettingIfAbsent("a", "1");
            return "done";
          }),
          "done",
        );
        await assert.rejects(
          store.withAdvisoryLock(7, async (t) => {
            await t.putSettingIfAbsent("b", "2");
            throw new Error("boom");
          }),
          /boom/,
        );
        assert.equal(await store.read.getSetting("a"), "1");
        assert.equal(await store.read.getSetting("b"), undefined);
      });
    });
  });
}
