/**
 * SetPassword on the in-memory store (contract.md §9.6, update-human-user.md §6): the order of
 * its checks one row each, the three verifications, the policy, codes and their expiry on the
 * harness clock. Every row starts from the cast of update-human-user.md §12 (seedExampleCast).
 */
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import bcrypt from "bcrypt";
import type { UserRecord } from "../../src/domain/store.js";
import type { NewPassword, PasswordVerification } from "../../src/domain/users/inputs.js";
import { passwordReset } from "../../src/domain/users/password-reset.js";
import { setPassword, type SetPasswordInput } from "../../src/domain/users/set-password.js";
import { ADA_PASSWORD, createDomainWorld, rejectsWith, seedExampleCast, type DomainWorld, type UserSnapshot } from "../support/domain-harness.js";

const NOT_FOUND = "COMMAND-ugjs0upun6";
const DENIED = "AUTHZ-HKJD33";
const NEW = "Engine-Difference-2";

const plain = (password: string, changeRequired = false): NewPassword => ({ kind: "plain", password, changeRequired });
const hashed = (hash: string, changeRequired = false): NewPassword => ({ kind: "hashed", hash, changeRequired });
const current = (password: string): PasswordVerification => ({ kind: "current", password });
const byCode = (code: string): PasswordVerification => ({ kind: "code", code });
const NO_PROOF: PasswordVerification = { kind: "none" };

let w: DomainWorld;
/** A bcrypt hash in PHP's $2y$ spelling, as an import might bring it. */
const importedHash = bcrypt.hashSync("Imported-Pass-1", 4).replace(/^\$2b\$/, "$2y$");

async function world(overrides?: Parameters<typeof createDomainWorld>[0]): Promise<void> {
  w = await createDomainWorld(overrides);
  await seedExampleCast(w);
}
beforeEach(() => world());

interface Call {
  userId?: string;
  newPassword?: NewPassword;
  verification?: PasswordVerification;
  ifMatch?: string;
}

const set = async (caller: string, call: Call) => {
  const input: SetPasswordInput = {
    userId: call.userId ?? "ada",
    password: { newPassword: call.newPassword, verification: call.verification ?? NO_PROOF },
    ifMatch: call.ifMatch,
  };
  return setPassword(w.deps, await w.principal(caller), input);
};

async function setUser(id: string, changes: Partial<UserRecord>): Promise<void> {
  const user = await w.stored(id);
  await w.store.transaction((tx) => tx.updateUser({ ...user, ...changes }));
}

/** The one `user.human.password.changed` event a success writes, and the details that go with it. */
async function expectChanged(before: UserSnapshot, result: { details: { sequence: number; changeDate: Date } }, actor: string, payload: Record<string, unknown>) {
  const events = (await w.events(before.userId)).slice(before.events.length);
  assert.deepEqual(
    events.map((e) => [e.type, e.sequence, e.actorId, e.payload]),
    [["user.human.password.changed", before.user!.sequence + 1, actor, { userId: before.userId, ...payload }]],
  );
  assert.equal(result.details.sequence, before.user!.sequence + 1);
  const stored = await w.stored(before.userId);
  assert.equal(stored.sequence, result.details.sequence);
  assert.deepEqual(stored.passwordChangedAt, result.details.changeDate);
  assert.deepEqual(events[0]!.createdAt, result.details.changeDate);
  assert.equal(await w.store.read.getCode(before.userId, "password_reset"), undefined, "any password change discards a pending reset code");
  return stored;
}

const resetCode = async (): Promise<string> =>
  (await passwordReset(w.deps, await w.principal("olga"), { userId: "ada", medium: { kind: "return" } })).verificationCode!;

describe("SetPassword: the order of its checks (contract.md §9.6), one row per step", () => {
  const rows: { step: string; caller: string; call: Call; setup?: () => Promise<unknown>; id: string }[] = [
    { step: "no new password, before the user is looked up", caller: "gus", call: { userId: "nobody", verification: byCode("AAAAAA"), ifMatch: "W/1" }, id: "COMMAND-3klek4sbns" },
    { step: "a password over 72 bytes", caller: "gus", call: { userId: "nobody", newPassword: plain("Ä1!" + "a".repeat(69)), ifMatch: "W/1" }, id: "ROSTER-pw072" },
    { step: "a hash that is not bcrypt", caller: "gus", call: { userId: "nobody", newPassword: hashed("$1$salt$hash"), ifMatch: "W/1" }, id: "USER-oz74onzvqr" },
    { step: "a malformed if-match", caller: "gus", call: { userId: "nobody", newPassword: plain("weak"), ifMatch: "W/1" }, id: "ROSTER-seq02" },
    { step: "an unknown user", caller: "gus", call: { userId: "nobody", newPassword: plain("weak"), ifMatch: '"1"' }, id: NOT_FOUND },
    { step: "a deleted user", caller: "olga", setup: () => setUser("ada", { state: "deleted" }), call: { newPassword: plain("weak"), ifMatch: '"1"' }, id: NOT_FOUND },
    { step: "a machine user", caller: "ian", call: { userId: "ian", newPassword: plain(NEW) }, id: NOT_FOUND },
    { step: "a stranger without a code: permission", caller: "gus", call: { newPassword: plain("weak"), ifMatch: '"1"' }, id: DENIED },
    { step: "a stranger with Ada's right current password: still permission", caller: "bob", call: { newPassword: plain(NEW), verification: current(ADA_PASSWORD) }, id: DENIED },
    { step: "a stranger with a code: not found, the code is not looked at (decision 9)", caller: "gus", setup: resetCode, call: { newPassword: plain(NEW), verification: byCode("AAAAAA") }, id: NOT_FOUND },
    { step: "a stale if-match, after permission", caller: "ada", setup: resetCode, call: { newPassword: plain("weak"), verification: byCode("AAAAAA"), ifMatch: '"1"' }, id: "ROSTER-seq01" },
    { step: "state INITIAL, before the verification", caller: "ada", setup: () => setUser("ada", { state: "initial" }), call: { newPassword: plain("weak"), verification: current("Wrong-Passw0rd") }, id: "COMMAND-M9dse" },
    { step: "a wrong current password, before the policy", caller: "ada", call: { newPassword: plain("weak"), verification: current("Wrong-Passw0rd") }, id: "COMMAND-3M0fs" },
    { step: "no proof for one's own password (decision 1), before the policy", caller: "ada", call: { newPassword: plain("weak") }, id: DENIED },
    { step: "the complexity policy", caller: "ada", call: { newPassword: plain("weakpass"), verification: current(ADA_PASSWORD) }, id: "DOMAIN-VoaRj" },
  ];
  for (const row of rows) {
    test(`${row.step} → ${row.id}, nothing written`, async () => {
      await row.setup?.();
      const before = await w.snapshot("ada");
      await rejectsWith(set(row.caller, row.call), row.id);
      await w.assertUnchanged(before);
    });
  }
});

describe("SetPassword: verification (update-human-user.md §6.1)", () => {
  test("Ada with her current password: stored hash replaced, the old password no longer verifies", async () => {
    await resetCode();
    const before = await w.snapshot("ada");
    const result = await set("ada", { newPassword: plain(NEW, true), verification: current(ADA_PASSWORD) });
    const ada = await expectChanged(before, result, "ada", { changeRequired: true, kind: "plain", verification: "current_password" });
    assert.equal(await w.deps.hasher.verify(NEW, ada.passwordHash!), true);
    assert.equal(await w.deps.hasher.verify(ADA_PASSWORD, ada.passwordHash!), false);
    assert.equal(ada.passwordChangeRequired, true);
    assert.equal(result.details.resourceOwner, "acme");
  });

  test("Ada with a reset code: the code is used up; sending it again → COMMAND-2M9fs", async () => {
    const code = await resetCode();
    const before = await w.snapshot("ada");
    const result = await set("ada", { newPassword: plain(NEW), verification: byCode(code) });
    await expectChanged(before, result, "ada", { changeRequired: false, kind: "plain", verification: "verification_code" });
    const after = await w.snapshot("ada");
    await rejectsWith(set("ada", { newPassword: plain("Engine-Difference-3"), verification: byCode(code) }), "COMMAND-2M9fs", "FailedPrecondition");
    await w.assertUnchanged(after);
  });

  test("Olga (user.write) without proof; an imported $2y$ hash is stored verbatim, without policy", async () => {
    let before = await w.snapshot("ada");
    await expectChanged(before, await set("olga", { newPassword: plain(NEW) }), "olga", { changeRequired: false, kind: "plain", verification: "permission" });
    before = await w.snapshot("ada");
    const ada = await expectChanged(before, await set("olga", { newPassword: hashed(importedHash, true) }), "olga", { changeRequired: true, kind: "hashed", verification: "permission" });
    assert.equal(ada.passwordHash, importedHash);
    assert.equal(await w.deps.hasher.verify("Imported-Pass-1", ada.passwordHash!), true);
  });

  test("an ORG_OWNER sets its own password without proof (decision 1)", async () => {
    const before = await w.snapshot("gus");
    await expectChanged(before, await set("gus", { userId: "gus", newPassword: plain(NEW) }), "gus", { changeRequired: false, kind: "plain", verification: "permission" });
  });

  test("Olga's current password or code is checked when she sends one", async () => {
    const before = await w.snapshot("ada");
    await rejectsWith(set("olga", { newPassword: plain(NEW), verification: current("Wrong-Passw0rd") }), "COMMAND-3M0fs");
    await rejectsWith(set("olga", { newPassword: plain(NEW), verification: byCode("AAAAAA") }), "COMMAND-2M9fs");
    await w.assertUnchanged(before);
  });

  test("a user without a password and a current password → COMMAND-Fds3s", async () => {
    const before = await w.snapshot("bob");
    await rejectsWith(set("bob", { userId: "bob", newPassword: plain(NEW), verification: current("Anything-1") }), "COMMAND-Fds3s", "FailedPrecondition");
    await w.assertUnchanged(before);
  });

  test("a current password over 72 bytes never matches, even sharing the first 72 bytes of the stored one", async () => {
    const long = "Aa1!" + "x".repeat(68); // 72 bytes
    await setUser("ada", { passwordHash: await w.deps.hasher.hash(long) });
    const before = await w.snapshot("ada");
    await rejectsWith(set("ada", { newPassword: plain(NEW), verification: current(long + "y") }), "COMMAND-3M0fs");
    await w.assertUnchanged(before);
    await expectChanged(before, await set("ada", { newPassword: plain(NEW), verification: current(long) }), "ada", { changeRequired: false, kind: "plain", verification: "current_password" });
  });
});

describe("SetPassword: an unchanged password (COMMAND-Aesh5)", () => {
  test("with the current password, the same password again → FAILED_PRECONDITION COMMAND-Aesh5", async () => {
    const before = await w.snapshot("ada");
    await rejectsWith(set("ada", { newPassword: plain(ADA_PASSWORD), verification: current(ADA_PASSWORD) }), "COMMAND-Aesh5", "FailedPrecondition");
    await w.assertUnchanged(before);
  });

  test("by permission or with a code the same password is accepted", async () => {
    let before = await w.snapshot("ada");
    await expectChanged(before, await set("olga", { newPassword: plain(ADA_PASSWORD) }), "olga", { changeRequired: false, kind: "plain", verification: "permission" });
    const code = await resetCode();
    before = await w.snapshot("ada");
    await expectChanged(before, await set("ada", { newPassword: plain(ADA_PASSWORD), verification: byCode(code) }), "ada", {
      changeRequired: false,
      kind: "plain",
      verification: "verification_code",
    });
  });
});

describe("SetPassword: the complexity policy (update-human-user.md §6.2), in order", () => {
  const rows: [string, string][] = [
    ["Ab1!xyz", "DOMAIN-HuJf6"], // 7 bytes
    ["ABCDEFG1!", "DOMAIN-co3Xw"],
    ["abcdefg1!", "DOMAIN-VoaRj"],
    ["Abcdefgh!", "DOMAIN-ZBv4H"],
    ["Abcdefgh1", "DOMAIN-ZDLwA"],
    ["Ab1é", "DOMAIN-HuJf6"], // 5 bytes
    ["ÀBCDEFG1!", "DOMAIN-co3Xw"], // À is not a lower-case letter
  ];
  for (const [password, id] of rows) {
    test(`${JSON.stringify(password)} → ${id}`, async () => {
      const before = await w.snapshot("ada");
      await rejectsWith(set("olga", { newPassword: plain(password) }), id, "InvalidArgument");
      await w.assertUnchanged(before);
    });
  }

  test("length counts UTF-8 bytes and é is a symbol: Ab1éééé (7 characters, 11 bytes) passes", async () => {
    const before = await w.snapshot("ada");
    await expectChanged(before, await set("olga", { newPassword: plain("Ab1éééé") }), "olga", { changeRequired: false, kind: "plain", verification: "permission" });
  });

  test("the policy is checked for everyone, not for imported hashes", async () => {
    await rejectsWith(set("ian", { newPassword: plain("short") }), "DOMAIN-HuJf6");
    const before = await w.snapshot("ada");
    await expectChanged(before, await set("ian", { newPassword: hashed(importedHash) }), "ian", { changeRequired: false, kind: "hashed", verification: "permission" });
  });
});

describe("SetPassword: reset codes (codes.md §3, §4)", () => {
  test("five wrong codes are each recorded; then even the right code → CODE-woT0xc, nothing recorded", async () => {
    const code = await resetCode();
    const wrong = code === "AAAAAA" ? "BBBBBB" : "AAAAAA";
    for (let attempt = 1; attempt <= 5; attempt++) {
      const before = await w.snapshot("ada");
      await rejectsWith(set("ada", { newPassword: plain(NEW), verification: byCode(wrong) }), "CODE-woT0xc", "InvalidArgument");
      const events = (await w.events("ada")).slice(before.events.length);
      assert.deepEqual(
        events.map((e) => [e.type, e.sequence, e.payload]),
        [["user.human.password.code.verification.failed", before.user!.sequence + 1, { userId: "ada", purpose: "password_reset", failedAttempts: attempt }]],
      );
      assert.deepEqual(await w.store.read.getCode("ada", "password_reset"), { ...before.codes.password_reset!, failedAttempts: attempt });
    }
    const exhausted = await w.snapshot("ada");
    await rejectsWith(set("ada", { newPassword: plain(NEW), verification: byCode(code) }), "CODE-woT0xc");
    await w.assertUnchanged(exhausted);
  });

  test("codes compare exactly: the right code in lower case is a wrong guess", async () => {
    let code = await resetCode();
    while (code.toLowerCase() === code) code = await resetCode(); // all digits: try again
    await rejectsWith(set("ada", { newPassword: plain(NEW), verification: byCode(code.toLowerCase()) }), "CODE-woT0xc");
    assert.equal((await w.store.read.getCode("ada", "password_reset"))?.failedAttempts, 1);
  });

  test("a code of another user or purpose is worthless", async () => {
    const bobsCode = await w.code("bob", "password_reset");
    const emailCode = await w.code("ada", "email");
    await resetCode();
    for (const guess of [bobsCode, emailCode]) {
      await rejectsWith(set("ada", { newPassword: plain(NEW), verification: byCode(guess) }), "CODE-woT0xc");
    }
  });
});

describe("SetPassword: expiry on the harness clock", () => {
  test("a code works until its hour has passed, then → CODE-QvUQ4P for the right and a wrong code, nothing recorded", async () => {
    const code = await resetCode();
    w.clock.advance(3599 * 1000);
    const stillUsable = await w.snapshot("ada");
    // a wrong guess just before expiry is a counted attempt: the code is still usable
    await rejectsWith(set("ada", { newPassword: plain(NEW), verification: byCode(code === "ZZZZZZ" ? "YYYYYY" : "ZZZZZZ") }), "CODE-woT0xc");
    assert.equal((await w.stored("ada")).sequence, stillUsable.user!.sequence + 1);
    w.clock.advance(1000 + 1);
    const expired = await w.snapshot("ada");
    for (const guess of [code, "ZZZZZ9"]) {
      await rejectsWith(set("ada", { newPassword: plain(NEW), verification: byCode(guess) }), "CODE-QvUQ4P", "FailedPrecondition");
    }
    await w.assertUnchanged(expired);
  });

  test("the configured lifetime and length of reset codes apply", async () => {
    await world({ codes: { email: { length: 6, expirySeconds: 3600 }, phone: { length: 6, expirySeconds: 3600 }, passwordReset: { length: 10, expirySeconds: 60 } } });
    const code = await resetCode();
    assert.match(code, /^[A-Z0-9]{10}$/);
    const stored = (await w.store.read.getCode("ada", "password_reset"))!;
    assert.equal(stored.expiresAt.getTime() - stored.createdAt.getTime(), 60_000);
    w.clock.advance(60_001);
    await rejectsWith(set("ada", { newPassword: plain(NEW), verification: byCode(code) }), "CODE-QvUQ4P");
  });

  test("a new reset replaces the old code: the old one is a wrong guess, the new one works", async () => {
    const first = await resetCode();
    const second = await resetCode();
    if (first !== second) await rejectsWith(set("ada", { newPassword: plain(NEW), verification: byCode(first) }), "CODE-woT0xc");
    const before = await w.snapshot("ada");
    await expectChanged(before, await set("ada", { newPassword: plain(NEW), verification: byCode(second) }), "ada", { changeRequired: false, kind: "plain", verification: "verification_code" });
  });
});

describe("SetPassword: if-match (decision 5)", () => {
  for (const header of ['"9"', "9", "*"]) {
    test(`a matching if-match ${header} lets the change through`, async () => {
      const before = await w.snapshot("ada");
      await expectChanged(before, await set("olga", { newPassword: plain(NEW), ifMatch: header }), "olga", { changeRequired: false, kind: "plain", verification: "permission" });
    });
  }
});
