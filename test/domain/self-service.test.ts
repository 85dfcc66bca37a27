/**
 * The self-service commands on the in-memory store: possession of the code is the only proof, so
 * these tests pin down that nothing else gets through — no code, a wrong code, another user's
 * code, a code of another purpose, a user that may not act — and that every wrong guess counts.
 */
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import { codeHolderOf } from "../../src/domain/self-service/code-holder.js";
import { resetPasswordWithCode } from "../../src/domain/self-service/reset-password-with-code.js";
import { verifyEmailWithCode } from "../../src/domain/self-service/verify-email-with-code.js";
import type { CodePurpose } from "../../src/domain/store.js";
import { passwordReset } from "../../src/domain/users/password-reset.js";
import { updateHumanUser } from "../../src/domain/users/update-human.js";
import { createDomainWorld, eventTypes, rejectsWith, type DomainWorld } from "../support/domain-harness.js";

const NEW_PASSWORD = "Fresh-Start-42";

let w: DomainWorld;
beforeEach(async () => {
  w = await createDomainWorld();
  await w.org("acme");
  await w.user({ id: "ada", passwordHash: await w.deps.hasher.hash("Old-Secret-1") });
  await w.user({ id: "bob" });
  await w.user({ id: "olga" });
  await w.grant("olga", "acme", ["ORG_USER_MANAGER"]);
});

/** A password-reset code for `userId`, as an administrator's return_code gets it. */
async function resetCode(userId: string): Promise<string> {
  const r = await passwordReset(w.deps, await w.principal("olga"), { userId, medium: { kind: "return" } });
  return r.verificationCode!;
}

async function phoneCode(userId: string): Promise<string> {
  const r = await updateHumanUser(w.deps, await w.principal("olga"), {
    userId,
    phone: { phone: "+41791234567", verification: { kind: "return" } },
  });
  return r.phoneCode!;
}

async function emailCode(userId: string): Promise<string> {
  const r = await updateHumanUser(w.deps, await w.principal("olga"), {
    userId,
    email: { email: `${userId}@new.example`, verification: { kind: "return" } },
  });
  return r.emailCode!;
}

const failedAttempts = (userId: string, purpose: CodePurpose) =>
  w.store.transaction(async (tx) => (await tx.getCode(userId, purpose))?.failedAttempts);

const passwordIs = async (userId: string, password: string) => {
  const hash = (await w.stored(userId)).passwordHash;
  return hash !== null && (await w.deps.hasher.verify(password, hash));
};

describe("the code holder principal", () => {
  test("is the user itself with no roles and no organization, and cannot be changed", () => {
    const p = codeHolderOf("ada");
    assert.deepEqual({ ...p, memberships: [...p.memberships] }, { userId: "ada", orgId: "", memberships: [] });
    assert.ok(Object.isFrozen(p) && Object.isFrozen(p.memberships));
    for (const permission of ["user.read", "user.write", "user.delete"] as const) {
      assert.equal(w.deps.permissions.holds(p, permission, "acme"), false);
    }
    assert.equal(w.deps.permissions.holdsOnInstance(p, "org.create"), false);
  });
});

describe("ResetPasswordWithCode", () => {
  test("the right code sets the password; the event names the user as actor; the code is used up", async () => {
    const code = await resetCode("ada");
    const before = (await w.stored("ada")).sequence;
    const r = await resetPasswordWithCode(w.deps, { userId: "ada", code, newPassword: NEW_PASSWORD });
    assert.equal(r.details.sequence, before + 1);
    assert.ok(await passwordIs("ada", NEW_PASSWORD));
    const last = (await w.events("ada")).at(-1)!;
    assert.equal(last.type, "user.human.password.changed");
    assert.equal(last.actorId, "ada");
    assert.equal(last.payload.verification, "verification_code");
    assert.equal(JSON.stringify(last.payload).includes(NEW_PASSWORD), false);
    // used up: the same code works no second time
    await rejectsWith(resetPasswordWithCode(w.deps, { userId: "ada", code, newPassword: "Another-One-7" }), "COMMAND-2M9fs", "FailedPrecondition");
    assert.ok(await passwordIs("ada", NEW_PASSWORD));
  });

  test("a wrong code changes nothing but counts one attempt (event, sequence + 1)", async () => {
    const code = await resetCode("ada");
    const before = await w.stored("ada");
    const wrong = code === "AAAAAA" ? "BBBBBB" : "AAAAAA";
    await rejectsWith(resetPasswordWithCode(w.deps, { userId: "ada", code: wrong, newPassword: NEW_PASSWORD }), "CODE-woT0xc", "InvalidArgument");
    const after = await w.stored("ada");
    assert.equal(after.sequence, before.sequence + 1);
    assert.equal(after.passwordHash, before.passwordHash);
    assert.equal(await failedAttempts("ada", "password_reset"), 1);
    assert.equal((await eventTypes(w, "ada")).at(-1), "user.human.password.code.verification.failed");
  });

  test("after five wrong guesses even the right code is refused, and no further attempt is recorded", async () => {
    const code = await resetCode("ada");
    for (let i = 0; i < 5; i++) {
      await rejectsWith(resetPasswordWithCode(w.deps, { userId: "ada", code: `WRONG${i}`, newPassword: NEW_PASSWORD }), "CODE-woT0xc");
    }
    assert.equal(await failedAttempts("ada", "password_reset"), 5);
    const sequence = (await w.stored("ada")).sequence;
    await rejectsWith(resetPasswordWithCode(w.deps, { userId: "ada", code, newPassword: NEW_PASSWORD }), "CODE-woT0xc");
    assert.equal((await w.stored("ada")).sequence, sequence);
    assert.equal(await passwordIs("ada", NEW_PASSWORD), false);
  });

  test("no pending code: refused, nothing written", async () => {
    const before = await w.events("ada");
    await rejectsWith(resetPasswordWithCode(w.deps, { userId: "ada", code: "ABC123", newPassword: NEW_PASSWORD }), "COMMAND-2M9fs");
    assert.deepEqual(await w.events("ada"), before);
  });

  test("one user's code does not reset another user's password (it is a wrong guess there)", async () => {
    const adaCode = await resetCode("ada");
    await resetCode("bob");
    await rejectsWith(resetPasswordWithCode(w.deps, { userId: "bob", code: adaCode, newPassword: NEW_PASSWORD }), "CODE-woT0xc");
    assert.equal(await failedAttempts("bob", "password_reset"), 1);
    assert.equal(await failedAttempts("ada", "password_reset"), 0);
    assert.equal(await passwordIs("bob", NEW_PASSWORD), false);
  });

  test("an email verification code is no reset code", async () => {
    const code = await emailCode("ada");
    await rejectsWith(resetPasswordWithCode(w.deps, { userId: "ada", code, newPassword: NEW_PASSWORD }), "COMMAND-2M9fs");
    assert.equal(await passwordIs("ada", NEW_PASSWORD), false);
  });

  test("an expired code is refused", async () => {
    const code = await resetCode("ada");
    w.clock.advance(3600 * 1000 + 1);
    await rejectsWith(resetPasswordWithCode(w.deps, { userId: "ada", code, newPassword: NEW_PASSWORD }), "CODE-QvUQ4P");
  });

  test("the complexity policy and the 72-byte limit apply; a refused password keeps the code usable", async () => {
    const code = await resetCode("ada");
    await rejectsWith(resetPasswordWithCode(w.deps, { userId: "ada", code, newPassword: "short" }), "DOMAIN-HuJf6");
    await rejectsWith(resetPasswordWithCode(w.deps, { userId: "ada", code, newPassword: `Aa1!${"x".repeat(69)}` }), "ROSTER-pw072");
    assert.equal(await failedAttempts("ada", "password_reset"), 0);
    await resetPasswordWithCode(w.deps, { userId: "ada", code, newPassword: NEW_PASSWORD });
    assert.ok(await passwordIs("ada", NEW_PASSWORD));
  });

  for (const state of ["locked", "inactive", "initial"] as const) {
    test(`a user in state ${state} is answered as unknown before the code is looked at (no attempt counted)`, async () => {
      const code = await resetCode("bob");
      const stored = await w.stored("bob");
      await w.store.transaction(async (tx) => {
        const locked = await tx.lockUser("bob");
        await tx.updateUser({ ...locked!, state });
      });
      await rejectsWith(resetPasswordWithCode(w.deps, { userId: "bob", code: "WRONG1", newPassword: NEW_PASSWORD }), "COMMAND-ugjs0upun6", "NotFound");
      await rejectsWith(resetPasswordWithCode(w.deps, { userId: "bob", code, newPassword: NEW_PASSWORD }), "COMMAND-ugjs0upun6", "NotFound");
      assert.equal(await failedAttempts("bob", "password_reset"), 0);
      assert.equal((await w.stored("bob")).passwordHash, stored.passwordHash);
    });
  }

  test("unknown, machine and deleted users are not found", async () => {
    await w.user({ id: "ian", type: "machine" });
    await w.user({ id: "gone", state: "deleted" });
    for (const userId of ["nobody", "ian", "gone"]) {
      await rejectsWith(resetPasswordWithCode(w.deps, { userId, code: "ABC123", newPassword: NEW_PASSWORD }), "COMMAND-ugjs0upun6");
    }
  });

  test("no bcrypt work for a wrong guess", async () => {
    await resetCode("ada");
    let hashes = 0;
    const hasher = { ...w.deps.hasher, hash: async (p: string) => (hashes++, w.deps.hasher.hash(p)) };
    await rejectsWith(resetPasswordWithCode({ ...w.deps, hasher }, { userId: "ada", code: "WRONG1", newPassword: NEW_PASSWORD }), "CODE-woT0xc");
    await rejectsWith(resetPasswordWithCode({ ...w.deps, hasher }, { userId: "bob", code: "WRONG1", newPassword: NEW_PASSWORD }), "COMMAND-2M9fs");
    assert.equal(hashes, 0);
  });
});

describe("VerifyEmailWithCode", () => {
  test("the right code verifies the address; the event names the user as actor; the code is used up", async () => {
    const code = await emailCode("ada");
    assert.equal((await w.stored("ada")).emailVerified, false);
    const before = (await w.stored("ada")).sequence;
    const r = await verifyEmailWithCode(w.deps, { userId: "ada", code });
    assert.equal(r.details.sequence, before + 1);
    assert.equal((await w.stored("ada")).emailVerified, true);
    const last = (await w.events("ada")).at(-1)!;
    assert.equal(last.type, "user.human.email.verified");
    assert.equal(last.actorId, "ada");
    await rejectsWith(verifyEmailWithCode(w.deps, { userId: "ada", code }), "COMMAND-eis9R");
    assert.equal((await w.stored("ada")).sequence, before + 1);
  });

  test("a wrong code verifies nothing and counts one attempt (event, sequence + 1)", async () => {
    const code = await emailCode("ada");
    const before = (await w.stored("ada")).sequence;
    await rejectsWith(verifyEmailWithCode(w.deps, { userId: "ada", code: code === "AAAAAA" ? "BBBBBB" : "AAAAAA" }), "COMMAND-eis9R", "InvalidArgument");
    const after = await w.stored("ada");
    assert.equal(after.emailVerified, false);
    assert.equal(after.sequence, before + 1);
    assert.equal(await failedAttempts("ada", "email"), 1);
    assert.equal((await eventTypes(w, "ada")).at(-1), "user.human.email.verification.failed");
  });

  test("after five wrong guesses even the right code is refused", async () => {
    const code = await emailCode("ada");
    for (let i = 0; i < 5; i++) await rejectsWith(verifyEmailWithCode(w.deps, { userId: "ada", code: `WRONG${i}` }), "COMMAND-eis9R");
    await rejectsWith(verifyEmailWithCode(w.deps, { userId: "ada", code }), "COMMAND-eis9R");
    assert.equal(await failedAttempts("ada", "email"), 5);
    assert.equal((await w.stored("ada")).emailVerified, false);
  });

  test("one user's code does not verify another user's address", async () => {
    const adaCode = await emailCode("ada");
    await emailCode("bob");
    await rejectsWith(verifyEmailWithCode(w.deps, { userId: "bob", code: adaCode }), "COMMAND-eis9R");
    assert.equal((await w.stored("bob")).emailVerified, false);
    assert.equal(await failedAttempts("bob", "email"), 1);
    assert.equal(await failedAttempts("ada", "email"), 0);
  });

  test("a password-reset code or a phone code is no email code", async () => {
    await emailCode("ada");
    for (const code of [await resetCode("ada"), await phoneCode("ada")]) {
      await rejectsWith(verifyEmailWithCode(w.deps, { userId: "ada", code }), "COMMAND-eis9R");
    }
    assert.equal((await w.stored("ada")).emailVerified, false);
    assert.equal((await w.stored("ada")).phoneVerified, false);
  });

  test("no pending code: refused, nothing written", async () => {
    const before = await w.events("ada");
    await rejectsWith(verifyEmailWithCode(w.deps, { userId: "ada", code: "ABC123" }), "COMMAND-eis9R");
    assert.deepEqual(await w.events("ada"), before);
  });

  test("a locked user is answered as unknown before the code is looked at", async () => {
    const code = await emailCode("bob");
    await w.store.transaction(async (tx) => {
      const u = await tx.lockUser("bob");
      await tx.updateUser({ ...u!, state: "locked" });
    });
    await rejectsWith(verifyEmailWithCode(w.deps, { userId: "bob", code }), "COMMAND-ugjs0upun6", "NotFound");
    assert.equal(await failedAttempts("bob", "email"), 0);
    assert.equal((await w.stored("bob")).emailVerified, false);
  });
});
