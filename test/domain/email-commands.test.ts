/**
 * SetEmail, ResendEmailCode, SendEmailCode and VerifyEmail on the in-memory store (contract.md
 * §9.4, codes.md, decisions 2, 4, 5, 7, 8, 9): given state + request → events, state, codes,
 * notifications, error id.
 */
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import type { Principal } from "../../src/domain/principal.js";
import {
  resendEmailCode,
  sendEmailCode,
  setEmail,
  verifyEmail,
  type EmailCodeDelivery,
  type SetEmailInput,
} from "../../src/domain/users/email-commands.js";
import type { EmailVerification } from "../../src/domain/users/inputs.js";
import { passwordReset } from "../../src/domain/users/password-reset.js";
import { verifyPhone } from "../../src/domain/users/phone-commands.js";
import { open } from "../../src/notify/sealed-payload.js";
import { createDomainWorld, eventTypes, INSTANCE_SCOPE, rejectsWith, type DomainWorld } from "../support/domain-harness.js";

let w: DomainWorld;
beforeEach(async () => {
  w = await createDomainWorld();
  await w.org("acme");
  await w.org("globex");
  await w.user({ id: "ada" });
  await w.user({ id: "bob" });
  await w.user({ id: "olga" });
  await w.grant("olga", "acme", ["ORG_USER_MANAGER"]);
  await w.user({ id: "gus", orgId: "globex" });
  await w.grant("gus", "globex", ["ORG_OWNER"]);
  await w.user({ id: "ian", type: "machine" });
  await w.grant("ian", INSTANCE_SCOPE, ["IAM_OWNER"]);
});

const as = (caller: string): Promise<Principal> => w.principal(caller);

const set = async (caller: string, email: string, verification: EmailVerification = { kind: "none" }, extra: Partial<SetEmailInput> = {}) =>
  setEmail(w.deps, await as(caller), { userId: "ada", email, verification, ...extra });

const send = async (caller: string, delivery: EmailCodeDelivery = { kind: "none" }, userId = "ada", ifMatch?: string) =>
  sendEmailCode(w.deps, await as(caller), { userId, delivery, ifMatch });

const resend = async (caller: string, delivery: EmailCodeDelivery = { kind: "none" }, userId = "ada", ifMatch?: string) =>
  resendEmailCode(w.deps, await as(caller), { userId, delivery, ifMatch });

const verify = async (caller: string, code: string, userId = "ada", ifMatch?: string) =>
  verifyEmail(w.deps, await as(caller), { userId, code, ifMatch });

/** A pending email code for `userId`, returned to Olga (who holds user.write on Acme). */
async function pendingCode(userId = "ada"): Promise<string> {
  const r = await send("olga", { kind: "return" }, userId);
  assert.match(r.verificationCode!, /^[A-Z0-9]{6}$/);
  return r.verificationCode!;
}

/** A code that is certainly not `code`. */
const wrong = (code: string): string => (code === "AAAAAA" ? "BBBBBB" : "AAAAAA");

/** Everything a command could write about a user. */
async function snapshot(userId = "ada") {
  return {
    user: await w.stored(userId),
    events: await w.events(userId),
    email: await w.store.read.getCode(userId, "email"),
    phone: await w.store.read.getCode(userId, "phone"),
    notifications: w.store.notifications().length,
  };
}

async function assertNothingWritten(before: Awaited<ReturnType<typeof snapshot>>, userId = "ada"): Promise<void> {
  assert.deepEqual(await snapshot(userId), before);
}

interface Refusal {
  name: string;
  setup?: () => Promise<void>;
  run: () => Promise<unknown>;
  id: string;
  kind?: "NotFound" | "PermissionDenied" | "FailedPrecondition" | "InvalidArgument";
}

/** Runs each refusal on a fresh world: the error id, and nothing of Ada's written. */
function refusals(cases: Refusal[]): void {
  for (const c of cases) {
    test(`refused: ${c.name} → ${c.id}, nothing written`, async () => {
      await c.setup?.();
      const before = await snapshot();
      await rejectsWith(c.run(), c.id, c.kind);
      await assertNothingWritten(before);
    });
  }
}

const initialUser = async () => void (await w.user({ id: "ini", state: "initial" }));
const deletedUser = async () => void (await w.user({ id: "gone", state: "deleted" }));

describe("SetEmail (contract.md §9.4)", () => {
  refusals([
    {
      name: "bad URL template, before the user is looked up",
      run: async () => setEmail(w.deps, await as("olga"), { userId: "nobody", email: "a@b.example", verification: { kind: "send", urlTemplate: "https://x/{{.Nope}}" } }),
      id: "DOMAIN-ieYa7",
    },
    {
      name: "address with a display name, before the user is looked up",
      run: async () => setEmail(w.deps, await as("olga"), { userId: "nobody", email: "Ada <ada@new.example>", verification: { kind: "none" } }),
      id: "EMAIL-599GV",
    },
    {
      name: "malformed if-match, before the user is looked up",
      run: async () => setEmail(w.deps, await as("olga"), { userId: "nobody", email: "a@b.example", verification: { kind: "none" }, ifMatch: 'W/"1"' }),
      id: "ROSTER-seq02",
    },
    { name: "unknown user", run: async () => setEmail(w.deps, await as("ian"), { userId: "nobody", email: "a@b.example", verification: { kind: "none" } }), id: "COMMAND-ieJ2e", kind: "NotFound" },
    { name: "machine user", run: async () => setEmail(w.deps, await as("ian"), { userId: "ian", email: "a@b.example", verification: { kind: "none" } }), id: "COMMAND-ieJ2e" },
    { name: "deleted user", setup: deletedUser, run: async () => setEmail(w.deps, await as("ian"), { userId: "gone", email: "a@b.example", verification: { kind: "none" } }), id: "COMMAND-ieJ2e" },
    {
      name: "user in state initial, even for a stranger (state before permission)",
      setup: initialUser,
      run: async () => setEmail(w.deps, await as("gus"), { userId: "ini", email: "a@b.example", verification: { kind: "none" } }),
      id: "COMMAND-uz0Uu",
      kind: "FailedPrecondition",
    },
    { name: "a stranger", run: () => set("gus", "ada@new.example"), id: "AUTHZ-HKJD33", kind: "PermissionDenied" },
    { name: "a stranger with a stale if-match (permission before if-match)", run: () => set("gus", "ada@new.example", { kind: "none" }, { ifMatch: '"9"' }), id: "AUTHZ-HKJD33" },
    { name: "return_code by the user itself (decision 8)", run: () => set("ada", "ada@new.example", { kind: "return" }), id: "AUTHZ-HKJD33" },
    { name: "is_verified by the user itself (decision 2)", run: () => set("ada", "ada@new.example", { kind: "verified", value: true }), id: "AUTHZ-HKJD33" },
    { name: "is_verified by the user itself, even with its current address", run: () => set("ada", "ada@example.com", { kind: "verified", value: true }), id: "AUTHZ-HKJD33" },
    { name: "stale if-match", run: () => set("olga", "ada@new.example", { kind: "return" }, { ifMatch: '"7"' }), id: "ROSTER-seq01", kind: "FailedPrecondition" },
    { name: "the same address with a stale if-match (if-match before not-changed)", run: () => set("ada", "ada@example.com", { kind: "none" }, { ifMatch: "2" }), id: "ROSTER-seq01" },
    { name: "the same address", run: () => set("ada", "ada@example.com"), id: "COMMAND-Uch5e", kind: "FailedPrecondition" },
    { name: "the same address, with is_verified by a manager", run: () => set("olga", "ada@example.com", { kind: "verified", value: true }), id: "COMMAND-Uch5e" },
  ]);

  test("the user itself, no verification: changed, unverified, a mail with the default link to the new address", async () => {
    const r = await set("ada", "ada@new.example", { kind: "none" }, { ifMatch: '"1"' });
    assert.equal(r.verificationCode, undefined);
    assert.equal(r.details.sequence, 3);
    assert.deepEqual(await eventTypes(w, "ada"), ["user.human.email.changed", "user.human.email.code.added"]);
    const [changed, added] = (await w.events("ada")).slice(1);
    assert.deepEqual(changed!.payload, { userId: "ada", old: "ada@example.com", new: "ada@new.example" });
    assert.equal(changed!.actorId, "ada");
    assert.equal(added!.payload.delivery, "sent");
    const user = await w.stored("ada");
    assert.equal(user.email, "ada@new.example");
    assert.equal(user.emailVerified, false);
    assert.equal(user.sequence, 3);
    const [n] = w.store.notifications();
    assert.equal(w.store.notifications().length, 1);
    assert.deepEqual([n!.channel, n!.recipient, n!.purpose], ["email", "ada@new.example", "email"]);
    const payload = open(w.deps.keys.notificationAead, n!.encryptedPayload) as { code: string; link: string };
    assert.equal(payload.link, `https://id.example/verify?user=ada&code=${payload.code}`);
    assert.ok(!JSON.stringify(await w.events("ada")).includes(payload.code), "no code in events");
    // the mailed code verifies the new address
    await verify("ada", payload.code);
    assert.equal((await w.stored("ada")).emailVerified, true);
  });

  test("send_code with a URL template: the mail carries the rendered link", async () => {
    await set("ada", "ada@new.example", { kind: "send", urlTemplate: "https://acme.example/v?u={{.UserID}}&c={{ .Code }}&o={{.OrgID}}" });
    const [n] = w.store.notifications();
    const payload = open(w.deps.keys.notificationAead, n!.encryptedPayload) as { code: string; link: string };
    assert.equal(payload.link, `https://acme.example/v?u=ada&c=${payload.code}&o=acme`);
    assert.equal((await w.store.read.getCode("ada", "email"))?.urlTemplate, "https://acme.example/v?u={{.UserID}}&c={{ .Code }}&o={{.OrgID}}");
  });

  test("the comparison is exact: another case is another address", async () => {
    await set("ada", "Ada@example.com");
    assert.equal((await w.stored("ada")).email, "Ada@example.com");
  });

  test("return_code by a manager: the code is returned, nothing mailed, and it verifies as the user itself", async () => {
    const r = await set("olga", "ada@new.example", { kind: "return" });
    assert.match(r.verificationCode!, /^[A-Z0-9]{6}$/);
    assert.equal(w.store.notifications().length, 0);
    assert.equal((await w.store.read.getCode("ada", "email"))?.delivery, "returned");
    await verify("ada", r.verificationCode!);
    assert.equal((await w.stored("ada")).emailVerified, true);
  });

  test("is_verified by a manager: changed and verified, no code; the pending code is discarded", async () => {
    const old = await pendingCode();
    const r = await set("olga", "ada@new.example", { kind: "verified", value: true });
    assert.equal(r.verificationCode, undefined);
    assert.deepEqual(await eventTypes(w, "ada", 2), ["user.human.email.changed", "user.human.email.verified"]);
    assert.deepEqual((await w.events("ada")).at(-1)!.payload, { userId: "ada", old: false, new: true });
    assert.equal(await w.store.read.getCode("ada", "email"), undefined);
    const user = await w.stored("ada");
    assert.equal(user.email, "ada@new.example");
    assert.equal(user.emailVerified, true);
    await rejectsWith(verify("ada", old), "COMMAND-eis9R");
  });

  test("a new address replaces the pending code: the old code no longer verifies", async () => {
    const old = await pendingCode();
    const r = await set("olga", "ada@new.example", { kind: "return" });
    if (r.verificationCode !== old) await rejectsWith(verify("ada", old), "COMMAND-eis9R");
    await verify("ada", r.verificationCode!);
  });

  test("a caller holding user.write through the instance (IAM_OWNER)", async () => {
    const r = await set("ian", "ada@new.example", { kind: "return" });
    assert.ok(r.verificationCode);
  });
});

describe("ResendEmailCode (contract.md §9.4)", () => {
  refusals([
    {
      name: "malformed URL template, before the user is looked up",
      run: async () => resendEmailCode(w.deps, await as("olga"), { userId: "nobody", delivery: { kind: "send", urlTemplate: "https://x/{{.Code" } }),
      id: "DOMAIN-oGh5e",
    },
    { name: "malformed if-match", run: () => resend("olga", { kind: "return" }, "nobody", "x"), id: "ROSTER-seq02" },
    { name: "unknown user", run: () => resend("ian", { kind: "return" }, "nobody"), id: "COMMAND-ieJ2e", kind: "NotFound" },
    { name: "user in state initial", setup: initialUser, run: () => resend("ian", { kind: "return" }, "ini"), id: "COMMAND-uz0Uu" },
    { name: "a stranger", setup: async () => void (await pendingCode()), run: () => resend("gus"), id: "AUTHZ-HKJD33", kind: "PermissionDenied" },
    { name: "return_code by the user itself (decision 8)", setup: async () => void (await pendingCode()), run: () => resend("ada", { kind: "return" }), id: "AUTHZ-HKJD33" },
    { name: "stale if-match", setup: async () => void (await pendingCode()), run: () => resend("olga", { kind: "return" }, "ada", '"1"'), id: "ROSTER-seq01" },
    { name: "no pending code", run: () => resend("olga", { kind: "return" }), id: "EMAIL-5w5ilin4yt", kind: "FailedPrecondition" },
    { name: "no pending code, the user itself", run: () => resend("ada"), id: "EMAIL-5w5ilin4yt" },
  ]);

  test("the user itself: a new code replaces the pending one and is mailed", async () => {
    const old = await pendingCode();
    const r = await resend("ada", { kind: "send", urlTemplate: "https://acme.example/v?c={{.Code}}" });
    assert.equal(r.verificationCode, undefined);
    assert.equal(r.details.sequence, 3);
    assert.deepEqual(await eventTypes(w, "ada", 2), ["user.human.email.code.added"]);
    const notes = w.store.notifications();
    assert.equal(notes.length, 1);
    const payload = open(w.deps.keys.notificationAead, notes[0]!.encryptedPayload) as { code: string; link: string };
    assert.equal(payload.link, `https://acme.example/v?c=${payload.code}`);
    assert.equal(notes[0]!.recipient, "ada@example.com");
    if (payload.code !== old) await rejectsWith(verify("ada", old), "COMMAND-eis9R");
    await verify("ada", payload.code);
  });

  test("return_code by a manager: the new code is returned, nothing mailed", async () => {
    await pendingCode();
    const r = await resend("olga", { kind: "return" });
    assert.match(r.verificationCode!, /^[A-Z0-9]{6}$/);
    assert.equal(w.store.notifications().length, 0);
    await verify("ada", r.verificationCode!);
  });

  test("an exhausted code is still pending: resend replaces it with a usable one", async () => {
    const code = await pendingCode();
    for (let i = 0; i < 5; i++) await rejectsWith(verify("ada", wrong(code)), "COMMAND-eis9R");
    await rejectsWith(verify("ada", code), "COMMAND-eis9R");
    const r = await resend("olga", { kind: "return" });
    assert.equal((await w.store.read.getCode("ada", "email"))?.failedAttempts, 0);
    await verify("ada", r.verificationCode!);
  });

  test("an expired code is still pending: resend replaces it", async () => {
    await pendingCode();
    w.clock.advance(3600 * 1000 + 1);
    const r = await resend("olga", { kind: "return" });
    await verify("ada", r.verificationCode!);
  });
});

describe("SendEmailCode (contract.md §9.4)", () => {
  refusals([
    { name: "unknown user", run: () => send("ian", { kind: "return" }, "nobody"), id: "COMMAND-ieJ2e", kind: "NotFound" },
    { name: "user in state initial", setup: initialUser, run: () => send("ian", { kind: "return" }, "ini"), id: "COMMAND-uz0Uu" },
    { name: "a stranger", run: () => send("gus"), id: "AUTHZ-HKJD33", kind: "PermissionDenied" },
    { name: "return_code by the user itself (decision 8)", run: () => send("ada", { kind: "return" }), id: "AUTHZ-HKJD33" },
    { name: "stale if-match", run: () => send("olga", { kind: "return" }, "ada", '"2"'), id: "ROSTER-seq01" },
    { name: "bad URL template", run: () => send("ada", { kind: "send", urlTemplate: "javascript:{{.Code}}" }), id: "DOMAIN-ieYa7" },
  ]);

  test("without a pending code, the user itself: a code is created and mailed", async () => {
    const r = await send("ada", { kind: "none" }, "ada", '"1"');
    assert.equal(r.verificationCode, undefined);
    assert.equal(r.details.sequence, 2);
    assert.deepEqual(await eventTypes(w, "ada"), ["user.human.email.code.added"]);
    const notes = w.store.notifications();
    assert.deepEqual(notes.map((n) => [n.channel, n.recipient, n.purpose]), [["email", "ada@example.com", "email"]]);
    assert.equal((await w.store.read.getCode("ada", "email"))?.delivery, "sent");
  });

  test("a second code replaces the first", async () => {
    const first = await pendingCode();
    let second = await pendingCode();
    while (second === first) second = await pendingCode();
    await rejectsWith(verify("ada", first), "COMMAND-eis9R");
    await verify("ada", second);
  });
});

describe("VerifyEmail (contract.md §9.4, codes.md §4)", () => {
  refusals([
    { name: "unknown user", run: () => verify("ian", "ABCDEF", "nobody"), id: "COMMAND-ieJ2e", kind: "NotFound" },
    { name: "machine user", run: () => verify("ian", "ABCDEF", "ian"), id: "COMMAND-ieJ2e" },
    { name: "user in state initial", setup: initialUser, run: () => verify("ian", "ABCDEF", "ini"), id: "COMMAND-uz0Uu" },
    {
      name: "a stranger, with a pending code: NOT_FOUND, no attempt counted (decision 9)",
      setup: async () => void (await pendingCode()),
      run: () => verify("gus", "ABCDEF"),
      id: "COMMAND-ugjs0upun6",
      kind: "NotFound",
    },
    { name: "another user of the same organization without roles", setup: async () => void (await pendingCode()), run: () => verify("bob", "ABCDEF"), id: "COMMAND-ugjs0upun6" },
    { name: "malformed if-match", run: () => verify("ada", "ABCDEF", "ada", "1, 2"), id: "ROSTER-seq02" },
    {
      name: "stale if-match with a wrong code: no attempt counted",
      setup: async () => void (await pendingCode()),
      run: () => verify("ada", "ABCDEF", "ada", '"1"'),
      id: "ROSTER-seq01",
    },
    { name: "no pending code", run: () => verify("ada", "ABCDEF"), id: "COMMAND-eis9R", kind: "InvalidArgument" },
  ]);

  test("the right code, by the user itself: verified, the code is used up", async () => {
    await set("olga", "ada@new.example", { kind: "none" });
    const code = (open(w.deps.keys.notificationAead, w.store.notifications()[0]!.encryptedPayload) as { code: string }).code;
    const before = await w.stored("ada");
    const r = await verify("ada", code, "ada", `"${before.sequence}"`);
    assert.equal(r.details.sequence, before.sequence + 1);
    const last = (await w.events("ada")).at(-1)!;
    assert.equal(last.type, "user.human.email.verified");
    assert.deepEqual(last.payload, { userId: "ada", old: false, new: true });
    assert.equal(last.actorId, "ada");
    assert.equal((await w.stored("ada")).emailVerified, true);
    assert.equal(await w.store.read.getCode("ada", "email"), undefined);
    // used up: the same code again fails, and records nothing
    const snap = await snapshot();
    await rejectsWith(verify("ada", code), "COMMAND-eis9R");
    await assertNothingWritten(snap);
  });

  test("a manager may verify with the code", async () => {
    const code = await pendingCode();
    await verify("olga", code);
    assert.equal((await w.events("ada")).at(-1)!.actorId, "olga");
  });

  test("a wrong code: COMMAND-eis9R, one failed attempt with its event (sequence + 1), nothing else", async () => {
    const code = await pendingCode();
    const before = await w.stored("ada");
    await rejectsWith(verify("ada", wrong(code)), "COMMAND-eis9R", "InvalidArgument");
    const stored = await w.store.read.getCode("ada", "email");
    assert.equal(stored?.failedAttempts, 1);
    const last = (await w.events("ada")).at(-1)!;
    assert.equal(last.type, "user.human.email.verification.failed");
    assert.equal(last.actorId, "ada");
    assert.equal(last.payload.failedAttempts, 1);
    assert.ok(!JSON.stringify(last.payload).includes(code));
    const after = await w.stored("ada");
    assert.equal(after.sequence, before.sequence + 1);
    assert.equal(after.emailVerified, before.emailVerified);
  });

  test("the comparison is exact: the code in lower case is wrong", async () => {
    let code = await pendingCode();
    while (!/[A-Z]/.test(code)) code = await pendingCode(); // an all-digit code has no lower case
    await rejectsWith(verify("ada", code.toLowerCase()), "COMMAND-eis9R");
    assert.equal((await w.store.read.getCode("ada", "email"))?.failedAttempts, 1);
  });

  test("four wrong guesses, then the right code still works", async () => {
    const code = await pendingCode();
    for (let i = 0; i < 4; i++) await rejectsWith(verify("ada", wrong(code)), "COMMAND-eis9R");
    await verify("ada", code);
    assert.equal((await w.stored("ada")).emailVerified, true);
  });

  test("the fifth wrong guess makes the code unusable; then even the right code fails and nothing is recorded", async () => {
    const code = await pendingCode();
    for (let i = 1; i <= 5; i++) {
      await rejectsWith(verify("ada", wrong(code)), "COMMAND-eis9R");
      assert.equal((await w.store.read.getCode("ada", "email"))?.failedAttempts, i);
    }
    const failed = (await w.events("ada")).filter((e) => e.type === "user.human.email.verification.failed");
    assert.deepEqual(failed.map((e) => e.payload.failedAttempts), [1, 2, 3, 4, 5]);
    const snap = await snapshot();
    await rejectsWith(verify("ada", code), "COMMAND-eis9R");
    await rejectsWith(verify("ada", wrong(code)), "COMMAND-eis9R");
    await assertNothingWritten(snap);
  });

  test("40 concurrent wrong guesses: exactly 5 are counted", async () => {
    const code = await pendingCode();
    const results = await Promise.allSettled(Array.from({ length: 40 }, () => verify("ada", wrong(code))));
    assert.ok(results.every((r) => r.status === "rejected"));
    assert.equal((await w.store.read.getCode("ada", "email"))?.failedAttempts, 5);
    assert.equal((await w.events("ada")).filter((e) => e.type === "user.human.email.verification.failed").length, 5);
  });

  test("an expired code: COMMAND-eis9R for the right code too, nothing recorded", async () => {
    const code = await pendingCode();
    w.clock.advance(3600 * 1000 + 1);
    const snap = await snapshot();
    await rejectsWith(verify("ada", code), "COMMAND-eis9R");
    await rejectsWith(verify("ada", wrong(code)), "COMMAND-eis9R");
    await assertNothingWritten(snap);
  });

  test("a code just before its expiry still works", async () => {
    const code = await pendingCode();
    w.clock.advance(3600 * 1000 - 60_000);
    await verify("ada", code);
  });

  test("a code is bound to its user: Bob's code is a wrong guess for Ada", async () => {
    const adas = await pendingCode("ada");
    let bobs = await pendingCode("bob");
    while (bobs === adas) bobs = await pendingCode("bob");
    await rejectsWith(verify("ada", bobs), "COMMAND-eis9R");
    assert.equal((await w.store.read.getCode("ada", "email"))?.failedAttempts, 1);
    assert.equal((await w.store.read.getCode("bob", "email"))?.failedAttempts, 0, "Bob's code is untouched");
    await verify("bob", bobs, "bob");
  });

  test("a code is bound to its purpose: the email code does not verify the phone, a reset code not the email", async () => {
    await w.user({ id: "pia", phone: "+41795550123", phoneVerified: false });
    const emailCode = await pendingCode("pia");
    // no phone code pending: the email code is simply not a phone code
    await rejectsWith(verifyPhone(w.deps, await as("pia"), { userId: "pia", code: emailCode }), "COMMAND-eis9R");
    assert.equal((await w.stored("pia")).phoneVerified, false);
    const reset = await passwordReset(w.deps, await as("olga"), { userId: "pia", medium: { kind: "return" } });
    if (reset.verificationCode !== emailCode) await rejectsWith(verify("pia", reset.verificationCode!, "pia"), "COMMAND-eis9R");
    await verify("pia", emailCode, "pia");
  });
});
