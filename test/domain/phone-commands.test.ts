/**
 * SetPhone, RemovePhone, ResendPhoneCode and VerifyPhone on the in-memory store (contract.md
 * §9.5, codes.md, decisions 2, 4, 5, 7, 8, 9): given state + request → events, state, codes,
 * notifications, error id.
 */
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import type { Principal } from "../../src/domain/principal.js";
import { sendEmailCode, verifyEmail } from "../../src/domain/users/email-commands.js";
import type { PhoneVerification } from "../../src/domain/users/inputs.js";
import {
  removePhone,
  resendPhoneCode,
  setPhone,
  verifyPhone,
  type PhoneCodeDelivery,
  type SetPhoneInput,
} from "../../src/domain/users/phone-commands.js";
import { open } from "../../src/notify/sealed-payload.js";
import { createDomainWorld, eventTypes, INSTANCE_SCOPE, rejectsWith, type DomainWorld } from "../support/domain-harness.js";

const ADA_PHONE = "+41795550123";

let w: DomainWorld;
beforeEach(async () => {
  w = await createDomainWorld();
  await w.org("acme");
  await w.org("globex");
  // Ada has a verified phone; Bob has none
  await w.user({ id: "ada", phone: ADA_PHONE, phoneVerified: true });
  await w.user({ id: "bob" });
  await w.user({ id: "olga", phone: "+41445550000" });
  await w.grant("olga", "acme", ["ORG_USER_MANAGER"]);
  await w.user({ id: "gus", orgId: "globex" });
  await w.grant("gus", "globex", ["ORG_OWNER"]);
  await w.user({ id: "ian", type: "machine" });
  await w.grant("ian", INSTANCE_SCOPE, ["IAM_OWNER"]);
});

const as = (caller: string): Promise<Principal> => w.principal(caller);

const set = async (caller: string, phone: string, verification: PhoneVerification = { kind: "none" }, extra: Partial<SetPhoneInput> = {}) =>
  setPhone(w.deps, await as(caller), { userId: "ada", phone, verification, ...extra });

const remove = async (caller: string, userId = "ada", ifMatch?: string) => removePhone(w.deps, await as(caller), { userId, ifMatch });

const resend = async (caller: string, delivery: PhoneCodeDelivery = { kind: "none" }, userId = "ada", ifMatch?: string) =>
  resendPhoneCode(w.deps, await as(caller), { userId, delivery, ifMatch });

const verify = async (caller: string, code: string, userId = "ada", ifMatch?: string) =>
  verifyPhone(w.deps, await as(caller), { userId, code, ifMatch });

/** Gives Ada a new unverified number with a pending code returned to Olga; returns the code. */
async function pendingCode(phone = "+41795559999"): Promise<string> {
  const r = await set("olga", phone, { kind: "return" });
  assert.match(r.verificationCode!, /^[A-Z0-9]{6}$/);
  return r.verificationCode!;
}

/** A new code for Ada's current number, returned to Olga. */
async function resentCode(): Promise<string> {
  const r = await resend("olga", { kind: "return" });
  return r.verificationCode!;
}

const wrong = (code: string): string => (code === "AAAAAA" ? "BBBBBB" : "AAAAAA");

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
  /** The expected English text, where the id alone is ambiguous. */
  text?: string;
}

function refusals(cases: Refusal[]): void {
  for (const c of cases) {
    test(`refused: ${c.name} → ${c.id}, nothing written`, async () => {
      await c.setup?.();
      const before = await snapshot();
      const e = await rejectsWith(c.run(), c.id, c.kind);
      if (c.text) assert.equal(e.text, c.text);
      await assertNothingWritten(before);
    });
  }
}

const initialUser = async () => void (await w.user({ id: "ini", state: "initial", phone: ADA_PHONE }));

describe("SetPhone (contract.md §9.5)", () => {
  refusals([
    { name: "a number that does not parse, before the user is looked up", run: async () => setPhone(w.deps, await as("olga"), { userId: "nobody", phone: "abc", verification: { kind: "none" } }), id: "PHONE-so0wa", kind: "InvalidArgument" },
    { name: "malformed if-match", run: async () => setPhone(w.deps, await as("olga"), { userId: "nobody", phone: "+41795550000", verification: { kind: "none" }, ifMatch: "*x" }), id: "ROSTER-seq02" },
    { name: "unknown user", run: async () => setPhone(w.deps, await as("ian"), { userId: "nobody", phone: "+41795550000", verification: { kind: "none" } }), id: "COMMAND-ieJ2e", kind: "NotFound", text: "Phone not found" },
    { name: "machine user", run: async () => setPhone(w.deps, await as("ian"), { userId: "ian", phone: "+41795550000", verification: { kind: "none" } }), id: "COMMAND-ieJ2e" },
    { name: "user in state initial", setup: initialUser, run: async () => setPhone(w.deps, await as("ian"), { userId: "ini", phone: "+41795550000", verification: { kind: "none" } }), id: "COMMAND-uz0Uu", kind: "FailedPrecondition" },
    { name: "a stranger", run: () => set("gus", "+41795550000"), id: "AUTHZ-HKJD33", kind: "PermissionDenied" },
    { name: "return_code by the user itself (decision 8)", run: () => set("ada", "+41795550000", { kind: "return" }), id: "AUTHZ-HKJD33" },
    { name: "is_verified by the user itself (decision 2)", run: () => set("ada", "+41795550000", { kind: "verified" }), id: "AUTHZ-HKJD33" },
    { name: "stale if-match", run: () => set("olga", "+41795550000", { kind: "return" }, { ifMatch: '"5"' }), id: "ROSTER-seq01" },
    { name: "the same number", run: () => set("ada", ADA_PHONE), id: "COMMAND-Uch5e", kind: "FailedPrecondition", text: "Phone not changed" },
    { name: "the same number written differently (compared in E.164)", run: () => set("ada", "079 555 01 23"), id: "COMMAND-Uch5e" },
    { name: "the same number as 0041…, with send_code", run: () => set("ada", "0041795550123", { kind: "send" }), id: "COMMAND-Uch5e" },
  ]);

  test("the user itself: the number is stored in E.164, unverified, with a code sent by SMS", async () => {
    const r = await set("ada", "044 668 18 00", { kind: "none" }, { ifMatch: "1" });
    assert.equal(r.verificationCode, undefined);
    assert.equal(r.details.sequence, 3);
    assert.deepEqual(await eventTypes(w, "ada"), ["user.human.phone.changed", "user.human.phone.code.added"]);
    const [changed] = (await w.events("ada")).slice(1);
    assert.deepEqual(changed!.payload, { userId: "ada", old: ADA_PHONE, new: "+41446681800" });
    const user = await w.stored("ada");
    assert.equal(user.phone, "+41446681800");
    assert.equal(user.phoneVerified, false);
    const notes = w.store.notifications();
    assert.deepEqual(notes.map((n) => [n.channel, n.recipient, n.purpose]), [["sms", "+41446681800", "phone"]]);
    const payload = open(w.deps.keys.notificationAead, notes[0]!.encryptedPayload) as { code: string; link?: string };
    assert.equal(payload.link, undefined);
    await verify("ada", payload.code);
    assert.equal((await w.stored("ada")).phoneVerified, true);
  });

  test("send_code by the user itself: sent by SMS", async () => {
    await set("ada", "+1 (415) 555-0100", { kind: "send" });
    assert.deepEqual(w.store.notifications().map((n) => [n.channel, n.recipient]), [["sms", "+14155550100"]]);
  });

  test("return_code by a manager: the code is returned, nothing sent, and it verifies as the user itself", async () => {
    const code = await pendingCode();
    assert.equal(w.store.notifications().length, 0);
    assert.equal((await w.store.read.getCode("ada", "phone"))?.delivery, "returned");
    await verify("ada", code);
  });

  test("is_verified by a manager: changed and verified, no code; a pending code is discarded", async () => {
    const old = await pendingCode("+41795559999");
    const r = await set("olga", "+41795558888", { kind: "verified" });
    assert.equal(r.verificationCode, undefined);
    assert.deepEqual(await eventTypes(w, "ada", 3), ["user.human.phone.changed", "user.human.phone.verified"]);
    assert.equal(await w.store.read.getCode("ada", "phone"), undefined);
    const user = await w.stored("ada");
    assert.deepEqual([user.phone, user.phoneVerified], ["+41795558888", true]);
    await rejectsWith(verify("ada", old), "COMMAND-eis9R");
  });

  test("a user without a phone gets one", async () => {
    const r = await setPhone(w.deps, await as("bob"), { userId: "bob", phone: "+41795557777", verification: { kind: "none" } });
    assert.equal(r.details.sequence, 3);
    assert.deepEqual((await w.events("bob"))[1]!.payload, { userId: "bob", old: "", new: "+41795557777" });
  });
});

describe("RemovePhone (contract.md §9.5)", () => {
  refusals([
    { name: "unknown user", run: () => remove("ian", "nobody"), id: "COMMAND-ieJ2e", kind: "NotFound", text: "Phone not found" },
    { name: "machine user", run: () => remove("ian", "ian"), id: "COMMAND-ieJ2e" },
    { name: "the user itself (no self exemption)", run: () => remove("ada"), id: "AUTHZ-HKJD33", kind: "PermissionDenied" },
    { name: "a stranger", run: () => remove("gus"), id: "AUTHZ-HKJD33" },
    { name: "a stranger, on a user without phone (permission before the phone check)", run: () => remove("gus", "bob"), id: "AUTHZ-HKJD33" },
    { name: "stale if-match", run: () => remove("olga", "ada", '"2"'), id: "ROSTER-seq01" },
    { name: "malformed if-match", run: () => remove("olga", "ada", "W/1"), id: "ROSTER-seq02" },
  ]);

  test("a user without a phone → NOT_FOUND COMMAND-ieJ2e Phone not found, nothing written", async () => {
    const before = await snapshot("bob");
    const e = await rejectsWith(remove("olga", "bob"), "COMMAND-ieJ2e", "NotFound");
    assert.equal(e.text, "Phone not found");
    await assertNothingWritten(before, "bob");
  });

  test("a manager: phone.removed with the old value, the number and its pending code are gone", async () => {
    const code = await pendingCode();
    const r = await remove("olga", "ada", '"3"');
    assert.equal(r.details.sequence, 4);
    const last = (await w.events("ada")).at(-1)!;
    assert.equal(last.type, "user.human.phone.removed");
    assert.deepEqual(last.payload, { userId: "ada", old: "+41795559999", new: "", verified: { old: false, new: false } });
    assert.equal(last.actorId, "olga");
    const user = await w.stored("ada");
    assert.deepEqual([user.phone, user.phoneVerified], ["", false]);
    assert.equal(await w.store.read.getCode("ada", "phone"), undefined);
    await rejectsWith(verify("ada", code), "COMMAND-eis9R");
    // removed once: a second time there is no phone
    await rejectsWith(remove("olga"), "COMMAND-ieJ2e");
  });

  test("a verified phone: the event records that it was verified", async () => {
    await remove("ian");
    assert.deepEqual((await w.events("ada")).at(-1)!.payload.verified, { old: true, new: false });
  });

  test("the user itself with user.write on its organization may remove its own phone", async () => {
    await remove("olga", "olga");
    assert.equal((await w.stored("olga")).phone, "");
  });
});

describe("ResendPhoneCode (contract.md §9.5)", () => {
  refusals([
    { name: "unknown user", run: () => resend("ian", { kind: "return" }, "nobody"), id: "COMMAND-ieJ2e", kind: "NotFound", text: "Phone not found" },
    { name: "user in state initial", setup: initialUser, run: () => resend("ian", { kind: "return" }, "ini"), id: "COMMAND-uz0Uu" },
    { name: "a stranger", setup: async () => void (await pendingCode()), run: () => resend("gus"), id: "AUTHZ-HKJD33" },
    { name: "return_code by the user itself (decision 8)", setup: async () => void (await pendingCode()), run: () => resend("ada", { kind: "return" }), id: "AUTHZ-HKJD33" },
    { name: "stale if-match", setup: async () => void (await pendingCode()), run: () => resend("olga", { kind: "return" }, "ada", '"1"'), id: "ROSTER-seq01" },
    { name: "no pending code (the phone is verified)", run: () => resend("olga", { kind: "return" }), id: "PHONE-5xrra88eq8", kind: "FailedPrecondition" },
  ]);

  test("a user without a phone has no pending code → PHONE-5xrra88eq8", async () => {
    await rejectsWith(resend("olga", { kind: "return" }, "bob"), "PHONE-5xrra88eq8");
  });

  test("the user itself: a new code replaces the pending one and is sent by SMS", async () => {
    const old = await pendingCode();
    const r = await resend("ada", { kind: "send" });
    assert.equal(r.verificationCode, undefined);
    assert.deepEqual(await eventTypes(w, "ada", 3), ["user.human.phone.code.added"]);
    const notes = w.store.notifications();
    assert.deepEqual(notes.map((n) => [n.channel, n.recipient, n.purpose]), [["sms", "+41795559999", "phone"]]);
    const payload = open(w.deps.keys.notificationAead, notes[0]!.encryptedPayload) as { code: string };
    if (payload.code !== old) await rejectsWith(verify("ada", old), "COMMAND-eis9R");
    await verify("ada", payload.code);
  });

  test("without a verification choice: sent by SMS", async () => {
    await pendingCode();
    await resend("ada");
    assert.equal(w.store.notifications().length, 1);
  });

  test("return_code by a manager: the new code is returned and replaces the old one", async () => {
    const old = await pendingCode();
    let fresh = await resentCode();
    while (fresh === old) fresh = await resentCode();
    await rejectsWith(verify("ada", old), "COMMAND-eis9R");
    await verify("ada", fresh);
  });

  test("an exhausted or expired code is still pending", async () => {
    const code = await pendingCode();
    for (let i = 0; i < 5; i++) await rejectsWith(verify("ada", wrong(code)), "COMMAND-eis9R");
    const afterExhausted = await resentCode();
    w.clock.advance(3600 * 1000 + 1);
    await rejectsWith(verify("ada", afterExhausted), "COMMAND-eis9R");
    await verify("ada", await resentCode());
  });
});

describe("VerifyPhone (contract.md §9.5, codes.md §4)", () => {
  refusals([
    { name: "unknown user", run: () => verify("ian", "ABCDEF", "nobody"), id: "COMMAND-ieJ2e", kind: "NotFound", text: "Phone not found" },
    { name: "user in state initial", setup: initialUser, run: () => verify("ian", "ABCDEF", "ini"), id: "COMMAND-uz0Uu" },
    {
      name: "a stranger, with a pending code: NOT_FOUND, no attempt counted (decision 9)",
      setup: async () => void (await pendingCode()),
      run: () => verify("gus", "ABCDEF"),
      id: "COMMAND-ugjs0upun6",
      kind: "NotFound",
      text: "User could not be found",
    },
    { name: "stale if-match with a wrong code: no attempt counted", setup: async () => void (await pendingCode()), run: () => verify("ada", "ABCDEF", "ada", '"1"'), id: "ROSTER-seq01" },
    { name: "no pending code", run: () => verify("ada", "ABCDEF"), id: "COMMAND-eis9R", kind: "InvalidArgument" },
  ]);

  test("the right code: phone.verified, the code is used up", async () => {
    const code = await pendingCode();
    const r = await verify("ada", code, "ada", '"3"');
    assert.equal(r.details.sequence, 4);
    const last = (await w.events("ada")).at(-1)!;
    assert.equal(last.type, "user.human.phone.verified");
    assert.deepEqual(last.payload, { userId: "ada", old: false, new: true });
    assert.equal((await w.stored("ada")).phoneVerified, true);
    assert.equal(await w.store.read.getCode("ada", "phone"), undefined);
    const snap = await snapshot();
    await rejectsWith(verify("ada", code), "COMMAND-eis9R");
    await assertNothingWritten(snap);
  });

  test("a wrong code: one failed attempt and user.human.phone.verification.failed", async () => {
    const code = await pendingCode();
    await rejectsWith(verify("ada", wrong(code)), "COMMAND-eis9R");
    assert.equal((await w.store.read.getCode("ada", "phone"))?.failedAttempts, 1);
    const last = (await w.events("ada")).at(-1)!;
    assert.equal(last.type, "user.human.phone.verification.failed");
    assert.equal(last.payload.failedAttempts, 1);
    assert.equal((await w.stored("ada")).sequence, 4);
  });

  test("five wrong guesses exhaust the code; the right one then fails with nothing recorded", async () => {
    const code = await pendingCode();
    for (let i = 0; i < 5; i++) await rejectsWith(verify("ada", wrong(code)), "COMMAND-eis9R");
    assert.equal((await w.store.read.getCode("ada", "phone"))?.failedAttempts, 5);
    const snap = await snapshot();
    await rejectsWith(verify("ada", code), "COMMAND-eis9R");
    await assertNothingWritten(snap);
  });

  test("40 concurrent wrong guesses: exactly 5 are counted", async () => {
    const code = await pendingCode();
    const results = await Promise.allSettled(Array.from({ length: 40 }, () => verify("ada", wrong(code))));
    assert.ok(results.every((r) => r.status === "rejected"));
    assert.equal((await w.events("ada")).filter((e) => e.type === "user.human.phone.verification.failed").length, 5);
  });

  test("an expired code: COMMAND-eis9R, nothing recorded", async () => {
    const code = await pendingCode();
    w.clock.advance(3600 * 1000 + 1);
    const snap = await snapshot();
    await rejectsWith(verify("ada", code), "COMMAND-eis9R");
    await assertNothingWritten(snap);
  });

  test("a code is bound to its purpose: the phone code does not verify the email, nor the email code the phone", async () => {
    const phoneCode = await pendingCode();
    const emailCode = async () => (await sendEmailCode(w.deps, await as("olga"), { userId: "ada", delivery: { kind: "return" } })).verificationCode!;
    let mailed = await emailCode();
    while (mailed === phoneCode) mailed = await emailCode();
    await rejectsWith(verifyEmail(w.deps, await as("ada"), { userId: "ada", code: phoneCode }), "COMMAND-eis9R");
    assert.equal((await w.store.read.getCode("ada", "email"))?.failedAttempts, 1);
    await rejectsWith(verify("ada", mailed), "COMMAND-eis9R");
    assert.equal((await w.store.read.getCode("ada", "phone"))?.failedAttempts, 1);
    assert.equal((await w.stored("ada")).phoneVerified, false);
    // each still verifies what it was made for
    await verify("ada", phoneCode);
    await verifyEmail(w.deps, await as("ada"), { userId: "ada", code: mailed });
  });

  test("a code is bound to its user: Olga's phone code is a wrong guess for Ada", async () => {
    const adas = await pendingCode();
    let n = 1000;
    const olgas = async () =>
      (await setPhone(w.deps, await as("olga"), { userId: "olga", phone: `+4179555${n++}`, verification: { kind: "return" } })).verificationCode!;
    let code = await olgas();
    while (code === adas) code = await olgas();
    await rejectsWith(verify("ada", code), "COMMAND-eis9R");
    assert.equal((await w.store.read.getCode("ada", "phone"))?.failedAttempts, 1);
    assert.equal((await w.store.read.getCode("olga", "phone"))?.failedAttempts, 0);
  });
});
