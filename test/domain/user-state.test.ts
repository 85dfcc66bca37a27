/**
 * LockUser, UnlockUser, DeactivateUser and ReactivateUser on the in-memory store (contract.md
 * §9.7): every row of the state table, the permission, if-match, the order of the checks, and
 * the event each writes.
 */
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import { Errors } from "../../src/domain/errors.js";
import { createPermissionChecker, DEFAULT_ROLE_PERMISSIONS } from "../../src/domain/permissions.js";
import type { UserState } from "../../src/domain/store.js";
import { changeUserState, deactivateUser, lockUser, reactivateUser, unlockUser, type StateRpc } from "../../src/domain/users/user-state.js";
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
  await w.user({ id: "nora" }); // same organization, no role
  await w.user({ id: "gus", orgId: "globex" });
  await w.grant("gus", "globex", ["ORG_OWNER"]);
  await w.user({ id: "ian", type: "machine", orgId: "globex" });
  await w.grant("ian", INSTANCE_SCOPE, ["IAM_OWNER"]);
});

const run = async (rpc: StateRpc, caller: string, userId: string, ifMatch?: string) =>
  changeUserState(w.deps, await w.principal(caller), rpc, { userId, ifMatch });

type Expected = { state: UserState } | { error: string };
const NOT_FOUND = "COMMAND-ugjs0upun6";

/** contract.md §9.7, written out: for each RPC and each stored state, the new state or the error id. */
const TABLE: Record<StateRpc, { event: string; rows: Record<UserState, Expected> }> = {
  LockUser: {
    event: "user.locked",
    rows: {
      active: { state: "locked" },
      initial: { state: "locked" },
      inactive: { error: "COMMAND-lgws8wtsqf" },
      locked: { error: "COMMAND-lgws8wtsqf" },
      deleted: { error: NOT_FOUND },
    },
  },
  UnlockUser: {
    event: "user.unlocked",
    rows: {
      locked: { state: "active" },
      active: { error: "COMMAND-olb9vb0oca" },
      inactive: { error: "COMMAND-olb9vb0oca" },
      initial: { error: "COMMAND-olb9vb0oca" },
      deleted: { error: NOT_FOUND },
    },
  },
  DeactivateUser: {
    event: "user.deactivated",
    rows: {
      active: { state: "inactive" },
      locked: { state: "inactive" },
      initial: { error: "COMMAND-gvx4kct9r2" },
      inactive: { error: "COMMAND-5gunjw0cd7" },
      deleted: { error: NOT_FOUND },
    },
  },
  ReactivateUser: {
    event: "user.reactivated",
    rows: {
      inactive: { state: "active" },
      active: { error: "COMMAND-s5qqcz97hf" },
      locked: { error: "COMMAND-s5qqcz97hf" },
      initial: { error: "COMMAND-s5qqcz97hf" },
      deleted: { error: NOT_FOUND },
    },
  },
};

const RPCS = Object.keys(TABLE) as StateRpc[];
/** A state each RPC accepts, for the tests of permission and if-match. */
const ALLOWED_FROM: Record<StateRpc, UserState> = { LockUser: "active", UnlockUser: "locked", DeactivateUser: "active", ReactivateUser: "inactive" };

describe("the state table (contract.md §9.7)", () => {
  for (const rpc of RPCS) {
    for (const [from, expected] of Object.entries(TABLE[rpc].rows) as [UserState, Expected][]) {
      const outcome = "state" in expected ? expected.state : expected.error;
      test(`${rpc} from ${from} → ${outcome}`, async () => {
        await w.user({ id: "ada", state: from });
        const before = { user: await w.stored("ada"), events: await w.events("ada") };
        if ("error" in expected) {
          const e = await rejectsWith(run(rpc, "olga", "ada"), expected.error);
          assert.equal(e.kind, expected.error === NOT_FOUND ? "NotFound" : "FailedPrecondition");
          assert.deepEqual(await w.stored("ada"), before.user, "nothing written");
          assert.deepEqual(await w.events("ada"), before.events, "no event");
          return;
        }
        w.clock.advance(60_000);
        const r = await run(rpc, "olga", "ada");
        const stored = await w.stored("ada");
        assert.equal(stored.state, expected.state);
        assert.equal(stored.sequence, 2);
        const events = await w.events("ada");
        assert.equal(events.length, 2);
        const event = events[1]!;
        assert.equal(event.type, TABLE[rpc].event);
        assert.deepEqual(event.payload, { userId: "ada", old: from, new: expected.state });
        assert.equal(event.actorId, "olga");
        assert.equal(event.orgId, "acme");
        assert.equal(event.sequence, 2);
        assert.deepEqual(r.details, { sequence: 2, changeDate: event.createdAt, resourceOwner: "acme" });
        assert.deepEqual(stored.changedAt, event.createdAt);
        assert.ok(stored.changedAt.getTime() > before.user.changedAt.getTime());
        // everything else of the user is kept (§9.7: a locked or inactive user keeps its data)
        assert.deepEqual({ ...stored, state: from, sequence: 1, changedAt: before.user.changedAt }, before.user);
      });
    }
  }

  test("a user that never existed → NOT_FOUND COMMAND-ugjs0upun6 for every RPC", async () => {
    for (const rpc of RPCS) await rejectsWith(run(rpc, "ian", "nobody"), NOT_FOUND, "NotFound");
  });

  test("the errors carry the texts of errors.md §9", () => {
    const texts = [
      Errors.userShouldBeActiveOrInitial(),
      Errors.userNotLocked(),
      Errors.userCantDeactivateInitial(),
      Errors.userAlreadyInactive(),
      Errors.userNotInactive(),
    ].map((e) => [e.kind, e.id, e.key, e.message]);
    assert.deepEqual(texts, [
      ["FailedPrecondition", "COMMAND-lgws8wtsqf", "Errors.User.ShouldBeActiveOrInitial", "User is not active or initial (COMMAND-lgws8wtsqf)"],
      ["FailedPrecondition", "COMMAND-olb9vb0oca", "Errors.User.NotLocked", "User is not locked (COMMAND-olb9vb0oca)"],
      ["FailedPrecondition", "COMMAND-gvx4kct9r2", "Errors.User.CantDeactivateInitial", "User with state initial can only be deleted not deactivated (COMMAND-gvx4kct9r2)"],
      ["FailedPrecondition", "COMMAND-5gunjw0cd7", "Errors.User.AlreadyInactive", "User already inactive (COMMAND-5gunjw0cd7)"],
      ["FailedPrecondition", "COMMAND-s5qqcz97hf", "Errors.User.NotInactive", "User is not inactive (COMMAND-s5qqcz97hf)"],
    ]);
  });

  test("a round trip: lock → unlock → deactivate → reactivate, one event each, sequence counting", async () => {
    await w.user({ id: "ada" });
    const p = await w.principal("olga");
    const seqs = [
      (await lockUser(w.deps, p, { userId: "ada" })).details.sequence,
      (await unlockUser(w.deps, p, { userId: "ada" })).details.sequence,
      (await deactivateUser(w.deps, p, { userId: "ada" })).details.sequence,
      (await reactivateUser(w.deps, p, { userId: "ada" })).details.sequence,
    ];
    assert.deepEqual(seqs, [2, 3, 4, 5]);
    assert.deepEqual(
      (await w.events("ada")).slice(1).map((e) => [e.type, e.payload.old, e.payload.new]),
      [
        ["user.locked", "active", "locked"],
        ["user.unlocked", "locked", "active"],
        ["user.deactivated", "active", "inactive"],
        ["user.reactivated", "inactive", "active"],
      ],
    );
    assert.equal((await w.stored("ada")).state, "active");
  });

  test("machine users are not human-only targets: an administrator locks and unlocks one", async () => {
    await w.user({ id: "bot", type: "machine", username: "bot", machineName: "bot" });
    await run("LockUser", "ian", "bot");
    assert.equal((await w.stored("bot")).state, "locked");
    await run("UnlockUser", "ian", "bot");
    assert.equal((await w.stored("bot")).state, "active");
  });
});

describe("permission: write (self, or user.write on the user's organization)", () => {
  const callers: { caller: string; who: string; allowed: boolean }[] = [
    { caller: "ada", who: "the user itself", allowed: true },
    { caller: "olga", who: "ORG_USER_MANAGER of the user's organization", allowed: true },
    { caller: "owen", who: "ORG_OWNER of the user's organization", allowed: true },
    { caller: "ian", who: "IAM_OWNER (a machine user of another organization)", allowed: true },
    { caller: "gus", who: "ORG_OWNER of another organization", allowed: false },
    { caller: "nora", who: "a user of the same organization without a role", allowed: false },
  ];
  for (const rpc of RPCS) {
    for (const c of callers) {
      test(`${rpc} by ${c.who} → ${c.allowed ? "ok" : "AUTHZ-HKJD33"}`, async () => {
        await w.user({ id: "ada", state: ALLOWED_FROM[rpc] });
        const before = await w.events("ada");
        if (!c.allowed) {
          await rejectsWith(run(rpc, c.caller, "ada"), "AUTHZ-HKJD33", "PermissionDenied");
          assert.deepEqual(await w.events("ada"), before, "nothing written");
          assert.equal((await w.stored("ada")).state, ALLOWED_FROM[rpc]);
          return;
        }
        const r = await run(rpc, c.caller, "ada");
        assert.equal(r.details.sequence, 2);
        assert.notEqual((await w.stored("ada")).state, ALLOWED_FROM[rpc]);
        assert.equal((await w.events("ada")).at(-1)?.actorId, c.caller);
      });
    }
  }

  test("the write permission is user.write: a role with only user.read or user.delete is refused", async () => {
    w.deps.permissions = createPermissionChecker({
      ...DEFAULT_ROLE_PERMISSIONS,
      ORG_READER: { scope: "organization", permissions: ["user.read"] },
      ORG_REMOVER: { scope: "organization", permissions: ["user.delete"] },
    });
    await w.user({ id: "ada" });
    await w.user({ id: "rita" });
    await w.grant("rita", "acme", ["ORG_READER"]);
    await w.user({ id: "rémy" });
    await w.grant("rémy", "acme", ["ORG_REMOVER"]);
    await rejectsWith(run("LockUser", "rita", "ada"), "AUTHZ-HKJD33");
    await rejectsWith(run("LockUser", "rémy", "ada"), "AUTHZ-HKJD33");
    assert.equal((await w.stored("ada")).state, "active");
  });
});

describe("if-match (decision 5) and the order of the checks", () => {
  for (const rpc of RPCS) {
    test(`${rpc}: a stale if-match → ROSTER-seq01 with nothing written; the current one, quoted or bare, or * → ok`, async () => {
      await w.user({ id: "ada", state: ALLOWED_FROM[rpc] });
      const before = { user: await w.stored("ada"), events: await w.events("ada") };
      await rejectsWith(run(rpc, "olga", "ada", '"7"'), "ROSTER-seq01", "FailedPrecondition");
      await rejectsWith(run(rpc, "olga", "ada", "2"), "ROSTER-seq01", "FailedPrecondition");
      assert.deepEqual(await w.stored("ada"), before.user);
      assert.deepEqual(await w.events("ada"), before.events);
      const r = await run(rpc, "olga", "ada", '"1"');
      assert.equal(r.details.sequence, 2);
    });
  }

  test("matching if-match forms: bare and *", async () => {
    await w.user({ id: "ada" });
    assert.equal((await run("LockUser", "olga", "ada", "1")).details.sequence, 2);
    assert.equal((await run("UnlockUser", "olga", "ada", "*")).details.sequence, 3);
  });

  test("a malformed if-match → ROSTER-seq02, before the user is looked up", async () => {
    await rejectsWith(run("LockUser", "olga", "nobody", 'W/"1"'), "ROSTER-seq02", "InvalidArgument");
  });

  test("state precedes permission: a stranger locking an already locked user gets the state error", async () => {
    await w.user({ id: "ada", state: "locked" });
    await rejectsWith(run("LockUser", "gus", "ada"), "COMMAND-lgws8wtsqf");
    await rejectsWith(run("DeactivateUser", "gus", "ada"), "AUTHZ-HKJD33"); // allowed from locked: permission decides
    await w.user({ id: "ini", state: "initial" });
    await rejectsWith(run("DeactivateUser", "gus", "ini"), "COMMAND-gvx4kct9r2");
    await rejectsWith(run("ReactivateUser", "gus", "ini"), "COMMAND-s5qqcz97hf");
    await rejectsWith(run("UnlockUser", "gus", "ini"), "COMMAND-olb9vb0oca");
  });

  test("not found precedes everything: a stranger with a stale if-match learns only that the user does not exist", async () => {
    await w.user({ id: "gone", state: "deleted" });
    await rejectsWith(run("LockUser", "gus", "gone", '"99"'), NOT_FOUND);
    await rejectsWith(run("UnlockUser", "gus", "nobody", '"99"'), NOT_FOUND);
  });

  test("permission precedes if-match; the state error precedes if-match", async () => {
    await w.user({ id: "ada" });
    await rejectsWith(run("LockUser", "gus", "ada", '"99"'), "AUTHZ-HKJD33");
    await rejectsWith(run("UnlockUser", "olga", "ada", '"99"'), "COMMAND-olb9vb0oca");
  });
});
