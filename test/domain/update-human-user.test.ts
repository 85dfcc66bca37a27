/**
 * UpdateHumanUser on the in-memory store (update-human-user.md): the processing order of §1 one
 * step per row, the examples of §12, the no-op rule, if-match, decisions 1, 2, 3, 8 and 9, the
 * username trim, failed code attempts and the pre-lock password work. Every row starts from the
 * cast of §12 (seedExampleCast): given state + request → events, stored state, or an error id
 * with nothing written.
 */
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import bcrypt from "bcrypt";
import { hashCode } from "../../src/domain/codes/code.js";
import { DomainError } from "../../src/domain/errors.js";
import type { UserRecord } from "../../src/domain/store.js";
import type { EmailVerification, NewPassword, PasswordInput, PasswordVerification, PhoneVerification } from "../../src/domain/users/inputs.js";
import { createPasswordHasher, type PasswordHasher } from "../../src/domain/users/password-hash.js";
import { passwordReset } from "../../src/domain/users/password-reset.js";
import { updateHumanUser, type UpdateHumanUserInput, type UpdateHumanUserResult } from "../../src/domain/users/update-human.js";
import { open } from "../../src/notify/sealed-payload.js";
import {
  ADA_PASSWORD,
  createDomainWorld,
  rejectsWith,
  seedExampleCast,
  type DomainWorld,
  type UserSnapshot,
} from "../support/domain-harness.js";

const NOT_FOUND = "COMMAND-ugjs0upun6";
const DENIED = "AUTHZ-HKJD33";

// verifications and passwords, as the service maps them from the request
const SEND: EmailVerification & PhoneVerification = { kind: "send" };
const RETURN: EmailVerification & PhoneVerification = { kind: "return" };
const NONE: EmailVerification & PhoneVerification = { kind: "none" };
const VERIFIED = { kind: "verified", value: true } as const;
const NOT_VERIFIED = { kind: "verified", value: false } as const;
const plain = (password: string, changeRequired = false): NewPassword => ({ kind: "plain", password, changeRequired });
const hashed = (hash: string, changeRequired = false): NewPassword => ({ kind: "hashed", hash, changeRequired });
const current = (password: string): PasswordVerification => ({ kind: "current", password });
const byCode = (code: string): PasswordVerification => ({ kind: "code", code });
const NO_PROOF: PasswordVerification = { kind: "none" };
const pw = (newPassword: NewPassword | undefined, verification: PasswordVerification = NO_PROOF): PasswordInput => ({ newPassword, verification });

type Request = Omit<UpdateHumanUserInput, "userId"> & { userId?: string };

let w: DomainWorld;
let adaPhoneCode: string;
/** A bcrypt hash in PHP's $2y$ spelling, as an import might bring it. */
const importedHash = bcrypt.hashSync("Imported-Pass-1", 4).replace(/^\$2b\$/, "$2y$");

async function world(overrides?: Parameters<typeof createDomainWorld>[0]): Promise<void> {
  w = await createDomainWorld(overrides);
  ({ adaPhoneCode } = await seedExampleCast(w));
}

beforeEach(() => world());

const update = async (caller: string, request: Request): Promise<UpdateHumanUserResult> =>
  updateHumanUser(w.deps, await w.principal(caller), { userId: "ada", ...request });

/** The events written since `before`, checked for numbering, time, actor and details. */
async function newEvents(before: UserSnapshot, result: UpdateHumanUserResult, types: string[], actor: string) {
  const all = await w.events(before.userId);
  const events = all.slice(before.events.length);
  assert.deepEqual(
    events.map((e) => e.type),
    types,
  );
  const start = before.user!.sequence;
  assert.deepEqual(
    events.map((e) => e.sequence),
    types.map((_, i) => start + i + 1),
  );
  const stored = await w.stored(before.userId);
  assert.equal(result.details.sequence, start + types.length);
  assert.equal(stored.sequence, result.details.sequence);
  assert.deepEqual(stored.changedAt, result.details.changeDate);
  assert.equal(result.details.resourceOwner, stored.orgId);
  assert.equal(result.details.creationDate, undefined);
  for (const e of events) {
    assert.deepEqual(e.createdAt, result.details.changeDate, "all events of one write share its time");
    assert.equal(e.actorId, actor);
    assert.equal(e.orgId, stored.orgId);
    assert.equal(e.payload.userId, before.userId);
  }
  return events;
}

/** A no-op: nothing written, the current details answered, no code returned. */
async function expectNoOp(before: UserSnapshot, result: UpdateHumanUserResult): Promise<void> {
  await w.assertUnchanged(before);
  assert.equal(result.details.sequence, before.user!.sequence);
  assert.deepEqual(result.details.changeDate, before.user!.changedAt);
  assert.equal(result.details.resourceOwner, before.user!.orgId);
  assert.equal(result.emailCode, undefined);
  assert.equal(result.phoneCode, undefined);
}

// ---------------------------------------------------------------------------------------------

describe("processing order (§1): each row fails at its step although every later step would fail too", () => {
  const weakAfterProof = pw(plain("weakpass"), current(ADA_PASSWORD)); // 6.5 policy: no upper case
  const wrongProof = pw(plain("weakpass"), current("Wrong-Passw0rd")); // 6.5 verification
  const later = { username: "BOB", password: wrongProof }; // 6.1 and 6.5
  const selfReturn = { phone: { phone: "+41795550124", verification: RETURN } }; // 4.4 for Ada
  const selfVerified = { email: { email: "ada@acme.example", verification: VERIFIED } }; // 4.3 for Ada
  const badTemplate = { email: { email: "Ada <ada@king.example>", verification: { kind: "send", urlTemplate: "https://x.example/{{.Code" } as const } };

  const rows: { step: string; caller: string; request: Request; setup?: () => Promise<void>; id: string }[] = [
    { step: "2.2 a malformed if-match", caller: "ada", request: { userId: "nobody", ifMatch: 'W/"9"', username: " ", ...badTemplate, phone: { phone: "abc", verification: NONE }, password: pw(undefined) }, id: "ROSTER-seq02" },
    { step: "§8 a username blank after trimming", caller: "ada", request: { userId: "nobody", username: " \t ", ...badTemplate, phone: { phone: "abc", verification: NONE }, password: pw(undefined) }, id: "COMMAND-2N9fs" },
    { step: "2.3 a malformed URL template", caller: "ada", request: { userId: "nobody", ...badTemplate, phone: { phone: "abc", verification: NONE }, password: pw(undefined) }, id: "DOMAIN-oGh5e" },
    {
      step: "2.3 an unsupported URL template action",
      caller: "ada",
      request: { userId: "nobody", email: { email: "Ada <ada@king.example>", verification: { kind: "send", urlTemplate: "https://x.example/?l={{.Lang}}" } }, phone: { phone: "abc", verification: NONE } },
      id: "DOMAIN-ieYa7",
    },
    { step: "2.4 an address with a display name", caller: "ada", request: { userId: "nobody", email: { email: "Ada <ada@king.example>", verification: NONE }, phone: { phone: "abc", verification: NONE }, password: pw(undefined) }, id: "EMAIL-599GV" },
    { step: "2.4 not an address", caller: "ada", request: { userId: "nobody", email: { email: "ada at king", verification: NONE }, phone: { phone: "abc", verification: NONE } }, id: "EMAIL-599BI" },
    { step: "2.5 a phone number that does not parse", caller: "ada", request: { userId: "nobody", phone: { phone: "abc", verification: NONE }, password: pw(undefined) }, id: "PHONE-so0wa" },
    { step: "2.6 a hash that is not bcrypt", caller: "gus", request: { userId: "nobody", password: pw(hashed("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA")) }, id: "USER-oz74onzvqr" },
    { step: "2.6 no new password", caller: "gus", request: { userId: "nobody", password: pw(undefined, current(ADA_PASSWORD)) }, id: "COMMAND-3klek4sbns" },
    { step: "2.6 a password over 72 bytes", caller: "gus", request: { userId: "nobody", password: pw(plain("A1!" + "a".repeat(70))) }, id: "ROSTER-pw072" },
    { step: "3 an unknown user", caller: "gus", request: { userId: "nobody", ...selfVerified, ...selfReturn, ...later, ifMatch: '"8"' }, id: NOT_FOUND },
    {
      step: "3 a deleted user",
      caller: "olga",
      setup: () => setAda({ state: "deleted" }),
      request: { ...later, ifMatch: '"8"' },
      id: NOT_FOUND,
    },
    { step: "3 a machine user", caller: "ian", request: { userId: "ian", username: "robot" }, id: NOT_FOUND },
    { step: "4.1 no block: self or user.read, before if-match", caller: "gus", request: { ifMatch: '"8"' }, id: NOT_FOUND },
    { step: "4.2 a block: self or user.write", caller: "gus", request: { ...selfVerified, ...selfReturn, ...later, ifMatch: '"8"' }, id: DENIED },
    { step: "4.3 is_verified: user.write, self is not enough", caller: "ada", request: { ...selfVerified, ...later, ifMatch: '"8"' }, id: DENIED },
    { step: "4.4 return_code: user.write, self is not enough", caller: "ada", request: { ...selfReturn, ...later, ifMatch: '"8"' }, id: DENIED },
    { step: "5 a stale if-match, before any change", caller: "ada", request: { ...later, ifMatch: '"8"' }, id: "ROSTER-seq01" },
    { step: "6.1 a taken username, before the password", caller: "ada", request: later, id: "V3-DKcYh" },
    { step: "6.5 password: state INITIAL, before the verification", caller: "ada", setup: () => setAda({ state: "initial" }), request: { password: wrongProof }, id: "COMMAND-M9dse" },
    { step: "6.5 password: the verification, before the policy", caller: "ada", request: { profile: { givenName: "Ada", familyName: "King" }, password: wrongProof }, id: "COMMAND-3M0fs" },
    { step: "6.5 password: the policy", caller: "ada", request: { profile: { givenName: "Ada", familyName: "King" }, password: weakAfterProof }, id: "DOMAIN-VoaRj" },
  ];
  for (const row of rows) {
    test(`${row.step} → ${row.id}, nothing written`, async () => {
      await row.setup?.();
      const before = await w.snapshot("ada");
      await rejectsWith(update(row.caller, row.request), row.id);
      await w.assertUnchanged(before);
    });
  }
});

async function setAda(changes: Partial<UserRecord>): Promise<void> {
  const ada = await w.stored("ada");
  await w.store.transaction((tx) => tx.updateUser({ ...ada, ...changes }));
}

// ---------------------------------------------------------------------------------------------

interface Example {
  n: string;
  caller: string;
  request: Request;
  /** An error id, or the event types of the change ([] for a no-op). */
  error?: string;
  events?: string[];
  /** Further checks of the stored user and the response of a success. */
  then?: (ada: UserRecord, result: UpdateHumanUserResult, before: UserSnapshot) => Promise<void> | void;
}

describe("the examples of §12", () => {
  const king = "ada@king.example";
  const examples: Example[] = [
    {
      n: "#1",
      caller: "olga",
      request: { username: "ada.lovelace" },
      events: ["user.username.changed"],
      then: async (ada) => {
        assert.equal(ada.username, "ada.lovelace");
        const [e] = (await w.events("ada")).slice(-1);
        assert.equal(e!.payload.old, "ada");
        assert.equal(e!.payload.new, "ada.lovelace");
      },
    },
    { n: "#2", caller: "olga", request: { username: "ada" }, events: [] },
    { n: "#3", caller: "olga", request: { username: "BOB" }, error: "V3-DKcYh" },
    { n: "#4", caller: "ada", request: { username: "Ada" }, events: ["user.username.changed"], then: (ada) => assert.equal(ada.username, "Ada") },
    {
      n: "#5",
      caller: "ada",
      request: { profile: { givenName: "Ada", familyName: "King", nickName: "" } },
      events: ["user.human.profile.changed"],
      then: async (ada) => {
        assert.deepEqual(
          [ada.givenName, ada.familyName, ada.nickName, ada.displayName, ada.preferredLanguage, ada.gender],
          ["Ada", "King", "", "Ada Lovelace", "en", 1],
        );
        const [e] = (await w.events("ada")).slice(-1);
        assert.deepEqual(e!.payload.changes, { familyName: { old: "Lovelace", new: "King" }, nickName: { old: "Countess", new: "" } });
      },
    },
    { n: "#6", caller: "olga", request: { profile: { givenName: "Ada", familyName: "Lovelace", preferredLanguage: "EN" } }, events: [] },
    {
      n: "#8",
      caller: "olga",
      request: { email: { email: king, verification: RETURN } },
      events: ["user.human.email.changed", "user.human.email.code.added"],
      then: async (ada, r, before) => {
        assert.match(r.emailCode!, /^[A-Z0-9]{6}$/);
        assert.equal(r.phoneCode, undefined);
        assert.equal(ada.email, king);
        assert.equal(ada.emailVerified, false);
        assert.equal((await w.store.read.getCode("ada", "email"))?.delivery, "returned");
        assert.deepEqual(w.notifications("ada"), before.notifications, "nothing is mailed");
      },
    },
    { n: "#9", caller: "olga", request: { email: { email: "ada@acme.example", verification: RETURN } }, events: [] },
    { n: "#10", caller: "ada", request: { email: { email: king, verification: VERIFIED } }, error: DENIED },
    {
      n: "#11",
      caller: "olga",
      request: { email: { email: king, verification: VERIFIED } },
      events: ["user.human.email.changed", "user.human.email.verified"],
      then: async (ada, r) => {
        assert.equal(r.emailCode, undefined);
        assert.equal(ada.email, king);
        assert.equal(ada.emailVerified, true);
        assert.equal(await w.store.read.getCode("ada", "email"), undefined);
      },
    },
    { n: "#12", caller: "olga", request: { email: { email: king, verification: { kind: "send", urlTemplate: "https://id.acme.example/v?u={{.UserID}}&c={{.Code}}&l={{.Lang}}" } } }, error: "DOMAIN-ieYa7" },
    { n: "#13", caller: "olga", request: { email: { email: "Ada <ada@king.example>", verification: NONE } }, error: "EMAIL-599GV" },
    {
      n: "#14",
      caller: "olga",
      request: { phone: { phone: "079 555 01 23", verification: { kind: "verified" } } },
      events: ["user.human.phone.verified"],
      then: async (ada) => {
        assert.equal(ada.phone, "+41795550123");
        assert.equal(ada.phoneVerified, true);
        assert.equal(await w.store.read.getCode("ada", "phone"), undefined, "the pending phone code is discarded");
      },
    },
    {
      n: "#15",
      caller: "olga",
      request: { phone: { phone: "", verification: RETURN } },
      events: [],
      then: (ada) => assert.equal(ada.phone, "+41795550123"),
    },
    { n: "#17", caller: "olga", request: { phone: { phone: "+999 123456", verification: NONE } }, error: "PHONE-so0wa" },
    {
      n: "#18",
      caller: "olga",
      request: { phone: { phone: "+41 79 555 01 24", verification: NONE } },
      events: ["user.human.phone.changed", "user.human.phone.code.added"],
      then: async (ada, r, before) => {
        assert.equal(r.phoneCode, undefined);
        assert.equal(ada.phone, "+41795550124");
        assert.equal(ada.phoneVerified, false);
        const code = await w.store.read.getCode("ada", "phone");
        assert.equal(code?.delivery, "sent");
        assert.notDeepEqual(code, before.codes.phone);
        const sent = w.notifications("ada").slice(before.notifications.length);
        assert.deepEqual(
          sent.map((n) => [n.channel, n.recipient, n.purpose, n.status]),
          [["sms", "+41795550124", "phone", "pending"]],
        );
      },
    },
    { n: "#19", caller: "ada", request: { password: pw(plain("Engine-Difference-2")) }, error: DENIED },
    {
      n: "#20",
      caller: "ada",
      request: { password: pw(plain("Engine-Difference-2"), current(ADA_PASSWORD)) },
      events: ["user.human.password.changed"],
      then: async (ada) => {
        assert.equal(await w.deps.hasher.verify("Engine-Difference-2", ada.passwordHash!), true);
        assert.equal(await w.deps.hasher.verify(ADA_PASSWORD, ada.passwordHash!), false);
        const [e] = (await w.events("ada")).slice(-1);
        assert.deepEqual(e!.payload, { userId: "ada", changeRequired: false, kind: "plain", verification: "current_password" });
      },
    },
    { n: "#21", caller: "ada", request: { password: pw(plain("Engine-Difference-2"), current("analytical-1843")) }, error: "COMMAND-3M0fs" },
    { n: "#22", caller: "ada", request: { password: pw(plain("engine"), current(ADA_PASSWORD)) }, error: "DOMAIN-HuJf6" },
    { n: "#23", caller: "olga", request: { password: pw(plain("a".repeat(80))) }, error: "ROSTER-pw072" },
    { n: "#24", caller: "olga", request: { password: pw(hashed("$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo")) }, error: "USER-oz74onzvqr" },
    {
      n: "#25",
      caller: "olga",
      request: { password: pw(hashed(importedHash, true)) },
      events: ["user.human.password.changed"],
      then: async (ada) => {
        assert.equal(ada.passwordHash, importedHash);
        assert.equal(ada.passwordChangeRequired, true);
        assert.equal(await w.deps.hasher.verify("Imported-Pass-1", ada.passwordHash!), true);
        const [e] = (await w.events("ada")).slice(-1);
        assert.deepEqual(e!.payload, { userId: "ada", changeRequired: true, kind: "hashed", verification: "permission" });
      },
    },
    { n: "#26", caller: "olga", request: { password: pw(undefined, current(ADA_PASSWORD)) }, error: "COMMAND-3klek4sbns" },
    { n: "#29", caller: "gus", request: { username: "ada2" }, error: DENIED },
    { n: "#30 (Gus)", caller: "gus", request: {}, error: NOT_FOUND },
    { n: "#30 (Bob)", caller: "bob", request: {}, error: NOT_FOUND },
    { n: "#31 (Ada)", caller: "ada", request: {}, events: [] },
    { n: "#31 (Olga)", caller: "olga", request: {}, events: [] },
    {
      n: "#32",
      caller: "ian",
      request: { profile: { givenName: "Augusta Ada", familyName: "King" } },
      events: ["user.human.profile.changed"],
      then: (ada) => assert.deepEqual([ada.givenName, ada.familyName, ada.displayName], ["Augusta Ada", "King", "Ada Lovelace"]),
    },
    { n: "#33", caller: "olga", request: { username: "ada.lovelace", ifMatch: '"8"' }, error: "ROSTER-seq01" },
    { n: '#34 (If-Match: "9")', caller: "olga", request: { username: "ada.lovelace", ifMatch: '"9"' }, events: ["user.username.changed"] },
    { n: "#34 (If-Match: 9)", caller: "olga", request: { username: "ada.lovelace", ifMatch: "9" }, events: ["user.username.changed"] },
    {
      n: "#35",
      caller: "olga",
      request: { username: "ada.lovelace", password: pw(plain("weakpass")) },
      error: "DOMAIN-VoaRj", // and the username stays: nothing written
    },
    { n: "#36", caller: "olga", request: { username: "ada.lovelace", phone: { phone: "abc", verification: NONE } }, error: "PHONE-so0wa" },
    { n: "#36 (unknown user)", caller: "olga", request: { userId: "399999999999999999", username: "ada.lovelace", phone: { phone: "abc", verification: NONE } }, error: "PHONE-so0wa" },
    { n: "#37", caller: "olga", request: { userId: "399999999999999999", username: "x" }, error: NOT_FOUND },
  ];

  for (const ex of examples) {
    const outcome = ex.error ?? (ex.events!.length === 0 ? "no-op" : ex.events!.join(", "));
    test(`${ex.n} ${ex.caller}: ${outcome}`, async () => {
      const request = ex.request;
      const before = await w.snapshot("ada");
      if (ex.error) {
        await rejectsWith(update(ex.caller, request), ex.error);
        await w.assertUnchanged(before);
        return;
      }
      const result = await update(ex.caller, request);
      if (ex.events!.length === 0) await expectNoOp(before, result);
      else await newEvents(before, result, ex.events!, ex.caller);
      await ex.then?.(await w.stored("ada"), result, before);
    });
  }

  test("#27 a reset code changes the password once; sending it again → COMMAND-2M9fs", async () => {
    const { verificationCode } = await passwordReset(w.deps, await w.principal("olga"), { userId: "ada", medium: { kind: "return" } });
    const before = await w.snapshot("ada");
    const result = await update("ada", { password: pw(plain("Engine-Difference-2"), byCode(verificationCode!)) });
    const [e] = await newEvents(before, result, ["user.human.password.changed"], "ada");
    assert.equal(e!.payload.verification, "verification_code");
    assert.equal(await w.store.read.getCode("ada", "password_reset"), undefined, "the code is used up");
    assert.equal(await w.deps.hasher.verify("Engine-Difference-2", (await w.stored("ada")).passwordHash!), true);
    const after = await w.snapshot("ada");
    await rejectsWith(update("ada", { password: pw(plain("Engine-Difference-3"), byCode(verificationCode!)) }), "COMMAND-2M9fs");
    await w.assertUnchanged(after);
  });

  test("#28 a wrong reset code → CODE-woT0xc and the attempt is recorded; after five, even the right code fails", async () => {
    const { verificationCode } = await passwordReset(w.deps, await w.principal("olga"), { userId: "ada", medium: { kind: "return" } });
    const wrong = verificationCode === "AAAAAA" ? "BBBBBB" : "AAAAAA";
    for (let attempt = 1; attempt <= 5; attempt++) {
      const before = await w.snapshot("ada");
      await rejectsWith(update("ada", { password: pw(plain("Engine-Difference-2"), byCode(wrong)) }), "CODE-woT0xc");
      const events = (await w.events("ada")).slice(before.events.length);
      assert.deepEqual(
        events.map((e) => [e.type, e.sequence, e.payload.failedAttempts]),
        [["user.human.password.code.verification.failed", before.user!.sequence + 1, attempt]],
      );
      assert.equal((await w.stored("ada")).sequence, before.user!.sequence + 1);
      assert.equal((await w.store.read.getCode("ada", "password_reset"))?.failedAttempts, attempt);
    }
    const exhausted = await w.snapshot("ada");
    await rejectsWith(update("ada", { password: pw(plain("Engine-Difference-2"), byCode(verificationCode!)) }), "CODE-woT0xc");
    await w.assertUnchanged(exhausted);
  });
});

// ---------------------------------------------------------------------------------------------

describe("each block's events and stored state", () => {
  test("all five blocks at once: events in the order of §10, one write", async () => {
    const before = await w.snapshot("ada");
    const result = await update("olga", {
      username: "countess",
      profile: { givenName: "Augusta Ada", familyName: "King", nickName: "", displayName: "A. A. King", preferredLanguage: "en-gb", gender: 3 },
      email: { email: "ada@king.example", verification: { kind: "send", urlTemplate: "https://id.example/v?u={{.UserID}}&c={{ .Code }}" } },
      phone: { phone: "+1 (415) 555-0100", verification: RETURN },
      password: pw(plain("Engine-Difference-2", true)),
    });
    const events = await newEvents(
      before,
      result,
      [
        "user.username.changed",
        "user.human.profile.changed",
        "user.human.email.changed",
        "user.human.email.code.added",
        "user.human.phone.changed",
        "user.human.phone.code.added",
        "user.human.password.changed",
      ],
      "olga",
    );
    const ada = await w.stored("ada");
    assert.deepEqual(
      [ada.username, ada.givenName, ada.familyName, ada.nickName, ada.displayName, ada.preferredLanguage, ada.gender],
      ["countess", "Augusta Ada", "King", "", "A. A. King", "en-GB", 3],
    );
    assert.deepEqual([ada.email, ada.emailVerified, ada.phone, ada.phoneVerified], ["ada@king.example", false, "+14155550100", false]);
    assert.equal(ada.passwordChangeRequired, true);
    assert.deepEqual(ada.passwordChangedAt, result.details.changeDate);
    assert.match(result.phoneCode!, /^[A-Z0-9]{6}$/);
    assert.equal(result.emailCode, undefined);
    assert.deepEqual(events[1]!.payload.changes, {
      givenName: { old: "Ada", new: "Augusta Ada" },
      familyName: { old: "Lovelace", new: "King" },
      nickName: { old: "Countess", new: "" },
      displayName: { old: "Ada Lovelace", new: "A. A. King" },
      preferredLanguage: { old: "en", new: "en-GB" },
      gender: { old: 1, new: 3 },
    });
    assert.deepEqual(events[3]!.payload, {
      userId: "ada",
      expiresAt: new Date(result.details.changeDate.getTime() + 3600_000).toISOString(),
      delivery: "sent",
      urlTemplate: "https://id.example/v?u={{.UserID}}&c={{ .Code }}",
      channel: "email",
    });
    assert.deepEqual(events[5]!.payload, { userId: "ada", expiresAt: new Date(result.details.changeDate.getTime() + 3600_000).toISOString(), delivery: "returned" });
    // the mail carries the code inside the sealed payload only, with the rendered link
    const [mail] = w.notifications("ada").slice(before.notifications.length);
    assert.deepEqual([mail?.channel, mail?.recipient, mail?.purpose], ["email", "ada@king.example", "email"]);
    const sealed = open(w.deps.keys.notificationAead, mail!.encryptedPayload) as { code: string; link: string };
    assert.equal(sealed.link, `https://id.example/v?u=ada&c=${sealed.code}`);
    for (const e of events) assert.ok(!JSON.stringify(e.payload).includes(sealed.code), "no code in an event");
    assert.equal(w.notifications("ada").length, before.notifications.length + 1, "the returned phone code is not sent");
  });

  const emailRows: { name: string; email: string; v: EmailVerification; events: string[]; verified?: boolean; mail?: boolean }[] = [
    { name: "a new address with send_code: changed + code, mailed", email: "ada@king.example", v: SEND, events: ["user.human.email.changed", "user.human.email.code.added"], verified: false, mail: true },
    { name: "a new address without verification: as send_code", email: "ada@king.example", v: NONE, events: ["user.human.email.changed", "user.human.email.code.added"], verified: false, mail: true },
    { name: "a new address with is_verified false: as send_code", email: "ada@king.example", v: NOT_VERIFIED, events: ["user.human.email.changed", "user.human.email.code.added"], verified: false, mail: true },
    { name: "the address in other case is a new address", email: "ADA@acme.example", v: VERIFIED, events: ["user.human.email.changed", "user.human.email.verified"], verified: true },
  ];
  for (const row of emailRows) {
    test(`email: ${row.name}`, async () => {
      const before = await w.snapshot("ada");
      const result = await update("olga", { email: { email: row.email, verification: row.v } });
      await newEvents(before, result, row.events, "olga");
      const ada = await w.stored("ada");
      assert.equal(ada.email, row.email);
      assert.equal(ada.emailVerified, row.verified);
      assert.equal(w.notifications("ada").length - before.notifications.length, row.mail ? 1 : 0);
    });
  }

  test("email: the same address stored unverified + is_verified → only email.verified, the pending code discarded", async () => {
    await setAda({ emailVerified: false });
    await w.code("ada", "email");
    const before = await w.snapshot("ada");
    const result = await update("olga", { email: { email: "ada@acme.example", verification: VERIFIED } });
    await newEvents(before, result, ["user.human.email.verified"], "olga");
    assert.equal((await w.stored("ada")).emailVerified, true);
    assert.equal(await w.store.read.getCode("ada", "email"), undefined);
  });

  test("email: the same address stored unverified with any other verification → nothing, the code stays", async () => {
    await setAda({ emailVerified: false });
    await w.code("ada", "email");
    for (const v of [SEND, RETURN, NONE, NOT_VERIFIED]) {
      const before = await w.snapshot("ada");
      await expectNoOp(before, await update("olga", { email: { email: "ada@acme.example", verification: v } }));
    }
  });

  test("phone: an empty number + is_verified marks a stored unverified number verified; without a number nothing", async () => {
    const before = await w.snapshot("ada");
    const result = await update("olga", { phone: { phone: "", verification: { kind: "verified" } } });
    await newEvents(before, result, ["user.human.phone.verified"], "olga");
    assert.deepEqual([(await w.stored("ada")).phone, (await w.stored("ada")).phoneVerified], ["+41795550123", true]);
    const bob = await w.snapshot("bob");
    const r = await updateHumanUser(w.deps, await w.principal("olga"), { userId: "bob", phone: { phone: "", verification: { kind: "verified" } } });
    await w.assertUnchanged(bob);
    assert.equal(r.details.sequence, bob.user!.sequence);
  });

  test("phone: a new number + is_verified → changed and verified, no code", async () => {
    const before = await w.snapshot("ada");
    const result = await update("olga", { phone: { phone: "044 668 18 00", verification: { kind: "verified" } } });
    await newEvents(before, result, ["user.human.phone.changed", "user.human.phone.verified"], "olga");
    const ada = await w.stored("ada");
    assert.deepEqual([ada.phone, ada.phoneVerified], ["+41446681800", true]);
    assert.equal(await w.store.read.getCode("ada", "phone"), undefined);
    assert.equal(result.phoneCode, undefined);
  });

  test("a pending code left alone by a no-op still verifies the number later", async () => {
    await expectNoOp(await w.snapshot("ada"), await update("olga", { phone: { phone: "0041795550123", verification: SEND } }));
    const code = await w.store.read.getCode("ada", "phone");
    assert.ok(code);
    assert.deepEqual(code.hash, hashCode(w.deps.keys.codeHmac, "phone", "ada", adaPhoneCode));
  });

  test("profile: language canonicalised (en-us → en-US, ill-formed → und); an unknown gender is unspecified", async () => {
    for (const [sent, stored] of [
      ["en-us", "en-US"],
      ["", "und"],
      ["not a tag!", "und"],
    ] as const) {
      await update("olga", { profile: { givenName: "Ada", familyName: "Lovelace", preferredLanguage: sent } });
      assert.equal((await w.stored("ada")).preferredLanguage, stored);
    }
    await update("olga", { profile: { givenName: "Ada", familyName: "Lovelace", gender: 42 } });
    assert.equal((await w.stored("ada")).gender, 0);
  });

  test("profile: values are stored as sent, not trimmed; absent optional fields are untouched", async () => {
    const before = await w.snapshot("ada");
    const result = await update("olga", { profile: { givenName: " Ada ", familyName: "Lovelace" } });
    const [e] = await newEvents(before, result, ["user.human.profile.changed"], "olga");
    assert.deepEqual(e!.payload.changes, { givenName: { old: "Ada", new: " Ada " } });
    const ada = await w.stored("ada");
    assert.deepEqual([ada.givenName, ada.nickName, ada.displayName, ada.preferredLanguage, ada.gender], [" Ada ", "Countess", "Ada Lovelace", "en", 1]);
  });
});

// ---------------------------------------------------------------------------------------------

describe("the no-op rule (§11)", () => {
  const equalRequests: { name: string; request: Request }[] = [
    { name: "the same username", request: { username: "ada" } },
    { name: "the same username with surrounding white space", request: { username: "\u00a0 ada\t" } },
    { name: "the whole stored profile", request: { profile: { givenName: "Ada", familyName: "Lovelace", nickName: "Countess", displayName: "Ada Lovelace", preferredLanguage: "en", gender: 1 } } },
    { name: "the same verified address, any verification", request: { email: { email: "ada@acme.example", verification: VERIFIED } } },
    { name: "the same address with send_code", request: { email: { email: "ada@acme.example", verification: SEND } } },
    { name: "the stored number in another notation", request: { phone: { phone: "+41 79 555 01 23", verification: RETURN } } },
    { name: "an empty number", request: { phone: { phone: "", verification: SEND } } },
    {
      name: "every block equal at once",
      request: {
        username: "ada",
        profile: { givenName: "Ada", familyName: "Lovelace" },
        email: { email: "ada@acme.example", verification: NONE },
        phone: { phone: "079 555 01 23", verification: NONE },
      },
    },
    { name: "everything equal with a matching if-match", request: { username: "ada", ifMatch: '"9"' } },
    { name: "everything equal with if-match *", request: { username: "ada", ifMatch: "*" } },
  ];
  for (const row of equalRequests) {
    test(`${row.name}: nothing written, current details`, async () => {
      await expectNoOp(await w.snapshot("ada"), await update("olga", row.request));
    });
  }

  test("a no-op still needs write permission", async () => {
    const before = await w.snapshot("ada");
    await rejectsWith(update("bob", { username: "ada" }), DENIED);
    await rejectsWith(update("gus", { profile: { givenName: "Ada", familyName: "Lovelace" } }), DENIED);
    await w.assertUnchanged(before);
  });

  test("a no-op with a stale if-match is refused", async () => {
    const before = await w.snapshot("ada");
    await rejectsWith(update("olga", { username: "ada", ifMatch: '"10"' }), "ROSTER-seq01");
    await rejectsWith(update("olga", { ifMatch: "8" }), "ROSTER-seq01");
    await w.assertUnchanged(before);
  });
});

describe("if-match (decision 5)", () => {
  const forms: { header: string; outcome: "match" | "stale" | "ROSTER-seq02" }[] = [
    { header: '"9"', outcome: "match" },
    { header: "9", outcome: "match" },
    { header: ' "9" ', outcome: "match" },
    { header: "*", outcome: "match" },
    { header: "", outcome: "match" },
    { header: '"10"', outcome: "stale" },
    { header: "0", outcome: "stale" },
    { header: 'W/"9"', outcome: "ROSTER-seq02" },
    { header: '"9", "10"', outcome: "ROSTER-seq02" },
    { header: '"9', outcome: "ROSTER-seq02" },
    { header: "nine", outcome: "ROSTER-seq02" },
    { header: "-9", outcome: "ROSTER-seq02" },
  ];
  for (const f of forms) {
    test(`If-Match ${JSON.stringify(f.header)} on sequence 9 → ${f.outcome}`, async () => {
      const before = await w.snapshot("ada");
      const request = { username: "ada.lovelace", ifMatch: f.header };
      if (f.outcome === "match") {
        await newEvents(before, await update("olga", request), ["user.username.changed"], "olga");
        return;
      }
      await rejectsWith(update("olga", request), f.outcome === "stale" ? "ROSTER-seq01" : f.outcome);
      await w.assertUnchanged(before);
    });
  }

  test("the sequence a change answers is the next request's if-match", async () => {
    const first = await update("olga", { username: "ada.lovelace", ifMatch: "9" });
    const second = await update("ada", { username: "ada.l", ifMatch: `"${first.details.sequence}"` });
    assert.equal(second.details.sequence, 11);
    await rejectsWith(update("olga", { username: "ada.x", ifMatch: `"${first.details.sequence}"` }), "ROSTER-seq01");
  });
});

// ---------------------------------------------------------------------------------------------

describe("decisions 1, 2, 3, 8 and 9", () => {
  const rows: { decision: string; caller: string; request: Request; id?: string; events?: string[] }[] = [
    // decision 1: one's own password needs proof, or user.write on one's own organization
    { decision: "1: Ada's own password without proof", caller: "ada", request: { password: pw(plain("Engine-Difference-2")) }, id: DENIED },
    { decision: "1: Olga (user.write) without proof", caller: "olga", request: { password: pw(plain("Engine-Difference-2")) }, events: ["user.human.password.changed"] },
    { decision: "1: Olga's current password is still checked", caller: "olga", request: { password: pw(plain("Engine-Difference-2"), current("Wrong-Passw0rd")) }, id: "COMMAND-3M0fs" },
    // decision 2: is_verified needs user.write, even when it would change nothing
    { decision: "2: Ada marks her stored, verified address verified", caller: "ada", request: { email: { email: "ada@acme.example", verification: VERIFIED } }, id: DENIED },
    { decision: "2: Ada marks her number verified", caller: "ada", request: { phone: { phone: "+41795550123", verification: { kind: "verified" } } }, id: DENIED },
    { decision: "2: Ada marks an empty number verified", caller: "ada", request: { phone: { phone: "", verification: { kind: "verified" } } }, id: DENIED },
    { decision: "2: is_verified false claims nothing", caller: "ada", request: { email: { email: "ada@king.example", verification: NOT_VERIFIED } }, events: ["user.human.email.changed", "user.human.email.code.added"] },
    { decision: "2: Ada changes her own address with a mailed code", caller: "ada", request: { email: { email: "ada@king.example", verification: SEND } }, events: ["user.human.email.changed", "user.human.email.code.added"] },
    // decision 3: only user_id needs self or user.read
    { decision: "3: Ian (IAM_OWNER) with only user_id", caller: "ian", request: {}, events: [] },
    { decision: "3: Nora (no roles, another organization) with only user_id", caller: "nora", request: {}, id: NOT_FOUND },
    // decision 8: return_code needs user.write
    { decision: "8: Ada asks for her email code", caller: "ada", request: { email: { email: "ada@king.example", verification: RETURN } }, id: DENIED },
    { decision: "8: Ada asks for her phone code, even for her own number", caller: "ada", request: { phone: { phone: "+41795550123", verification: RETURN } }, id: DENIED },
    { decision: "8: Olga asks for Ada's phone code", caller: "olga", request: { phone: { phone: "+41795550124", verification: RETURN } }, events: ["user.human.phone.changed", "user.human.phone.code.added"] },
    // decision 9: a stranger's code is never looked at
    { decision: "9: Gus tries a reset code of Ada's", caller: "gus", request: { password: pw(plain("Engine-Difference-2"), byCode("AAAAAA")) }, id: NOT_FOUND },
    { decision: "9: Bob (same organization, no roles) tries a reset code", caller: "bob", request: { password: pw(plain("Engine-Difference-2"), byCode("AAAAAA")) }, id: NOT_FOUND },
    { decision: "9: Gus without a code is refused, not hidden", caller: "gus", request: { password: pw(plain("Engine-Difference-2")) }, id: DENIED },
  ];
  for (const row of rows) {
    test(`decision ${row.decision} → ${row.id ?? (row.events!.length ? row.events!.join(", ") : "no-op")}`, async () => {
      await w.code("ada", "password_reset");
      const before = await w.snapshot("ada");
      if (row.id) {
        await rejectsWith(update(row.caller, row.request), row.id);
        await w.assertUnchanged(before);
        return;
      }
      const result = await update(row.caller, row.request);
      if (row.events!.length === 0) await expectNoOp(before, result);
      else await newEvents(before, result, row.events!, row.caller);
    });
  }

  test("decision 1: an ORG_OWNER sets its own password without proof", async () => {
    const before = await w.snapshot("gus");
    const result = await updateHumanUser(w.deps, await w.principal("gus"), { userId: "gus", password: pw(plain("Owner-Passw0rd")) });
    await newEvents(before, result, ["user.human.password.changed"], "gus");
  });

  test("decision 9: Olga's wrong guess at Ada's code is counted", async () => {
    await w.code("ada", "password_reset");
    await rejectsWith(update("olga", { password: pw(plain("Engine-Difference-2"), byCode("ZZZZZZ")) }), "CODE-woT0xc");
    assert.equal((await w.store.read.getCode("ada", "password_reset"))?.failedAttempts, 1);
  });
});

// ---------------------------------------------------------------------------------------------

describe("username trim (§8, COMMAND-2N9fs)", () => {
  const blanks: [string, string][] = [
    ["spaces", "   "],
    ["tab and newline", "\t\n"],
    ["ideographic and no-break space", "\u3000\u00a0"],
    ["next line (U+0085)", "\u0085"],
    ["line and paragraph separators", "\u2028 \u2029"],
  ];
  for (const [label, blank] of blanks) {
    test(`${label} only → COMMAND-2N9fs before the user is loaded`, async () => {
      const before = await w.snapshot("ada");
      await rejectsWith(update("olga", { username: blank }), "COMMAND-2N9fs", "InvalidArgument");
      await rejectsWith(update("gus", { userId: "nobody", username: blank }), "COMMAND-2N9fs");
      await w.assertUnchanged(before);
    });
  }

  test("surrounding white space is trimmed, inner white space kept, case kept", async () => {
    const before = await w.snapshot("ada");
    const result = await update("olga", { username: "\u3000 Ada Lovelace\t" });
    const [e] = await newEvents(before, result, ["user.username.changed"], "olga");
    assert.deepEqual([e!.payload.old, e!.payload.new], ["ada", "Ada Lovelace"]);
    assert.equal((await w.stored("ada")).username, "Ada Lovelace");
  });

  test("a trimmed name is checked for uniqueness as trimmed", async () => {
    await rejectsWith(update("olga", { username: "  Bob  " }), "V3-DKcYh");
  });
});

// ---------------------------------------------------------------------------------------------

describe("a wrong reset code records only the attempt", () => {
  test("the other blocks of the request are discarded; the attempt is committed", async () => {
    await w.code("ada", "password_reset");
    const before = await w.snapshot("ada");
    await rejectsWith(
      update("ada", {
        username: "ada.lovelace",
        profile: { givenName: "Ada", familyName: "King" },
        email: { email: "ada@king.example", verification: SEND },
        phone: { phone: "+41795550124", verification: SEND },
        password: pw(plain("Engine-Difference-2"), byCode("WRONG1")),
      }),
      "CODE-woT0xc",
      "InvalidArgument",
    );
    const ada = await w.stored("ada");
    assert.deepEqual(ada, { ...before.user!, sequence: 10, changedAt: ada.changedAt });
    const events = (await w.events("ada")).slice(before.events.length);
    assert.deepEqual(
      events.map((e) => [e.type, e.sequence, e.actorId, e.payload]),
      [["user.human.password.code.verification.failed", 10, "ada", { userId: "ada", purpose: "password_reset", failedAttempts: 1 }]],
    );
    assert.deepEqual(await w.store.read.getCode("ada", "password_reset"), { ...before.codes.password_reset!, failedAttempts: 1 });
    assert.deepEqual(await w.store.read.getCode("ada", "email"), before.codes.email);
    assert.deepEqual(await w.store.read.getCode("ada", "phone"), before.codes.phone);
    assert.deepEqual(w.notifications("ada"), before.notifications);
  });

  test("a stale if-match records no attempt", async () => {
    await w.code("ada", "password_reset");
    const before = await w.snapshot("ada");
    await rejectsWith(update("ada", { ifMatch: '"8"', password: pw(plain("Engine-Difference-2"), byCode("WRONG1")) }), "ROSTER-seq01");
    await w.assertUnchanged(before);
  });

  test("an expired code → CODE-QvUQ4P, right or wrong, and nothing is recorded", async () => {
    const code = await w.code("ada", "password_reset");
    w.clock.advance(3600 * 1000 + 1);
    const before = await w.snapshot("ada");
    for (const guess of [code, "WRONG1"]) {
      await rejectsWith(update("ada", { password: pw(plain("Engine-Difference-2"), byCode(guess)) }), "CODE-QvUQ4P", "FailedPrecondition");
    }
    await w.assertUnchanged(before);
  });

  test("no pending code → COMMAND-2M9fs, nothing recorded", async () => {
    const before = await w.snapshot("ada");
    await rejectsWith(update("ada", { password: pw(plain("Engine-Difference-2"), byCode("AAAAAA")) }), "COMMAND-2M9fs", "FailedPrecondition");
    await w.assertUnchanged(before);
  });
});

// ---------------------------------------------------------------------------------------------

describe("password work before the lock (run-user-command.ts)", () => {
  /** The real hasher whose `verify` fails the first `times` calls with `error`. */
  function failingVerify(error: () => Error, times = Infinity): PasswordHasher & { verifyCalls: () => number } {
    const real = createPasswordHasher({ cost: 4, maxConcurrent: 2 });
    let calls = 0;
    return {
      hash: real.hash,
      close: real.close,
      async verify(password, hash) {
        calls++;
        if (calls <= times) throw error();
        return real.verify(password, hash);
      },
      verifyCalls: () => calls,
    };
  }

  test("an error that is not a DomainError in the pre-lock step propagates; nothing is written", async () => {
    const failure = new Error("bcrypt thread pool gone");
    const hasher = failingVerify(() => failure, 1);
    await world({ hasher });
    const before = await w.snapshot("ada");
    await assert.rejects(update("ada", { username: "ada.lovelace", password: pw(plain("Engine-Difference-2"), current(ADA_PASSWORD)) }), (e) => e === failure);
    assert.equal(hasher.verifyCalls(), 1, "the locked run did not start");
    await w.assertUnchanged(before);
  });

  test("a DomainError in the pre-lock step is not the answer: the locked run reports the first failure in order", async () => {
    const busy = () => new DomainError("Unavailable", "TEST-busy", "hasher busy");
    const cases: { request: Request; id: string }[] = [
      { request: { ifMatch: '"8"', password: pw(plain("Engine-Difference-2"), current(ADA_PASSWORD)) }, id: "ROSTER-seq01" },
      { request: { username: "BOB", password: pw(plain("Engine-Difference-2"), current(ADA_PASSWORD)) }, id: "V3-DKcYh" },
      { request: { password: pw(plain("Engine-Difference-2"), current(ADA_PASSWORD)) }, id: "TEST-busy" },
    ];
    for (const c of cases) {
      await world({ hasher: failingVerify(busy) });
      const before = await w.snapshot("ada");
      await rejectsWith(update("ada", c.request), c.id);
      await w.assertUnchanged(before);
    }
  });

  test("a DomainError only in the pre-lock step leaves the decision to the locked run, which succeeds", async () => {
    const hasher = failingVerify(() => new DomainError("Unavailable", "TEST-busy", "hasher busy"), 1);
    await world({ hasher });
    const before = await w.snapshot("ada");
    const result = await update("ada", { password: pw(plain("Engine-Difference-2"), current(ADA_PASSWORD)) });
    await newEvents(before, result, ["user.human.password.changed"], "ada");
    assert.equal(hasher.verifyCalls(), 2);
  });
});
