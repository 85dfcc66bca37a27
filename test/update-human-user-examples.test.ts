// The examples table of update-human-user.md §12 (#1–#39), one test per row, through the REST
// gateway. Every test gets its own world (fixtures.ts); sequences are relative to Ada's sequence
// before the request, and "nothing written" is checked against a snapshot of the stored state.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import bcrypt from "bcrypt";
import { ADA_PASSWORD, createWorld } from "./support/fixtures.js";
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

const { update, readUser, snapshot, assertNothingWritten, assertNewEvents, verifiesAgainstStored, passwordResetCode } =
  updateHarness(() => ({ roster, inspector }));

// ---------------------------------------------------------------------------------------------

describe("UpdateHumanUser examples (update-human-user.md §12)", () => {
  test("#1 Olga renames Ada: one user.username.changed with old and new name", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const name = `ada.lovelace-${w.tag}`;
    const res = await update(w.ada.id, w.olga.token, { username: name });
    expectOk(res, s.sequence + 1);
    const [e] = await assertNewEvents(w.ada.id, s, ["user.username.changed"]);
    assert.equal(e.payload.old, w.ada.username);
    assert.equal(e.payload.new, name);
    assert.equal(e.actorId, w.olga.id);
    assert.equal((await readUser(w.ada.id)).user.username, name);
  });

  test("#2 the same username is a no-op", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, { username: w.ada.username });
    expectOk(res, s.sequence);
    await assertNothingWritten(w.ada.id, s);
  });

  test("#3 another user's name in other case → 409 V3-DKcYh", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, { username: w.bob.username.toUpperCase() });
    expectError(res, 409, 6, "V3-DKcYh");
    assert.ok(res.body.message.startsWith("User already exists"));
    await assertNothingWritten(w.ada.id, s);
  });

  test("#4 Ada renames herself to a different case of her own name", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const name = "A" + w.ada.username.slice(1);
    const res = await update(w.ada.id, w.ada.token, { username: name });
    expectOk(res, s.sequence + 1);
    await assertNewEvents(w.ada.id, s, ["user.username.changed"]);
    assert.equal((await readUser(w.ada.id)).user.username, name);
  });

  test("#5 Ada changes her family name and clears her nick name; display name stays", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.ada.token, { profile: { givenName: "Ada", familyName: "King", nickName: "" } });
    expectOk(res, s.sequence + 1);
    const [e] = await assertNewEvents(w.ada.id, s, ["user.human.profile.changed"]);
    assert.deepEqual(e.payload.changes, {
      familyName: { old: "Lovelace", new: "King" },
      nickName: { old: "Countess", new: "" },
    });
    const profile = (await readUser(w.ada.id)).user.human.profile;
    assert.equal(profile.familyName, "King");
    assert.equal(profile.nickName, "");
    assert.equal(profile.displayName, "Ada Lovelace");
    assert.equal(profile.givenName, "Ada");
    assert.equal(profile.preferredLanguage, "en");
    assert.equal(profile.gender, "GENDER_FEMALE");
  });

  test("#6 preferredLanguage EN canonicalises to the stored en: no-op", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, { profile: { givenName: "Ada", familyName: "Lovelace", preferredLanguage: "EN" } });
    expectOk(res, s.sequence);
    await assertNothingWritten(w.ada.id, s);
  });

  test("#7 a profile without givenName → 400 field violation", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, { profile: { familyName: "King" } });
    expectError(res, 400, 3);
    assert.equal(
      res.body.message,
      "invalid UpdateHumanUserRequest.Profile: embedded message failed validation | caused by: invalid SetHumanProfile.GivenName: value length must be between 1 and 200 runes, inclusive",
    );
    await assertNothingWritten(w.ada.id, s);
  });

  test("#8 new email with returnCode: changed + code.added, code returned, nothing mailed, now unverified", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, { email: { email: "ada@king.example", returnCode: {} } });
    expectOk(res, s.sequence + 2);
    assert.match(res.body.emailCode, /^[A-Z0-9]{6}$/);
    assert.equal(res.body.phoneCode, undefined);
    const [changed, added] = await assertNewEvents(w.ada.id, s, ["user.human.email.changed", "user.human.email.code.added"]);
    assert.equal(changed.payload.old, "ada@acme.example");
    assert.equal(changed.payload.new, "ada@king.example");
    assert.equal(added.payload.delivery, "returned");
    assert.equal((await inspector.code(w.ada.id, "email"))?.delivery, "returned");
    assert.equal((await inspector.notifications(w.ada.id)).length, s.notifications);
    const email = (await readUser(w.ada.id)).user.human.email;
    assert.equal(email.email, "ada@king.example");
    assert.equal(email.isVerified, undefined);
  });

  test("#9 the same email with returnCode: no-op, no emailCode", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, { email: { email: "ada@acme.example", returnCode: {} } });
    expectOk(res, s.sequence);
    assert.equal(res.body.emailCode, undefined);
    await assertNothingWritten(w.ada.id, s);
  });

  test("#10 Ada marks her own new email verified → 403 AUTHZ-HKJD33, nothing written", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.ada.token, { email: { email: "ada@king.example", isVerified: true } });
    expectError(res, 403, 7, DENIED_ID);
    await assertNothingWritten(w.ada.id, s);
  });

  test("#11 Olga sets a new verified email: changed + verified, no code", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, { email: { email: "ada@king.example", isVerified: true } });
    expectOk(res, s.sequence + 2);
    assert.equal(res.body.emailCode, undefined);
    const [, verified] = await assertNewEvents(w.ada.id, s, ["user.human.email.changed", "user.human.email.verified"]);
    assert.equal(verified.payload.old, false);
    assert.equal(verified.payload.new, true);
    assert.equal(await inspector.code(w.ada.id, "email"), undefined);
    const email = (await readUser(w.ada.id)).user.human.email;
    assert.deepEqual(email, { email: "ada@king.example", isVerified: true });
  });

  test("#12 a URL template with an unknown placeholder → 400 DOMAIN-ieYa7", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, {
      email: { email: "ada@king.example", sendCode: { urlTemplate: "https://id.acme.example/v?u={{.UserID}}&c={{.Code}}&l={{.Lang}}" } },
    });
    expectError(res, 400, 3, "DOMAIN-ieYa7");
    await assertNothingWritten(w.ada.id, s);
  });

  test("#13 an address with a display name → 400 EMAIL-599GV", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, { email: { email: "Ada <ada@king.example>" } });
    expectError(res, 400, 3, "EMAIL-599GV");
    await assertNothingWritten(w.ada.id, s);
  });

  test("#14 the same number in another form with isVerified: only phone.verified, pending code discarded", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    assert.ok(s.codes.phone, "fixture: Ada has a pending phone code");
    const res = await update(w.ada.id, w.olga.token, { phone: { phone: "079 555 01 23", isVerified: true } });
    expectOk(res, s.sequence + 1);
    const [e] = await assertNewEvents(w.ada.id, s, ["user.human.phone.verified"]);
    assert.deepEqual([e.payload.old, e.payload.new], [false, true]);
    assert.equal(await inspector.code(w.ada.id, "phone"), undefined);
    assert.deepEqual((await readUser(w.ada.id)).user.human.phone, { phone: "+41795550123", isVerified: true });
  });

  test("#15 an empty phone with returnCode: no-op, number kept, no phoneCode", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, { phone: { phone: "", returnCode: {} } });
    expectOk(res, s.sequence);
    assert.equal(res.body.phoneCode, undefined);
    await assertNothingWritten(w.ada.id, s);
    assert.equal((await readUser(w.ada.id)).user.human.phone.phone, "+41795550123");
  });

  test("#16 phone isVerified false → 400 field violation", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, { phone: { phone: "+41795550124", isVerified: false } });
    expectError(res, 400, 3);
    assert.match(res.body.message, /^invalid UpdateHumanUserRequest\.Phone: .*SetHumanPhone\.IsVerified: value must equal true$/);
    await assertNothingWritten(w.ada.id, s);
  });

  test("#17 an unparsable phone → 400 PHONE-so0wa", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, { phone: { phone: "+999 123456" } });
    expectError(res, 400, 3, "PHONE-so0wa");
    await assertNothingWritten(w.ada.id, s);
  });

  test("#18 a new number: changed (E.164) + code.added, an SMS queued, no phoneCode", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, { phone: { phone: "+41 79 555 01 24" } });
    expectOk(res, s.sequence + 2);
    assert.equal(res.body.phoneCode, undefined);
    const [changed, added] = await assertNewEvents(w.ada.id, s, ["user.human.phone.changed", "user.human.phone.code.added"]);
    assert.deepEqual([changed.payload.old, changed.payload.new], ["+41795550123", "+41795550124"]);
    assert.equal(added.payload.delivery, "sent");
    const code = await inspector.code(w.ada.id, "phone");
    assert.equal(code?.delivery, "sent");
    assert.notDeepEqual(code?.hash, s.codes.phone?.hash);
    const notes = (await inspector.notifications(w.ada.id)).slice(s.notifications);
    assert.equal(notes.length, 1);
    assert.equal(notes[0].channel, "sms");
    assert.equal(notes[0].recipient, "+41795550124");
    // proto3 JSON omits `isVerified: false`
    assert.deepEqual((await readUser(w.ada.id)).user.human.phone, { phone: "+41795550124" });
  });

  test("#19 Ada sets her own password without proof → 403 AUTHZ-HKJD33", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.ada.token, { password: { password: { password: "Engine-Difference-2" } } });
    expectError(res, 403, 7, DENIED_ID);
    await assertNothingWritten(w.ada.id, s);
  });

  test("#20 Ada changes her password with the current one: the new verifies, the old does not", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.ada.token, {
      password: { password: { password: "Engine-Difference-2" }, currentPassword: ADA_PASSWORD },
    });
    expectOk(res, s.sequence + 1);
    const [e] = await assertNewEvents(w.ada.id, s, ["user.human.password.changed"]);
    assert.equal(e.payload.verification, "current_password");
    assert.equal(e.payload.kind, "plain");
    assert.equal(e.payload.changeRequired, false);
    assert.ok(await verifiesAgainstStored(w.ada.id, "Engine-Difference-2"));
    assert.ok(!(await verifiesAgainstStored(w.ada.id, ADA_PASSWORD)));
  });

  test("#21 a wrong current password (other case) → 400 COMMAND-3M0fs, nothing written", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.ada.token, {
      password: { password: { password: "Engine-Difference-2" }, currentPassword: "analytical-1843" },
    });
    expectError(res, 400, 3, "COMMAND-3M0fs");
    await assertNothingWritten(w.ada.id, s);
    assert.ok(await verifiesAgainstStored(w.ada.id, ADA_PASSWORD));
  });

  test("#22 correct current password but a too short new one → 400 DOMAIN-HuJf6", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.ada.token, { password: { password: { password: "engine" }, currentPassword: ADA_PASSWORD } });
    expectError(res, 400, 3, "DOMAIN-HuJf6");
    await assertNothingWritten(w.ada.id, s);
  });

  test("#23 a new password of 80 ASCII characters → 400 ROSTER-pw072", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, { password: { password: { password: "Aa1!".repeat(20) } } });
    expectError(res, 400, 3, "ROSTER-pw072");
    await assertNothingWritten(w.ada.id, s);
  });

  test("#24 an argon2 hash → 400 USER-oz74onzvqr", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, {
      password: { hashedPassword: { hash: "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG" } },
    });
    expectError(res, 400, 3, "USER-oz74onzvqr");
    await assertNothingWritten(w.ada.id, s);
  });

  test("#25 a $2y$10$ bcrypt hash with changeRequired: stored verbatim, no policy, read back", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    // "short" would fail the complexity policy: hashed passwords are not checked
    const hash = (await bcrypt.hash("short", 10)).replace(/^\$2b\$/, "$2y$");
    assert.equal(hash.length, 60);
    const res = await update(w.ada.id, w.olga.token, { password: { hashedPassword: { hash, changeRequired: true } } });
    expectOk(res, s.sequence + 1);
    const [e] = await assertNewEvents(w.ada.id, s, ["user.human.password.changed"]);
    assert.deepEqual([e.payload.kind, e.payload.changeRequired, e.payload.verification], ["hashed", true, "permission"]);
    assert.equal((await inspector.user(w.ada.id))?.passwordHash, hash);
    assert.equal((await readUser(w.ada.id)).user.human.passwordChangeRequired, true);
  });

  test("#26 a password block without a new password → 400 COMMAND-3klek4sbns", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, { password: { currentPassword: ADA_PASSWORD } });
    expectError(res, 400, 3, "COMMAND-3klek4sbns");
    await assertNothingWritten(w.ada.id, s);
  });

  test("#27 Ada uses a reset code: password changed, code used up; again → COMMAND-2M9fs", async () => {
    const w = await createWorld(roster);
    const code = await passwordResetCode(w);
    const s = await snapshot(w.ada.id);
    assert.ok(s.codes.password_reset);
    const body = { password: { password: { password: "Engine-Difference-2" }, verificationCode: code } };
    const res = await update(w.ada.id, w.ada.token, body);
    expectOk(res, s.sequence + 1);
    const [e] = await assertNewEvents(w.ada.id, s, ["user.human.password.changed"]);
    assert.equal(e.payload.verification, "verification_code");
    assert.equal(await inspector.code(w.ada.id, "password_reset"), undefined);
    assert.ok(await verifiesAgainstStored(w.ada.id, "Engine-Difference-2"));

    const s2 = await snapshot(w.ada.id);
    const again = await update(w.ada.id, w.ada.token, body);
    expectError(again, 400, 9, "COMMAND-2M9fs");
    await assertNothingWritten(w.ada.id, s2);
  });

  test("#28 wrong reset codes are recorded (sequence + 1 each); after five even the right code fails", async () => {
    const w = await createWorld(roster);
    const code = await passwordResetCode(w);
    const wrong = code === "AAAAAA" ? "BBBBBB" : "AAAAAA";
    for (let attempt = 1; attempt <= 5; attempt++) {
      const s = await snapshot(w.ada.id);
      const res = await update(w.ada.id, w.ada.token, { password: { password: { password: "Engine-Difference-2" }, verificationCode: wrong } });
      expectError(res, 400, 3, "CODE-woT0xc");
      const [e] = await assertNewEvents(w.ada.id, s, ["user.human.password.code.verification.failed"]);
      assert.equal(e.actorId, w.ada.id);
      const after = await snapshot(w.ada.id);
      assert.equal(after.sequence, s.sequence + 1);
      assert.equal(after.codes.password_reset?.failedAttempts, attempt);
      // nothing else of the request: the password is unchanged
      assert.equal(after.user?.passwordHash, s.user?.passwordHash);
    }
    const s = await snapshot(w.ada.id);
    const right = await update(w.ada.id, w.ada.token, { password: { password: { password: "Engine-Difference-2" }, verificationCode: code } });
    expectError(right, 400, 3, "CODE-woT0xc");
    // an exhausted code records nothing more
    await assertNothingWritten(w.ada.id, s);
    const sixth = await update(w.ada.id, w.ada.token, { password: { password: { password: "Engine-Difference-2" }, verificationCode: wrong } });
    expectError(sixth, 400, 3, "CODE-woT0xc");
    await assertNothingWritten(w.ada.id, s);
    assert.ok(await verifiesAgainstStored(w.ada.id, ADA_PASSWORD));
  });

  test("#29 Gus (owner of another organization) → 403 AUTHZ-HKJD33", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.gus.token, { username: `ada2-${w.tag}` });
    expectError(res, 403, 7, DENIED_ID);
    await assertNothingWritten(w.ada.id, s);
  });

  test("#30 an empty request by Gus or Bob → 404 COMMAND-ugjs0upun6", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    for (const caller of [w.gus, w.bob]) {
      const res = await update(w.ada.id, caller.token, {});
      expectError(res, 404, 5, NOT_FOUND_ID);
      assert.equal(res.body.message, `User could not be found (${NOT_FOUND_ID})`);
    }
    await assertNothingWritten(w.ada.id, s);
  });

  test("#31 an empty request by Ada or Olga → 200 with the current details, nothing written", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    for (const caller of [w.ada, w.olga]) {
      const res = await update(w.ada.id, caller.token, {});
      expectOk(res, s.sequence);
      assert.equal(res.body.details.resourceOwner, w.acme);
    }
    await assertNothingWritten(w.ada.id, s);
  });

  test("#32 Ian (IAM_OWNER) changes the profile", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.ian.token, { profile: { givenName: "Augusta Ada", familyName: "King" } });
    expectOk(res, s.sequence + 1);
    const [e] = await assertNewEvents(w.ada.id, s, ["user.human.profile.changed"]);
    assert.deepEqual(e.payload.changes, {
      givenName: { old: "Ada", new: "Augusta Ada" },
      familyName: { old: "Lovelace", new: "King" },
    });
  });

  test("#33 a stale If-Match → 412 FAILED_PRECONDITION ROSTER-seq01, nothing written", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, { username: `ada.lovelace-${w.tag}` }, { "if-match": `"${s.sequence - 1}"` });
    expectError(res, 412, 9, "ROSTER-seq01");
    await assertNothingWritten(w.ada.id, s);
  });

  test("#34 a matching If-Match, quoted or bare → 200 with ETag of the new sequence", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const quoted = await update(w.ada.id, w.olga.token, { username: `ada.lovelace-${w.tag}` }, { "if-match": `"${s.sequence}"` });
    expectOk(quoted, s.sequence + 1);
    const bare = await update(w.ada.id, w.olga.token, { username: `ada.king-${w.tag}` }, { "if-match": String(s.sequence + 1) });
    expectOk(bare, s.sequence + 2);
    assert.equal((await readUser(w.ada.id)).user.username, `ada.king-${w.tag}`);
  });

  test("#35 username plus a password without upper case → 400 DOMAIN-VoaRj, username unchanged", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, { username: `ada.lovelace-${w.tag}`, password: { password: { password: "weakpass" } } });
    expectError(res, 400, 3, "DOMAIN-VoaRj");
    await assertNothingWritten(w.ada.id, s);
    assert.equal((await readUser(w.ada.id)).user.username, w.ada.username);
  });

  test("#36 a bad phone is reported before the user is loaded", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, { username: `ada.lovelace-${w.tag}`, phone: { phone: "abc" } });
    expectError(res, 400, 3, "PHONE-so0wa");
    await assertNothingWritten(w.ada.id, s);
    const missing = await update("399999999999999999", w.olga.token, { username: "x", phone: { phone: "abc" } });
    expectError(missing, 400, 3, "PHONE-so0wa");
  });

  test("#37 an unknown user → 404 COMMAND-ugjs0upun6", async () => {
    const w = await createWorld(roster);
    const res = await update("399999999999999999", w.olga.token, { username: "x" });
    expectError(res, 404, 5, NOT_FOUND_ID);
  });

  test("#38 no Authorization header → 401 auth header missing", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, undefined, { username: "x" });
    expectError(res, 401, 16);
    assert.equal(res.body.message, "auth header missing");
    await assertNothingWritten(w.ada.id, s);
  });

  test("#39 x-zitadel-orgid naming no organization → 403 AUTH-Bs7Ds", async () => {
    const w = await createWorld(roster);
    const s = await snapshot(w.ada.id);
    const res = await update(w.ada.id, w.olga.token, { username: "x" }, { "x-zitadel-orgid": "399999999999999999" });
    expectError(res, 403, 7, "AUTH-Bs7Ds");
    await assertNothingWritten(w.ada.id, s);
  });
});
