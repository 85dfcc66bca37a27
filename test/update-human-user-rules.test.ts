// UpdateHumanUser beyond the examples table: the partial-update rules (update-human-user.md §2),
// email and phone variants (§4, §5), profile (§7), username (§8), password (§6), details and
// if-match (§9, decision 5), event contents (§10, decision 7) and the validation order (§1).
// All through the REST gateway, each test on a fresh world.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import bcrypt from "bcrypt";
import { deriveKeys } from "../src/config/keys.js";
import { hashCode } from "../src/domain/codes/code.js";
import { open as openSealed } from "../src/notify/sealed-payload.js";
import { ADA_PASSWORD, createWorld, rest, type RestResponse, type World } from "./support/fixtures.js";
import { openInspector, type Inspector } from "./support/inspect.js";
import { DENIED_ID, NOT_FOUND_ID, expectError, expectOk, updateHarness } from "./support/update-harness.js";
import { startTestRoster, type TestRoster } from "./support/roster.js";

let roster: TestRoster;
let inspector: Inspector;

before(async () => {
  roster = await startTestRoster();
  inspector = await openInspector(roster.databaseUrl);
});

after(async () => {
  await inspector?.close();
  await roster?.close();
});

const { update, readUser, snapshot, assertNothingWritten, eventsSince, assertNewEvents, verifiesAgainstStored, passwordResetCode } =
  updateHarness(() => ({ roster, inspector }));

// ---------------------------------------------------------------------------------------------

const MISSING_USER = "399999999999999999";

function masterKeys() {
  return deriveKeys(Buffer.from(roster.env.ROSTER_MASTER_KEY, "base64"));
}

/** Olga gives Ada a new, unverified address with a pending (returned) email code. */
async function adaWithUnverifiedEmail(w: World, email = "ada@king.example"): Promise<string> {
  const r = await update(w.ada.id, w.olga.token, { email: { email, returnCode: {} } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.emailCode;
}

async function createUserWithoutPassword(w: World): Promise<string> {
  const r = await rest(roster, "POST", "/v2/users/human", {
    token: roster.adminToken,
    body: {
      username: `nopass-${w.tag}`,
      organization: { orgId: w.acme },
      profile: { givenName: "No", familyName: "Password" },
      email: { email: "nopass@acme.example", isVerified: true },
    },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.userId;
}

function setPassword(w: World, token: string, password: Record<string, unknown>): Promise<RestResponse> {
  return update(w.ada.id, token, { password });
}

describe("email block (§2, §4)", () => {
  test("same address stored unverified + isVerified → only email.verified; the pending code is discarded", async () => {
    const w = await createWorld(roster);
    await adaWithUnverifiedEmail(w);
    const s = await snapshot(w.ada.id);
    assert.ok(s.codes.email);
    const res = await update(w.ada.id, w.olga.token, { email: { email: "ada@king.example", isVerified: true } });
    expectOk(res, s.sequence + 1);
    const [e] = await assertNewEvents(w.ada.id, s, ["user.human.email.verified"]);
    assert.deepEqual([e.payload.old, e.payload.new], [false, true]);
    assert.equal(await inspector.code(w.ada.id, "email"), undefined);
    assert.deepEqual((await readUser(w.ada.id)).user.human.email, { email: "ada@king.example", isVerified: true });
  });

  test("same address stored unverified with sendCode, returnCode, isVerified false or nothing → nothing; the code stays", async () => {
    const w = await createWorld(roster);
    const code = await adaWithUnverifiedEmail(w);
    const s = await snapshot(w.ada.id);
    const variants = [{ sendCode: {} }, { sendCode: { urlTemplate: "https://x.example/{{.Code}}" } }, { returnCode: {} }, { isVerified: false }, {}];
    for (const v of variants) {
      const res = await update(w.ada.id, w.olga.token, { email: { email: "ada@king.example", ...v } });
      expectOk(res, s.sequence);
      assert.equal(res.body.emailCode, undefined);
    }
    await assertNothingWritten(w.ada.id, s);
    assert.deepEqual(s.codes.email?.hash, hashCode(masterKeys().codeHmac, "email", w.ada.id, code));
  });

  test("same verified address + isVerified: nothing for Olga, but 403 for Ada herself (decision 2)", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    expectOk(await update(w.ada.id, w.olga.token, { email: { email: "ada@acme.example", isVerified: true } }), s.sequence);
    const self = await update(w.ada.id, w.ada.token, { email: { email: "ada@acme.example", isVerified: true } });
    expectError(self, 403, 7, DENIED_ID);
    await assertNothingWritten(w.ada.id, s);
  });

  test("Ada asking for her own code to be returned → 403 (decision 8)", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    expectError(await update(w.ada.id, w.ada.token, { email: { email: "ada@king.example", returnCode: {} } }), 403, 7, DENIED_ID);
    expectError(await update(w.ada.id, w.ada.token, { phone: { phone: "+41795550124", returnCode: {} } }), 403, 7, DENIED_ID);
    await assertNothingWritten(w.ada.id, s);
  });

  test("sendCode with a URL template: the code is only inside the encrypted notification", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const template = "https://id.acme.example/verify?user={{.UserID}}&code={{ .Code }}&org={{.OrgID}}";
    const res = await update(w.ada.id, w.olga.token, { email: { email: "ada@king.example", sendCode: { urlTemplate: template } } });
    expectOk(res, s.sequence + 2);
    assert.equal(res.body.emailCode, undefined);
    const [, added] = await assertNewEvents(w.ada.id, s, ["user.human.email.changed", "user.human.email.code.added"]);
    assert.equal(added.payload.delivery, "sent");
    assert.equal(added.payload.urlTemplate, template);
    const stored = await inspector.code(w.ada.id, "email");
    assert.equal(stored?.delivery, "sent");
    assert.equal(stored?.urlTemplate, template);

    const rows = await inspector.db.selectFrom("notifications").selectAll().where("user_id", "=", w.ada.id).orderBy("id").execute();
    assert.equal(rows.length, s.notifications + 1);
    const row = rows[rows.length - 1];
    assert.ok(row.encrypted_payload, "a pending notification holds its sealed payload");
    assert.equal(row.channel, "email");
    assert.equal(row.recipient, "ada@king.example");
    assert.equal(row.purpose, "email");
    const payload = openSealed(masterKeys().notificationAead, row.encrypted_payload) as { code: string; link: string };
    assert.match(payload.code, /^[A-Z0-9]{6}$/);
    assert.equal(payload.link, `https://id.acme.example/verify?user=${w.ada.id}&code=${payload.code}&org=${w.acme}`);
    // the sealed code is the stored one
    assert.deepEqual(stored?.hash, hashCode(masterKeys().codeHmac, "email", w.ada.id, payload.code));

    const plain = Buffer.from(payload.code);
    assert.ok(!row.encrypted_payload.includes(plain), "code readable in the notification payload");
    assert.ok(!JSON.stringify({ ...row, encrypted_payload: undefined }).includes(payload.code));
    const events = await inspector.events(w.ada.id);
    assert.ok(!JSON.stringify(events).includes(payload.code), "code in an event");
    const codeRows = await inspector.db.selectFrom("codes").selectAll().where("user_id", "=", w.ada.id).execute();
    for (const c of codeRows) {
      assert.ok(!c.hash.includes(plain));
      assert.ok(!JSON.stringify({ ...c, hash: c.hash.toString("hex") }).includes(payload.code));
    }
  });

  test("Ada changes her own address without verification or with isVerified false: a code is sent", async () => {
    const w = await createWorld(roster);
    for (const [i, verification] of [{}, { isVerified: false }, { sendCode: {} }].entries()) {
      const s = await snapshot(w.ada.id);
      const email = `ada${i}@king.example`;
      const res = await update(w.ada.id, w.ada.token, { email: { email, ...verification } });
      expectOk(res, s.sequence + 2);
      assert.equal(res.body.emailCode, undefined);
      const [changed, added] = await assertNewEvents(w.ada.id, s, ["user.human.email.changed", "user.human.email.code.added"]);
      assert.equal(changed.actorId, w.ada.id);
      assert.equal(added.payload.delivery, "sent");
      const notes = (await inspector.notifications(w.ada.id)).slice(s.notifications);
      assert.deepEqual(
        notes.map((n) => [n.channel, n.recipient]),
        [["email", email]],
      );
      assert.equal((await readUser(w.ada.id)).user.human.email.isVerified, undefined);
    }
  });

  test("addresses compare exactly (case-sensitive), are stored as sent and are not unique", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, { email: { email: "ADA@acme.example", isVerified: true } });
    expectOk(res, s.sequence + 2);
    await assertNewEvents(w.ada.id, s, ["user.human.email.changed", "user.human.email.verified"]);
    assert.equal((await readUser(w.ada.id)).user.human.email.email, "ADA@acme.example");
    const bobEmail = (await readUser(w.bob.id)).user.human.email.email;
    const shared = await update(w.ada.id, w.olga.token, { email: { email: bobEmail, isVerified: true } });
    assert.equal(shared.status, 200, JSON.stringify(shared.body));
  });

  test("an invalid URL template is rejected even when the address is unchanged", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const malformed = await update(w.ada.id, w.olga.token, { email: { email: "ada@acme.example", sendCode: { urlTemplate: "https://x.example/{{.Code" } } });
    expectError(malformed, 400, 3, "DOMAIN-oGh5e");
    const relative = await update(w.ada.id, w.olga.token, { email: { email: "ada@acme.example", sendCode: { urlTemplate: "/verify?c={{.Code}}" } } });
    expectError(relative, 400, 3, "DOMAIN-ieYa7");
    await assertNothingWritten(w.ada.id, s);
  });
});

describe("phone block (§2, §5)", () => {
  test("an empty phone + isVerified on an unverified number → phone.verified", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, { phone: { phone: "", isVerified: true } });
    expectOk(res, s.sequence + 1);
    await assertNewEvents(w.ada.id, s, ["user.human.phone.verified"]);
    assert.equal(await inspector.code(w.ada.id, "phone"), undefined);
    assert.deepEqual((await readUser(w.ada.id)).user.human.phone, { phone: "+41795550123", isVerified: true });
    // verified already: nothing more
    const s2 = await snapshot(w.ada.id);
    expectOk(await update(w.ada.id, w.olga.token, { phone: { phone: "+41795550123", isVerified: true } }), s2.sequence);
    expectOk(await update(w.ada.id, w.olga.token, { phone: { phone: "", isVerified: true } }), s2.sequence);
    await assertNothingWritten(w.ada.id, s2);
  });

  test("a user without phone + an empty phone → nothing, whatever the verification", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.bob.id);
    assert.equal(s.user?.phone, "");
    for (const v of [{ isVerified: true }, { returnCode: {} }, { sendCode: {} }, {}]) {
      const res = await update(w.bob.id, w.olga.token, { phone: { phone: "", ...v } });
      expectOk(res, s.sequence);
      assert.equal(res.body.phoneCode, undefined);
    }
    await assertNothingWritten(w.bob.id, s);
  });

  test("the stored number in other notations → nothing; the pending code stays valid", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    for (const phone of ["0041795550123", "+41 79 555 01 23", "079 555 01 23"]) {
      for (const v of [{}, { sendCode: {} }, { returnCode: {} }]) {
        const res = await update(w.ada.id, w.olga.token, { phone: { phone, ...v } });
        expectOk(res, s.sequence);
        assert.equal(res.body.phoneCode, undefined);
      }
    }
    await assertNothingWritten(w.ada.id, s);
    assert.deepEqual(s.codes.phone?.hash, hashCode(masterKeys().codeHmac, "phone", w.ada.id, w.adaPhoneCode));
  });

  test("a new number with returnCode → phoneCode returned, nothing sent", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, { phone: { phone: "+1 (415) 555-0100", returnCode: {} } });
    expectOk(res, s.sequence + 2);
    assert.match(res.body.phoneCode, /^[A-Z0-9]{6}$/);
    assert.equal(res.body.emailCode, undefined);
    const [changed, added] = await assertNewEvents(w.ada.id, s, ["user.human.phone.changed", "user.human.phone.code.added"]);
    assert.deepEqual([changed.payload.old, changed.payload.new], ["+41795550123", "+14155550100"]);
    assert.equal(added.payload.delivery, "returned");
    const code = await inspector.code(w.ada.id, "phone");
    assert.equal(code?.delivery, "returned");
    assert.deepEqual(code?.hash, hashCode(masterKeys().codeHmac, "phone", w.ada.id, res.body.phoneCode));
    assert.equal((await inspector.notifications(w.ada.id)).length, s.notifications);
  });

  test("a new number + isVerified → changed and verified, no code", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, { phone: { phone: "044 668 18 00", isVerified: true } });
    expectOk(res, s.sequence + 2);
    await assertNewEvents(w.ada.id, s, ["user.human.phone.changed", "user.human.phone.verified"]);
    assert.equal(await inspector.code(w.ada.id, "phone"), undefined);
    assert.deepEqual((await readUser(w.ada.id)).user.human.phone, { phone: "+41446681800", isVerified: true });
  });

  test("a short number that parses (12) is accepted as +4112; Ada may not mark her number verified", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    expectError(await update(w.ada.id, w.ada.token, { phone: { phone: "", isVerified: true } }), 403, 7, DENIED_ID);
    await assertNothingWritten(w.ada.id, s);
    const res = await update(w.ada.id, w.ada.token, { phone: { phone: "12" } });
    expectOk(res, s.sequence + 2);
    assert.equal((await readUser(w.ada.id)).user.human.phone.phone, "+4112");
  });
});

describe("profile block (§7)", () => {
  test("preferredLanguage is canonicalised: en-us → en-US; ill-formed or empty → und", async () => {
    const w = await createWorld(roster);
    const names = { givenName: "Ada", familyName: "Lovelace" };
    let s = await snapshot(w.ada.id);
    expectOk(await update(w.ada.id, w.olga.token, { profile: { ...names, preferredLanguage: "en-us" } }), s.sequence + 1);
    const [e] = await assertNewEvents(w.ada.id, s, ["user.human.profile.changed"]);
    assert.deepEqual(e.payload.changes, { preferredLanguage: { old: "en", new: "en-US" } });
    assert.equal((await readUser(w.ada.id)).user.human.profile.preferredLanguage, "en-US");
    s = await snapshot(w.ada.id);
    expectOk(await update(w.ada.id, w.olga.token, { profile: { ...names, preferredLanguage: "EN-US" } }), s.sequence);
    await assertNothingWritten(w.ada.id, s);

    expectOk(await update(w.ada.id, w.olga.token, { profile: { ...names, preferredLanguage: "x!" } }), s.sequence + 1);
    assert.equal((await readUser(w.ada.id)).user.human.profile.preferredLanguage, "und");
    expectOk(await update(w.ada.id, w.olga.token, { profile: { ...names, preferredLanguage: "de" } }), s.sequence + 2);
    expectOk(await update(w.ada.id, w.olga.token, { profile: { ...names, preferredLanguage: "" } }), s.sequence + 3);
    assert.equal((await readUser(w.ada.id)).user.human.profile.preferredLanguage, "und");
  });

  test("gender: an unknown number sets unspecified; a name sets that gender", async () => {
    const w = await createWorld(roster);
    const names = { givenName: "Ada", familyName: "Lovelace" };
    const s = await snapshot(w.ada.id);
    expectOk(await update(w.ada.id, w.olga.token, { profile: { ...names, gender: 99 } }), s.sequence + 1);
    const [e] = await assertNewEvents(w.ada.id, s, ["user.human.profile.changed"]);
    assert.deepEqual(e.payload.changes, { gender: { old: 1, new: 0 } });
    assert.equal((await readUser(w.ada.id)).user.human.profile.gender, "GENDER_UNSPECIFIED");
    expectOk(await update(w.ada.id, w.olga.token, { profile: { ...names, gender: "GENDER_DIVERSE" } }), s.sequence + 2);
    assert.equal((await readUser(w.ada.id)).user.human.profile.gender, "GENDER_DIVERSE");
  });

  test("absent optional fields are untouched; display name is never derived; empty clears; values not trimmed", async () => {
    const w = await createWorld(roster);
    let s = await snapshot(w.ada.id);
    expectOk(await update(w.ada.id, w.olga.token, { profile: { givenName: "Ada", familyName: "Lovelace" } }), s.sequence);
    await assertNothingWritten(w.ada.id, s);

    expectOk(await update(w.ada.id, w.olga.token, { profile: { givenName: " Augusta ", familyName: "Byron" } }), s.sequence + 1);
    let profile = (await readUser(w.ada.id)).user.human.profile;
    assert.deepEqual(
      [profile.givenName, profile.familyName, profile.nickName, profile.displayName, profile.preferredLanguage, profile.gender],
      [" Augusta ", "Byron", "Countess", "Ada Lovelace", "en", "GENDER_FEMALE"],
    );
    s = await snapshot(w.ada.id);
    expectOk(await update(w.ada.id, w.olga.token, { profile: { givenName: " Augusta ", familyName: "Byron", displayName: "" } }), s.sequence + 1);
    const [e] = await assertNewEvents(w.ada.id, s, ["user.human.profile.changed"]);
    assert.deepEqual(e.payload.changes, { displayName: { old: "Ada Lovelace", new: "" } });
    profile = (await readUser(w.ada.id)).user.human.profile;
    assert.equal(profile.displayName, "");
  });
});

describe("username (§8)", () => {
  test("a name held by a user of another organization, in other case → 409 V3-DKcYh", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    expectError(await update(w.ada.id, w.olga.token, { username: w.gus.username.toUpperCase() }), 409, 6, "V3-DKcYh");
    expectError(await update(w.ada.id, w.ada.token, { username: "N" + w.nora.username.slice(1) }), 409, 6, "V3-DKcYh");
    await assertNothingWritten(w.ada.id, s);
  });

  test("a username of white space only → 400 COMMAND-2N9fs before the user is loaded, nothing written", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    for (const username of ["   ", "\t\n", "\u3000\u00a0"]) {
      expectError(await update(w.ada.id, w.olga.token, { username }), 400, 3, "COMMAND-2N9fs");
    }
    // validation precedes the lookup: an unknown user gets the same answer
    expectError(await update("no-such-user", w.olga.token, { username: " " }), 400, 3, "COMMAND-2N9fs");
    await assertNothingWritten(w.ada.id, s);
  });

  test("uniqueness folds Unicode case; names are stored as sent, trimmed of surrounding white space", async () => {
    const w = await createWorld(roster);
    const lower = `ädä-${w.tag}`;
    const bobSeq = (await snapshot(w.bob.id)).sequence;
    expectOk(await update(w.bob.id, w.olga.token, { username: lower }), bobSeq + 1);
    const s = await snapshot(w.ada.id);
    expectError(await update(w.ada.id, w.olga.token, { username: `ÄDÄ-${w.tag.toUpperCase()}` }), 409, 6, "V3-DKcYh");
    await assertNothingWritten(w.ada.id, s);
    const spaced = ` Ada Lovelace ${w.tag} `;
    expectOk(await update(w.ada.id, w.olga.token, { username: spaced }), s.sequence + 1);
    assert.equal((await readUser(w.ada.id)).user.username, `Ada Lovelace ${w.tag}`);
    // the same name with other surrounding white space is no change at all
    expectOk(await update(w.ada.id, w.olga.token, { username: `\t Ada Lovelace ${w.tag}\u00a0` }), s.sequence + 1);
    // Bob's old name is free again once he no longer holds it
    expectOk(await update(w.ada.id, w.olga.token, { username: w.bob.username }), s.sequence + 2);
  });
});

describe("password block (§6)", () => {
  test("an imported $2y$ hash verifies the same password as current_password later", async () => {
    const w = await createWorld(roster);
    const hash = (await bcrypt.hash("Imported-Pass-1", 4)).replace(/^\$2b\$/, "$2y$");
    let s = await snapshot(w.ada.id);
    expectOk(await setPassword(w, w.olga.token, { hashedPassword: { hash } }), s.sequence + 1);
    assert.equal((await inspector.user(w.ada.id))?.passwordHash, hash);
    s = await snapshot(w.ada.id);
    expectError(await setPassword(w, w.ada.token, { password: { password: "Next-Pass-22" }, currentPassword: ADA_PASSWORD }), 400, 3, "COMMAND-3M0fs");
    await assertNothingWritten(w.ada.id, s);
    expectOk(await setPassword(w, w.ada.token, { password: { password: "Next-Pass-22" }, currentPassword: "Imported-Pass-1" }), s.sequence + 1);
    assert.ok(await verifiesAgainstStored(w.ada.id, "Next-Pass-22"));
  });

  test("after a change by permission the new password verifies and the old one does not", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await setPassword(w, w.olga.token, { password: { password: "Set-By-Olga-7" } });
    expectOk(res, s.sequence + 1);
    const [e] = await assertNewEvents(w.ada.id, s, ["user.human.password.changed"]);
    assert.equal(e.payload.verification, "permission");
    assert.ok(await verifiesAgainstStored(w.ada.id, "Set-By-Olga-7"));
    assert.ok(!(await verifiesAgainstStored(w.ada.id, ADA_PASSWORD)));
    expectError(await setPassword(w, w.ada.token, { password: { password: "Mine-Again-8" }, currentPassword: ADA_PASSWORD }), 400, 3, "COMMAND-3M0fs");
    expectOk(await setPassword(w, w.ada.token, { password: { password: "Mine-Again-8" }, currentPassword: "Set-By-Olga-7" }), s.sequence + 2);
  });

  test("complexity policy: checked in order, ASCII classes, length in bytes", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const cases: [string, string][] = [
      ["abcdefg", "DOMAIN-HuJf6"], // 7 bytes, also lacks upper, number, symbol
      ["ééAa1", "DOMAIN-HuJf6"], // 7 bytes
      ["ABCDEFGH", "DOMAIN-co3Xw"],
      ["abcdefgh", "DOMAIN-VoaRj"],
      ["Éabcdefg1", "DOMAIN-VoaRj"], // É is not an ASCII upper-case letter
      ["Abcdefgh", "DOMAIN-ZBv4H"],
      ["Abcdefg1", "DOMAIN-ZDLwA"],
    ];
    for (const [password, id] of cases) {
      expectError(await setPassword(w, w.olga.token, { password: { password } }), 400, 3, id);
    }
    await assertNothingWritten(w.ada.id, s);
    // 6 characters, 9 bytes, é counts as a symbol
    expectOk(await setPassword(w, w.olga.token, { password: { password: "éééAa1" } }), s.sequence + 1);
    assert.ok(await verifiesAgainstStored(w.ada.id, "éééAa1"));
  });

  test("the 72-byte limit counts UTF-8 bytes", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    for (const password of ["é".repeat(37), "é".repeat(35) + "Aa1"]) {
      assert.ok(Buffer.byteLength(password) > 72 && password.length < 72);
      expectError(await setPassword(w, w.olga.token, { password: { password } }), 400, 3, "ROSTER-pw072");
    }
    await assertNothingWritten(w.ada.id, s);
    const p64 = "é".repeat(30) + "Aa1!";
    expectOk(await setPassword(w, w.olga.token, { password: { password: p64 } }), s.sequence + 1);
    assert.ok(await verifiesAgainstStored(w.ada.id, p64));
    const p72 = "é".repeat(34) + "Aa1!";
    assert.equal(Buffer.byteLength(p72), 72);
    expectOk(await setPassword(w, w.olga.token, { password: { password: p72 } }), s.sequence + 2);
    assert.ok(await verifiesAgainstStored(w.ada.id, p72));
  });

  test("a current password longer than 72 bytes never matches, even sharing the first 72 bytes", async () => {
    const w = await createWorld(roster);
    const p72 = "Aa1!" + "x".repeat(68);
    let s = await snapshot(w.ada.id);
    expectOk(await setPassword(w, w.olga.token, { password: { password: p72 } }), s.sequence + 1);
    s = await snapshot(w.ada.id);
    const res = await setPassword(w, w.ada.token, { password: { password: "Next-Pass-22" }, currentPassword: p72 + "yz" });
    expectError(res, 400, 3, "COMMAND-3M0fs");
    await assertNothingWritten(w.ada.id, s);
    expectOk(await setPassword(w, w.ada.token, { password: { password: "Next-Pass-22" }, currentPassword: p72 }), s.sequence + 1);
  });

  test("changeRequired is read back as passwordChangeRequired; passwordChanged is the time of the change", async () => {
    const w = await createWorld(roster);
    const before = (await readUser(w.ada.id)).user.human;
    assert.equal(before.passwordChangeRequired, undefined);
    const s = await snapshot(w.ada.id);
    const res = await setPassword(w, w.olga.token, { password: { password: "Temp-Pass-123", changeRequired: true } });
    expectOk(res, s.sequence + 1);
    const [e] = await assertNewEvents(w.ada.id, s, ["user.human.password.changed"]);
    assert.equal(e.payload.changeRequired, true);
    const after = (await readUser(w.ada.id)).user.human;
    assert.equal(after.passwordChangeRequired, true);
    assert.ok(Date.parse(after.passwordChanged) > Date.parse(before.passwordChanged));
    assert.equal(Date.parse(after.passwordChanged), e.createdAt.getTime());
    assert.equal(Date.parse(res.body.details.changeDate), e.createdAt.getTime());
    expectOk(await setPassword(w, w.ada.token, { password: { password: "Own-Pass-456" }, currentPassword: "Temp-Pass-123" }), s.sequence + 2);
    assert.equal((await readUser(w.ada.id)).user.human.passwordChangeRequired, undefined);
  });

  test("current_password for a user without a password → COMMAND-Fds3s", async () => {
    const w = await createWorld(roster);
    const id = await createUserWithoutPassword(w);
    const s = await snapshot(id);
    const res = await update(id, w.olga.token, { password: { password: { password: "First-Pass-1" }, currentPassword: "anything" } });
    expectError(res, 400, 9, "COMMAND-Fds3s");
    await assertNothingWritten(id, s);
  });

  test("an ORG_OWNER may set its own password without proof (decision 1); user.write holders' proof is still checked", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.gus.id);
    const res = await update(w.gus.id, w.gus.token, { password: { password: { password: "Gus-Owner-99" } } });
    expectOk(res, s.sequence + 1);
    const [e] = await assertNewEvents(w.gus.id, s, ["user.human.password.changed"]);
    assert.equal(e.payload.verification, "permission");
    const sa = await snapshot(w.ada.id);
    for (const token of [w.olga.token, w.ian.token]) {
      expectError(await setPassword(w, token, { password: { password: "Engine-Difference-2" }, currentPassword: "wrong" }), 400, 3, "COMMAND-3M0fs");
    }
    await assertNothingWritten(w.ada.id, sa);
  });

  test("a stranger trying a reset code → 404, no attempt counted (decision 9); Olga's wrong code is counted", async () => {
    const w = await createWorld(roster);
    const code = await passwordResetCode(w);
    const wrong = code === "AAAAAA" ? "BBBBBB" : "AAAAAA";
    const s = await snapshot(w.ada.id);
    for (const token of [w.gus.token, w.bob.token, w.nora.token]) {
      expectError(await setPassword(w, token, { password: { password: "Engine-Difference-2" }, verificationCode: wrong }), 404, 5, NOT_FOUND_ID);
    }
    await assertNothingWritten(w.ada.id, s);
    expectError(await setPassword(w, w.olga.token, { password: { password: "Engine-Difference-2" }, verificationCode: wrong }), 400, 3, "CODE-woT0xc");
    const [e] = await assertNewEvents(w.ada.id, s, ["user.human.password.code.verification.failed"]);
    assert.equal(e.actorId, w.olga.id);
    assert.equal((await inspector.code(w.ada.id, "password_reset"))?.failedAttempts, 1);
    // codes compare exactly
    expectError(await setPassword(w, w.ada.token, { password: { password: "Engine-Difference-2" }, verificationCode: code.toLowerCase() }), 400, 3, "CODE-woT0xc");
    assert.equal((await inspector.code(w.ada.id, "password_reset"))?.failedAttempts, code === code.toLowerCase() ? 1 : 2);
    // the right code still works while attempts remain
    const seq = (await snapshot(w.ada.id)).sequence;
    expectOk(await setPassword(w, w.ada.token, { password: { password: "Engine-Difference-2" }, verificationCode: code }), seq + 1);
  });

  test("any password change discards a pending reset code", async () => {
    const w = await createWorld(roster);
    await passwordResetCode(w);
    const s = await snapshot(w.ada.id);
    expectOk(await setPassword(w, w.olga.token, { password: { password: "Set-By-Olga-7" } }), s.sequence + 1);
    assert.equal(await inspector.code(w.ada.id, "password_reset"), undefined);
    await passwordResetCode(w);
    expectOk(await setPassword(w, w.ada.token, { password: { password: "Mine-Again-8" }, currentPassword: "Set-By-Olga-7" }), s.sequence + 3);
    assert.equal(await inspector.code(w.ada.id, "password_reset"), undefined);
  });
});

describe("details, ETag and If-Match (§9, decision 5)", () => {
  test("a no-op answers the current sequence and the time of the latest event", async () => {
    const w = await createWorld(roster);
    const initial = await snapshot(w.ada.id);
    expectOk(await update(w.ada.id, w.olga.token, { username: `ada.lovelace-${w.tag}` }), initial.sequence + 1);
    const s = await snapshot(w.ada.id);
    const latest = s.events[s.events.length - 1];
    for (const body of [{}, { username: `ada.lovelace-${w.tag}` }, { phone: { phone: "" } }]) {
      const res = await update(w.ada.id, w.olga.token, body);
      expectOk(res, s.sequence);
      assert.equal(res.body.details.resourceOwner, w.acme);
      assert.equal(Date.parse(res.body.details.changeDate), latest.createdAt.getTime());
    }
    await assertNothingWritten(w.ada.id, s);
  });

  test("a change answers the new sequence; all its events share the response's change date", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, {
      username: `ada.lovelace-${w.tag}`,
      profile: { givenName: "Ada", familyName: "King" },
      email: { email: "ada@king.example", isVerified: true },
      phone: { phone: "+41795550124", returnCode: {} },
      password: { password: { password: "Engine-Difference-2" } },
    });
    expectOk(res, s.sequence + 7);
    assert.equal(res.body.details.resourceOwner, w.acme);
    assert.match(res.body.phoneCode, /^[A-Z0-9]{6}$/);
    const events = await assertNewEvents(w.ada.id, s, [
      "user.username.changed",
      "user.human.profile.changed",
      "user.human.email.changed",
      "user.human.email.verified",
      "user.human.phone.changed",
      "user.human.phone.code.added",
      "user.human.password.changed",
    ]);
    for (const e of events) {
      assert.equal(e.createdAt.getTime(), Date.parse(res.body.details.changeDate));
      assert.equal(e.actorId, w.olga.id);
    }
    const stored = await inspector.user(w.ada.id);
    assert.equal(stored?.sequence, s.sequence + 7);
    assert.equal(stored?.changedAt.getTime(), Date.parse(res.body.details.changeDate));
  });

  test("If-Match variants: quoted, bare and * match; weak tags, lists and words are malformed", async () => {
    const w = await createWorld(roster);
    let s = await snapshot(w.ada.id);
    for (const bad of [`W/"${s.sequence}"`, "1,2", `"${s.sequence}", "${s.sequence}"`, "abc", `"${s.sequence}`, "-1"]) {
      expectError(await update(w.ada.id, w.olga.token, { username: `x-${w.tag}` }, { "if-match": bad }), 400, 3, "ROSTER-seq02");
    }
    // malformed is found during validation, before the user is loaded
    expectError(await update(MISSING_USER, w.olga.token, { username: "x" }, { "if-match": "W/\"1\"" }), 400, 3, "ROSTER-seq02");
    await assertNothingWritten(w.ada.id, s);

    expectOk(await update(w.ada.id, w.olga.token, { username: `a-${w.tag}` }, { "if-match": "*" }), s.sequence + 1);
    expectOk(await update(w.ada.id, w.olga.token, { username: `b-${w.tag}` }, { "if-match": `"${s.sequence + 1}"` }), s.sequence + 2);
    expectOk(await update(w.ada.id, w.olga.token, { username: `c-${w.tag}` }, { "if-match": String(s.sequence + 2) }), s.sequence + 3);
    s = await snapshot(w.ada.id);
    // matching no-op
    expectOk(await update(w.ada.id, w.olga.token, { username: `c-${w.tag}` }, { "if-match": `"${s.sequence}"` }), s.sequence);
    await assertNothingWritten(w.ada.id, s);
  });

  test("a mismatching If-Match refuses even a no-op: 412, code 9, ROSTER-seq01", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    for (const body of [{ username: w.ada.username }, {}, { profile: { givenName: "Ada", familyName: "Lovelace" } }]) {
      const res = await update(w.ada.id, w.olga.token, body, { "if-match": `"${s.sequence + 1}"` });
      expectError(res, 412, 9, "ROSTER-seq01");
      assert.equal(res.body.message, "User has been changed since the given sequence (ROSTER-seq01)");
    }
    await assertNothingWritten(w.ada.id, s);
  });

  test("a mismatching If-Match records no failed code attempt", async () => {
    const w = await createWorld(roster);
    const code = await passwordResetCode(w);
    const s = await snapshot(w.ada.id);
    const wrong = code === "AAAAAA" ? "BBBBBB" : "AAAAAA";
    expectError(await setPassword(w, w.ada.token, { password: { password: "Engine-Difference-2" }, verificationCode: wrong }), 400, 3, "CODE-woT0xc");
    const s2 = await snapshot(w.ada.id);
    assert.equal(s2.sequence, s.sequence + 1);
    const stale = await update(
      w.ada.id,
      w.ada.token,
      { password: { password: { password: "Engine-Difference-2" }, verificationCode: wrong } },
      { "if-match": `"${s.sequence}"` },
    );
    expectError(stale, 412, 9, "ROSTER-seq01");
    await assertNothingWritten(w.ada.id, s2);
  });

  test("permission is checked before If-Match", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    expectError(await update(w.ada.id, w.gus.token, { username: `x-${w.tag}` }, { "if-match": "\"1\"" }), 403, 7, DENIED_ID);
    expectError(await update(w.ada.id, w.gus.token, {}, { "if-match": "\"1\"" }), 404, 5, NOT_FOUND_ID);
    await assertNothingWritten(w.ada.id, s);
  });
});

describe("events (§10, decision 7)", () => {
  test("events carry who, what, from and to, and never a password, hash or code", async () => {
    const w = await createWorld(roster);
    const secrets: string[] = [ADA_PASSWORD, w.adaPhoneCode];
    const addHash = async () => {
      const h = (await inspector.user(w.ada.id))!.passwordHash!;
      secrets.push(h, h.slice(7), h.slice(29));
    };
    await addHash();
    const ok = (r: RestResponse) => assert.equal(r.status, 200, JSON.stringify(r.body));

    let r = await update(w.ada.id, w.olga.token, {
      username: `ada.king-${w.tag}`,
      email: { email: "ada@king.example", returnCode: {} },
      phone: { phone: "+41795550124", returnCode: {} },
    });
    ok(r);
    secrets.push(r.body.emailCode, r.body.phoneCode);
    const resetCode = await passwordResetCode(w);
    secrets.push(resetCode);
    r = await setPassword(w, w.ada.token, { password: { password: "Engine-Difference-2" }, verificationCode: resetCode });
    ok(r);
    secrets.push("Engine-Difference-2");
    await addHash();
    r = await setPassword(w, w.ada.token, { password: { password: "Babbage-Engine-3" }, currentPassword: "Engine-Difference-2" });
    ok(r);
    secrets.push("Babbage-Engine-3");
    await addHash();
    const imported = await bcrypt.hash("Imported-Pass-1", 4);
    ok(await setPassword(w, w.olga.token, { hashedPassword: { hash: imported } }));
    secrets.push("Imported-Pass-1", imported, imported.slice(7));
    r = await update(w.ada.id, w.olga.token, { email: { email: "ada@babbage.example" } });
    ok(r);
    const note = (await inspector.notifications(w.ada.id)).pop()!;
    secrets.push((openSealed(masterKeys().notificationAead, note.encrypted_payload) as { code: string }).code);

    const events = await inspector.events(w.ada.id);
    events.forEach((e, i) => {
      assert.equal(e.sequence, i + 1);
      assert.equal(e.aggregateId, w.ada.id);
      assert.equal(e.orgId, w.acme);
      assert.equal(e.payload.userId, w.ada.id);
      assert.ok(e.createdAt instanceof Date);
    });
    const json = JSON.stringify(events);
    for (const secret of secrets) {
      assert.ok(secret && secret.length >= 6);
      assert.ok(!json.includes(secret), `secret ${secret} appears in an event`);
    }
    const types = events.map((e) => e.type);
    for (const t of ["user.human.password.changed", "user.human.password.code.added", "user.human.email.code.added", "user.human.phone.code.added"]) {
      assert.ok(types.includes(t), t);
    }
    const renamed = events.find((e) => e.type === "user.username.changed")!;
    assert.deepEqual([renamed.payload.old, renamed.payload.new, renamed.actorId], [w.ada.username, `ada.king-${w.tag}`, w.olga.id]);
    const emailChanged = events.filter((e) => e.type === "user.human.email.changed").map((e) => [e.payload.old, e.payload.new]);
    assert.deepEqual(emailChanged.slice(-2), [
      ["ada@acme.example", "ada@king.example"],
      ["ada@king.example", "ada@babbage.example"],
    ]);
    const phoneChanged = events.find((e) => e.type === "user.human.phone.changed")!;
    assert.deepEqual([phoneChanged.payload.old, phoneChanged.payload.new], ["+41795550123", "+41795550124"]);
  });
});

describe("validation order (§1 step 2)", () => {
  test("field rules come before the phone check: an empty username with a bad phone", async () => {
    const w = await createWorld(roster);
    const res = await update(w.ada.id, w.olga.token, { username: "", phone: { phone: "abc" } });
    expectError(res, 400, 3);
    assert.equal(res.body.message, "invalid UpdateHumanUserRequest.Username: value length must be between 1 and 200 runes, inclusive");
  });

  test("if-match, template, email, phone, password: in this order, all before the user is loaded", async () => {
    const w = await createWorld(roster);
    const badTemplate = { email: { email: "Ada <ada@king.example>", sendCode: { urlTemplate: "https://x.example/{{.Code" } } };
    const badEmail = { email: { email: "Ada <ada@king.example>" } };
    const badPhone = { phone: { phone: "abc" } };
    const badHash = { password: { hashedPassword: { hash: "$1$abc$def" } } };
    const tooLong = { password: { password: { password: "A1!" + "a".repeat(70) } } };
    for (const target of [w.ada.id, MISSING_USER]) {
      expectError(await update(target, w.olga.token, { ...badPhone, ...badHash }, { "if-match": "W/\"1\"" }), 400, 3, "ROSTER-seq02");
      expectError(await update(target, w.olga.token, { ...badTemplate, ...badPhone }), 400, 3, "DOMAIN-oGh5e");
      expectError(await update(target, w.olga.token, { ...badEmail, ...badPhone }), 400, 3, "EMAIL-599GV");
      expectError(await update(target, w.olga.token, { ...badPhone, ...badHash }), 400, 3, "PHONE-so0wa");
      expectError(await update(target, w.olga.token, badHash), 400, 3, "USER-oz74onzvqr");
      expectError(await update(target, w.olga.token, tooLong), 400, 3, "ROSTER-pw072");
      expectError(await update(target, w.gus.token, { password: {} }), 400, 3, "COMMAND-3klek4sbns");
    }
  });

  test("not found before permission; username before password among the changes", async () => {
    const w = await createWorld(roster);
    expectError(await update(MISSING_USER, w.gus.token, { username: "x" }), 404, 5, NOT_FOUND_ID);
    expectError(await update(MISSING_USER, w.olga.token, {}), 404, 5, NOT_FOUND_ID);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, { username: w.bob.username, password: { password: { password: "weakpass" } } });
    expectError(res, 409, 6, "V3-DKcYh");
    const res2 = await update(w.ada.id, w.olga.token, { profile: { givenName: "A", familyName: "B" }, password: { password: { password: "weakpass" } } });
    expectError(res2, 400, 3, "DOMAIN-VoaRj");
    await assertNothingWritten(w.ada.id, s);
  });
});

describe("codes, hashes and lengths at the edges", () => {
  test("an expired reset code → 400 FAILED_PRECONDITION CODE-QvUQ4P, no attempt recorded", async () => {
    const w = await createWorld(roster);
    const code = await passwordResetCode(w);
    // let the code's hour pass: the only way without waiting
    await inspector.db
      .updateTable("codes")
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where("user_id", "=", w.ada.id)
      .where("purpose", "=", "password_reset")
      .execute();
    const s = await snapshot(w.ada.id);
    for (const guess of [code, code === "AAAAAA" ? "BBBBBB" : "AAAAAA"]) {
      const res = await setPassword(w, w.ada.token, { password: { password: "Engine-Difference-2" }, verificationCode: guess });
      expectError(res, 400, 9, "CODE-QvUQ4P");
    }
    await assertNothingWritten(w.ada.id, s);
  });

  test("code.added events record expiry and delivery; the code row expires one hour after creation", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, { email: { email: "ada@king.example" }, phone: { phone: "+41795550124" } });
    expectOk(res, s.sequence + 4);
    const events = await assertNewEvents(w.ada.id, s, [
      "user.human.email.changed",
      "user.human.email.code.added",
      "user.human.phone.changed",
      "user.human.phone.code.added",
    ]);
    for (const [event, purpose] of [[events[1], "email"], [events[3], "phone"]] as const) {
      const code = await inspector.code(w.ada.id, purpose);
      assert.equal(code?.expiresAt.getTime(), event.createdAt.getTime() + 3600_000);
      assert.equal(Date.parse(event.payload.expiresAt as string), code?.expiresAt.getTime());
      assert.equal(event.payload.delivery, "sent");
      assert.equal(code?.failedAttempts, 0);
    }
    const notes = (await inspector.notifications(w.ada.id)).slice(s.notifications);
    assert.deepEqual(
      notes.map((n) => [n.channel, n.recipient, n.purpose]),
      [
        ["email", "ada@king.example", "email"],
        ["sms", "+41795550124", "phone"],
      ],
    );
  });

  test("only well-formed bcrypt hashes are imported", async () => {
    const w = await createWorld(roster);
    const good = await bcrypt.hash("Imported-Pass-1", 4); // $2b$04$…
    const body = good.slice(7);
    const s = await snapshot(w.ada.id);
    for (const hash of [
      "$2x$04$" + body,
      "$2a$03$" + body,
      "$2b$32$" + body,
      "$2b$4$" + body,
      good.slice(0, 59),
      good + "A",
      good.slice(0, 59) + "!",
      "$5$rounds=5000$salt$hash",
    ]) {
      expectError(await setPassword(w, w.olga.token, { hashedPassword: { hash } }), 400, 3, "USER-oz74onzvqr");
    }
    // an empty hash breaks the field rule (1..200) before the format is looked at
    expectError(await setPassword(w, w.olga.token, { hashedPassword: { hash: "" } }), 400, 3);
    await assertNothingWritten(w.ada.id, s);
    expectOk(await setPassword(w, w.olga.token, { hashedPassword: { hash: "$2a$04$" + body } }), s.sequence + 1);
    expectOk(await setPassword(w, w.ada.token, { password: { password: "Next-Pass-22" }, currentPassword: "Imported-Pass-1" }), s.sequence + 2);
  });

  test("a username counts code points: 200 emoji are accepted, 201 are not", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const tooLong = await update(w.ada.id, w.olga.token, { username: "👍".repeat(201) });
    expectError(tooLong, 400, 3);
    assert.equal(tooLong.body.message, "invalid UpdateHumanUserRequest.Username: value length must be between 1 and 200 runes, inclusive");
    await assertNothingWritten(w.ada.id, s);
    const name = w.tag + "👍".repeat(192);
    expectOk(await update(w.ada.id, w.olga.token, { username: name }), s.sequence + 1);
    assert.equal((await readUser(w.ada.id)).user.username, name);
  });
});

describe("concurrent requests (§1 step 3)", () => {
  test("concurrent updates of one user run one after the other and lose nothing", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const nicks = Array.from({ length: 8 }, (_, i) => `nick-${i}`);
    const results = await Promise.all(
      nicks.map((nickName) => update(w.ada.id, w.olga.token, { profile: { givenName: "Ada", familyName: "Lovelace", nickName } })),
    );
    const sequences = results.map((r) => {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return Number(r.body.details.sequence);
    });
    assert.deepEqual(
      [...sequences].sort((a, b) => a - b),
      nicks.map((_, i) => s.sequence + i + 1),
    );
    const events = await eventsSince(w.ada.id, s);
    assert.equal(events.length, nicks.length);
    // each event's old value is the previous event's new value: no update was lost
    let previous = "Countess";
    for (const [i, e] of events.entries()) {
      assert.equal(e.sequence, s.sequence + i + 1);
      const change = (e.payload.changes as Record<string, { old: string; new: string }>).nickName;
      assert.equal(change.old, previous);
      previous = change.new;
    }
    assert.equal((await readUser(w.ada.id)).user.human.profile.nickName, previous);
  });

  test("concurrent wrong reset codes: exactly five are evaluated and recorded", async () => {
    const w = await createWorld(roster);
    const code = await passwordResetCode(w);
    const wrong = code === "AAAAAA" ? "BBBBBB" : "AAAAAA";
    const s = await snapshot(w.ada.id);
    const results = await Promise.all(
      Array.from({ length: 9 }, () => setPassword(w, w.ada.token, { password: { password: "Engine-Difference-2" }, verificationCode: wrong })),
    );
    for (const r of results) expectError(r, 400, 3, "CODE-woT0xc");
    const events = await eventsSince(w.ada.id, s);
    assert.deepEqual(
      events.map((e) => e.type),
      Array(5).fill("user.human.password.code.verification.failed"),
    );
    assert.equal((await inspector.code(w.ada.id, "password_reset"))?.failedAttempts, 5);
    assert.equal((await snapshot(w.ada.id)).sequence, s.sequence + 5);
  });

  test("two users renamed to one name at once: one succeeds, the other gets V3-DKcYh", async () => {
    const w = await createWorld(roster);
    const name = `Shared-${w.tag}`;
    const [a, b] = await Promise.all([
      update(w.ada.id, w.olga.token, { username: name }),
      update(w.bob.id, w.olga.token, { username: name.toLowerCase() }),
    ]);
    assert.deepEqual([a.status, b.status].sort(), [200, 409]);
    const loser = a.status === 409 ? a : b;
    expectError(loser, 409, 6, "V3-DKcYh");
    const names = [(await readUser(w.ada.id)).user.username, (await readUser(w.bob.id)).user.username];
    assert.equal(names.filter((n) => n.toLowerCase() === name.toLowerCase()).length, 1);
  });
});

describe("permission and organization context (§1 steps 1 and 4)", () => {
  test("x-zitadel-orgid naming an existing organization plays no part", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const olga = await update(w.ada.id, w.olga.token, { username: `ada.lovelace-${w.tag}` }, { "x-zitadel-orgid": w.globex });
    expectOk(olga, s.sequence + 1);
    const s2 = await snapshot(w.ada.id);
    const gus = await update(w.ada.id, w.gus.token, { username: `ada.king-${w.tag}` }, { "x-zitadel-orgid": w.acme });
    expectError(gus, 403, 7, DENIED_ID);
    await assertNothingWritten(w.ada.id, s2);
  });

  test("users without user.write on the user's organization may not change another user", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    for (const caller of [w.bob, w.nora, w.gus]) {
      expectError(await update(w.ada.id, caller.token, { profile: { givenName: "Ada", familyName: "Lovelace" } }), 403, 7, DENIED_ID);
      expectError(await update(w.ada.id, caller.token, { password: { password: { password: "Engine-Difference-2" }, currentPassword: ADA_PASSWORD } }), 403, 7, DENIED_ID);
    }
    // Nora may read nothing of Ada either: the empty request is "not found" (decision 3)
    expectError(await update(w.ada.id, w.nora.token, {}), 404, 5, NOT_FOUND_ID);
    await assertNothingWritten(w.ada.id, s);
  });

  test("an address that is not an email address breaks the field rule", async () => {
    const w = await createWorld(roster);
    const res = await update(w.ada.id, w.olga.token, { email: { email: "not-an-email" } });
    expectError(res, 400, 3);
    assert.equal(
      res.body.message,
      "invalid UpdateHumanUserRequest.Email: embedded message failed validation | caused by: invalid SetHumanEmail.Email: value must be a valid email address",
    );
  });
});
