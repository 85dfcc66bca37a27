/**
 * DeleteUser on the in-memory store (contract.md §9.8): from every state, permission (self or
 * user.delete), if-match, the `user.removed` event and details, the purge of everything the
 * user leaves behind, the released username, and a later AddHumanUser under the same id.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { beforeEach, describe, test } from "node:test";
import { createPermissionChecker, DEFAULT_ROLE_PERMISSIONS } from "../../src/domain/permissions.js";
import type { UserState } from "../../src/domain/store.js";
import { addHumanUser, type AddHumanUserInput } from "../../src/domain/users/add-human.js";
import { deleteUser } from "../../src/domain/users/delete-user.js";
import { getUserById } from "../../src/domain/users/get-user.js";
import { passwordReset } from "../../src/domain/users/password-reset.js";
import { setPassword } from "../../src/domain/users/set-password.js";
import { updateHumanUser } from "../../src/domain/users/update-human.js";
import { lockUser, unlockUser } from "../../src/domain/users/user-state.js";
import { createDomainWorld, INSTANCE_SCOPE, rejectsWith, type DomainWorld } from "../support/domain-harness.js";

let w: DomainWorld;
beforeEach(async () => {
  w = await createDomainWorld();
  await w.org("acme");
  await w.org("globex");
  await w.user({ id: "olga" });
  await w.grant("olga", "acme", ["ORG_USER_MANAGER"]);
  await w.user({ id: "owen" });
  await w.grant("owen", "acme", ["ORG_OWNER"]);
  await w.user({ id: "nora" });
  await w.user({ id: "gus", orgId: "globex" });
  await w.grant("gus", "globex", ["ORG_OWNER"]);
  await w.user({ id: "ian", type: "machine", orgId: "globex" });
  await w.grant("ian", INSTANCE_SCOPE, ["IAM_OWNER"]);
});

const NOT_FOUND = "COMMAND-ugjs0upun6";
const del = async (caller: string, userId: string, ifMatch?: string) => deleteUser(w.deps, await w.principal(caller), { userId, ifMatch });

const humanInput = (overrides: Partial<AddHumanUserInput> = {}): AddHumanUserInput => ({
  userId: "ada",
  username: "ada",
  organization: { orgId: "acme" },
  profile: { givenName: "Ada", familyName: "Lovelace" },
  email: { email: "ada@acme.example", verification: { kind: "send" } },
  phone: { phone: "+41795550123", verification: { kind: "return" } },
  metadata: [{ key: "team", value: Buffer.from("engines") }],
  idpLinkCount: 0,
  ...overrides,
});

const tokenHash = (token: string) => createHash("sha256").update(token).digest();

/** A user with one of everything DeleteUser removes: metadata, codes, pending notifications, a membership, a token. */
async function userWithData(id: string, username: string): Promise<void> {
  await addHumanUser(w.deps, await w.principal("ian"), humanInput({ userId: id, username, email: { email: `${username}@acme.example`, verification: { kind: "send" } } }));
  await passwordReset(w.deps, await w.principal("olga"), { userId: id, medium: { kind: "default" } });
  // a role elsewhere, so that the user's own permission on itself comes only from being itself
  await w.grant(id, "globex", ["ORG_USER_MANAGER"]);
  await w.store.transaction((tx) =>
    tx.insertToken({ id: `tok-${id}`, userId: id, hash: tokenHash(`pat-${id}`), expiresAt: null, revokedAt: null, createdAt: w.clock.now() }),
  );
}

async function leftovers(id: string) {
  const r = w.store.read;
  return {
    metadata: (await r.getMetadata(id)).map((m) => m.key),
    codes: [(await r.getCode(id, "email")) && "email", (await r.getCode(id, "phone")) && "phone", (await r.getCode(id, "password_reset")) && "password_reset"].filter(Boolean),
    pendingNotifications: w.store.notifications().filter((n) => n.userId === id && n.status === "pending").map((n) => n.purpose),
    memberships: (await r.getMemberships(id)).map((m) => m.scope),
    token: (await r.findTokenByHash(tokenHash(`pat-${id}`)))?.id ?? null,
  };
}

describe("DeleteUser (contract.md §9.8)", () => {
  for (const from of ["active", "inactive", "locked", "initial"] as UserState[]) {
    test(`from ${from} → deleted, one user.removed event whose values are the response details`, async () => {
      await w.user({ id: "ada", state: from });
      w.clock.advance(60_000);
      const r = await del("olga", "ada");
      const stored = await w.stored("ada");
      assert.equal(stored.state, "deleted");
      assert.equal(stored.sequence, 2);
      const events = await w.events("ada");
      assert.equal(events.length, 2, "the earlier events stay");
      const removed = events[1]!;
      assert.equal(removed.type, "user.removed");
      assert.deepEqual(removed.payload, { userId: "ada", old: from, new: "deleted", username: "ada" });
      assert.equal(removed.actorId, "olga");
      assert.equal(removed.orgId, "acme");
      assert.deepEqual(r.details, { sequence: removed.sequence, changeDate: removed.createdAt, resourceOwner: "acme" });
    });
  }

  test("a deleted user → NOT_FOUND COMMAND-ugjs0upun6, nothing written", async () => {
    await w.user({ id: "gone", state: "deleted" });
    const before = await w.events("gone");
    await rejectsWith(del("ian", "gone"), NOT_FOUND, "NotFound");
    assert.deepEqual(await w.events("gone"), before);
  });

  test("a user that never existed → NOT_FOUND, also for a stranger (not found precedes permission)", async () => {
    await rejectsWith(del("ian", "nobody"), NOT_FOUND);
    await rejectsWith(del("gus", "nobody"), NOT_FOUND);
  });

  test("machine users are deleted too", async () => {
    await w.user({ id: "bot", type: "machine", username: "bot", machineName: "bot" });
    await del("ian", "bot");
    assert.equal((await w.stored("bot")).state, "deleted");
  });

  const callers: { caller: string; who: string; allowed: boolean }[] = [
    { caller: "ada", who: "the user itself", allowed: true },
    { caller: "olga", who: "ORG_USER_MANAGER of the user's organization", allowed: true },
    { caller: "owen", who: "ORG_OWNER of the user's organization", allowed: true },
    { caller: "ian", who: "IAM_OWNER", allowed: true },
    { caller: "gus", who: "ORG_OWNER of another organization", allowed: false },
    { caller: "nora", who: "a user of the same organization without a role", allowed: false },
  ];
  for (const c of callers) {
    test(`by ${c.who} → ${c.allowed ? "deleted" : "AUTHZ-HKJD33, nothing written or removed"}`, async () => {
      await userWithData("ada", "ada");
      const before = { user: await w.stored("ada"), events: await w.events("ada"), left: await leftovers("ada") };
      if (!c.allowed) {
        await rejectsWith(del(c.caller, "ada"), "AUTHZ-HKJD33", "PermissionDenied");
        assert.deepEqual(await w.stored("ada"), before.user);
        assert.deepEqual(await w.events("ada"), before.events);
        assert.deepEqual(await leftovers("ada"), before.left);
        return;
      }
      await del(c.caller, "ada");
      assert.equal((await w.stored("ada")).state, "deleted");
      assert.equal((await w.events("ada")).at(-1)?.actorId, c.caller);
    });
  }

  test("the permission is user.delete: a role with user.write alone is refused, one with user.delete alone may", async () => {
    w.deps.permissions = createPermissionChecker({
      ...DEFAULT_ROLE_PERMISSIONS,
      ORG_EDITOR: { scope: "organization", permissions: ["user.read", "user.write"] },
      ORG_REMOVER: { scope: "organization", permissions: ["user.delete"] },
    });
    await w.user({ id: "ada" });
    await w.user({ id: "ed" });
    await w.grant("ed", "acme", ["ORG_EDITOR"]);
    await w.user({ id: "rémy" });
    await w.grant("rémy", "acme", ["ORG_REMOVER"]);
    await rejectsWith(del("ed", "ada"), "AUTHZ-HKJD33");
    assert.equal((await w.stored("ada")).state, "active");
    await del("rémy", "ada");
    assert.equal((await w.stored("ada")).state, "deleted");
  });

  test("if-match: stale → ROSTER-seq01 with nothing written or removed; current (quoted, bare) or * → deleted", async () => {
    await userWithData("ada", "ada");
    const seq = (await w.stored("ada")).sequence;
    const before = { user: await w.stored("ada"), events: await w.events("ada"), left: await leftovers("ada") };
    await rejectsWith(del("olga", "ada", `"${seq - 1}"`), "ROSTER-seq01", "FailedPrecondition");
    assert.deepEqual(await w.stored("ada"), before.user);
    assert.deepEqual(await w.events("ada"), before.events);
    assert.deepEqual(await leftovers("ada"), before.left);
    // permission precedes if-match
    await rejectsWith(del("gus", "ada", `"${seq - 1}"`), "AUTHZ-HKJD33");
    const r = await del("olga", "ada", `"${seq}"`);
    assert.equal(r.details.sequence, seq + 1);

    await w.user({ id: "bob" });
    assert.equal((await del("olga", "bob", "1")).details.sequence, 2);
    await w.user({ id: "cy" });
    assert.equal((await del("olga", "cy", "*")).details.sequence, 2);
    await rejectsWith(del("olga", "nobody", "W/1"), "ROSTER-seq02");
  });

  test("purges metadata, codes, pending notifications, memberships and tokens; another user's stay; events stay", async () => {
    await userWithData("ada", "ada");
    await userWithData("bob", "bob");
    const bobBefore = await leftovers("bob");
    assert.deepEqual(await leftovers("ada"), {
      metadata: ["team"],
      codes: ["email", "phone", "password_reset"],
      pendingNotifications: ["email", "password_reset"],
      memberships: ["globex"],
      token: "tok-ada",
    });
    const eventsBefore = await w.events("ada");
    await del("olga", "ada");
    assert.deepEqual(await leftovers("ada"), { metadata: [], codes: [], pendingNotifications: [], memberships: [], token: null });
    assert.deepEqual(await leftovers("bob"), bobBefore);
    const events = await w.events("ada");
    assert.deepEqual(events.slice(0, eventsBefore.length), eventsBefore);
    assert.deepEqual(events.slice(eventsBefore.length).map((e) => e.type), ["user.removed"]);
    assert.ok(!JSON.stringify(events.at(-1)!.payload).includes("engines"), "the removed event repeats no metadata");
  });

  test("the username is released (case-folded): another user may take it at once", async () => {
    await userWithData("ada", "Ada.L");
    assert.equal(await w.store.read.usernameTaken("ada.l"), true);
    await del("olga", "ada");
    assert.equal(await w.store.read.usernameTaken("ada.l"), false);
    const r = await addHumanUser(w.deps, await w.principal("ian"), humanInput({ userId: "other", username: "ADA.L", phone: undefined, metadata: [] }));
    assert.equal(r.userId, "other");
    assert.equal((await w.stored("other")).username, "ADA.L");
  });

  test("afterwards every RPC treats the user as not found", async () => {
    await userWithData("ada", "ada");
    await del("olga", "ada");
    const ian = await w.principal("ian");
    await rejectsWith(getUserById(w.deps, ian, "ada"), "QUERY-Dfbg2");
    await rejectsWith(updateHumanUser(w.deps, ian, { userId: "ada", profile: { givenName: "A", familyName: "B" } }), NOT_FOUND);
    await rejectsWith(updateHumanUser(w.deps, ian, { userId: "ada" }), NOT_FOUND);
    await rejectsWith(passwordReset(w.deps, ian, { userId: "ada", medium: { kind: "return" } }), "COMMAND-SAF4f");
    await rejectsWith(
      setPassword(w.deps, ian, { userId: "ada", password: { newPassword: { kind: "plain", password: "Secret-Pass-1", changeRequired: false }, verification: { kind: "none" } } }),
      NOT_FOUND,
    );
    await rejectsWith(lockUser(w.deps, ian, { userId: "ada" }), NOT_FOUND);
    await rejectsWith(unlockUser(w.deps, ian, { userId: "ada" }), NOT_FOUND);
    await rejectsWith(deleteUser(w.deps, ian, { userId: "ada" }), NOT_FOUND);
  });

  test("AddHumanUser may give the id again: its sequence continues, and it starts with none of the old user's data", async () => {
    await userWithData("ada", "ada");
    await del("olga", "ada");
    const deletedSeq = (await w.stored("ada")).sequence;
    const again = await addHumanUser(
      w.deps,
      await w.principal("ian"),
      humanInput({ username: "ada-again", organization: { orgId: "globex" }, email: { email: "ada@globex.example", verification: { kind: "verified", value: true } }, phone: undefined, metadata: [] }),
    );
    assert.equal(again.userId, "ada");
    assert.equal(again.details.sequence, deletedSeq + 2, "user.human.added and user.human.email.verified continue the id's sequence");
    const user = await w.stored("ada");
    assert.equal(user.state, "active");
    assert.equal(user.orgId, "globex");
    assert.equal(user.username, "ada-again");
    assert.ok(user.createdAt.getTime() >= (await w.events("ada")).find((e) => e.type === "user.removed")!.createdAt.getTime());
    assert.deepEqual(await leftovers("ada"), { metadata: [], codes: [], pendingNotifications: [], memberships: [], token: null });
    // the new user has no roles of the old one: the old ORG_USER_MANAGER membership on globex is gone
    await w.user({ id: "bob", orgId: "globex" });
    await rejectsWith(lockUser(w.deps, await w.principal("ada"), { userId: "bob" }), "AUTHZ-HKJD33");
    assert.deepEqual(
      (await w.events("ada")).map((e) => e.sequence),
      Array.from({ length: deletedSeq + 2 }, (_, i) => i + 1),
      "one stream without gaps or repeats",
    );
  });

  test("AddHumanUser under the id of a row deleted some other way (e.g. imported) also starts without its leftovers", async () => {
    await userWithData("ada", "ada");
    const stored = await w.stored("ada");
    await w.store.transaction((tx) => tx.updateUser({ ...stored, state: "deleted" })); // no DeleteUser: nothing purged
    assert.deepEqual((await leftovers("ada")).memberships, ["globex"]);
    await addHumanUser(w.deps, await w.principal("ian"), humanInput({ username: "ada-new", email: { email: "new@acme.example", verification: { kind: "return" } }, phone: undefined, metadata: [] }));
    assert.deepEqual(await leftovers("ada"), { metadata: [], codes: ["email"], pendingNotifications: [], memberships: [], token: null });
  });
});
