/**
 * PasswordReset and SetPassword over REST (contract.md §9.6; decisions 1, 4, 8, 9; codes.md).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import bcrypt from "bcrypt";
import { deriveKeys } from "../src/config/keys.js";
import { open } from "../src/notify/sealed-payload.js";
import { startTestRoster, type TestRoster } from "./support/roster.js";
import { ADA_PASSWORD, assertOk, createWorld, rest, type RestResponse, type World } from "./support/fixtures.js";
import { openInspector, type Inspector } from "./support/inspect.js";

const GRPC = { INVALID_ARGUMENT: 3, NOT_FOUND: 5, PERMISSION_DENIED: 7, FAILED_PRECONDITION: 9 };
const NEW_PASSWORD = "Engine-Difference-2";

function assertError(res: RestResponse, status: number, code: number, id: string): void {
  assert.equal(res.status, status, `expected HTTP ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
  assert.equal(res.body.code, code, JSON.stringify(res.body));
  assert.equal(res.body.details?.[0]?.id, id, JSON.stringify(res.body));
}

describe("PasswordReset and SetPassword", () => {
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

  const reset = (userId: string, token: string, body: unknown = {}) => rest(roster, "POST", `/v2/users/${userId}/password_reset`, { token, body });
  const setPassword = (userId: string, token: string, body: unknown) => rest(roster, "POST", `/v2/users/${userId}/password`, { token, body });
  const returnedCode = async (w: World): Promise<string> => {
    const res = await reset(w.ada.id, w.olga.token, { returnCode: {} });
    assertOk(res);
    return res.body.verificationCode as string;
  };
  const sequenceOf = async (userId: string) => (await inspector.user(userId))!.sequence;
  const storedHash = async (userId: string) => (await inspector.user(userId))!.passwordHash!;
  const openPayload = (sealed: Buffer) =>
    open(deriveKeys(Buffer.from(roster.env.ROSTER_MASTER_KEY!, "base64")).notificationAead, sealed) as { code: string; link?: string };

  describe("PasswordReset", () => {
    test("returnCode by Olga: the code is returned, stored hashed, nothing sent, event and ETag", async () => {
      const w = await createWorld(roster);
      const before = await sequenceOf(w.ada.id);
      const res = await reset(w.ada.id, w.olga.token, { returnCode: {} });
      assertOk(res);
      assert.match(res.body.verificationCode, /^[A-Z0-9]{6}$/);
      assert.equal(res.body.details.sequence, String(before + 1));
      assert.equal(res.headers.get("etag"), `"${before + 1}"`);
      const code = await inspector.code(w.ada.id, "password_reset");
      assert.equal(code?.delivery, "returned");
      assert.equal(code?.failedAttempts, 0);
      assert.deepEqual((await inspector.notifications(w.ada.id)).filter((n) => n.purpose === "password_reset"), []);
      const events = await inspector.events(w.ada.id);
      assert.equal(events.at(-1)?.type, "user.human.password.code.added");
      assert.equal(events.at(-1)?.actorId, w.olga.id);
      assert.ok(!JSON.stringify(events).includes(res.body.verificationCode));
    });

    test("returnCode by Ada herself → 403 AUTHZ-HKJD33, nothing written (decision 8)", async () => {
      const w = await createWorld(roster);
      const before = await sequenceOf(w.ada.id);
      assertError(await reset(w.ada.id, w.ada.token, { returnCode: {} }), 403, GRPC.PERMISSION_DENIED, "AUTHZ-HKJD33");
      assert.equal(await sequenceOf(w.ada.id), before);
      assert.equal(await inspector.code(w.ada.id, "password_reset"), undefined);
    });

    test("sendLink by Ada herself: no code in the response, a sealed email with the rendered link; the code works", async () => {
      const w = await createWorld(roster);
      const template = "https://id.acme.example/reset?user={{.UserID}}&code={{ .Code }}&org={{.OrgID}}";
      const res = await reset(w.ada.id, w.ada.token, { sendLink: { notificationType: "NOTIFICATION_TYPE_Email", urlTemplate: template } });
      assertOk(res);
      assert.equal(res.body.verificationCode, undefined);
      const notes = (await inspector.notifications(w.ada.id)).filter((n) => n.purpose === "password_reset");
      assert.equal(notes.length, 1);
      assert.equal(notes[0]!.channel, "email");
      assert.equal(notes[0]!.recipient, "ada@acme.example");
      const payload = openPayload(notes[0]!.encrypted_payload);
      assert.match(payload.code, /^[A-Z0-9]{6}$/);
      assert.equal(payload.link, `https://id.acme.example/reset?user=${w.ada.id}&code=${payload.code}&org=${w.acme}`);
      assert.equal((await inspector.code(w.ada.id, "password_reset"))?.delivery, "sent");
      // the mailed code lets Ada set her password without any role (decision 1)
      assertOk(await setPassword(w.ada.id, w.ada.token, { newPassword: { password: NEW_PASSWORD }, verificationCode: payload.code }));
    });

    test("no medium and NOTIFICATION_TYPE_Unspecified: mailed with the configured default link", async () => {
      const w = await createWorld(roster);
      assertOk(await reset(w.ada.id, w.ada.token));
      assertOk(await reset(w.bob.id, w.bob.token, { sendLink: {} }));
      for (const [id, email] of [[w.ada.id, "ada@acme.example"], [w.bob.id, `${w.bob.username}@example.com`]] as const) {
        const notes = (await inspector.notifications(id)).filter((n) => n.purpose === "password_reset");
        assert.equal(notes.length, 1);
        assert.equal(notes[0]!.channel, "email");
        assert.equal(notes[0]!.recipient, email);
        const payload = openPayload(notes[0]!.encrypted_payload);
        assert.ok(payload.link?.includes(payload.code), payload.link);
        assert.match(payload.link!, /^https?:\/\//);
      }
    });

    test("sendLink with SMS: the code goes by SMS to the (unverified) phone number", async () => {
      const w = await createWorld(roster);
      assertOk(await reset(w.ada.id, w.ada.token, { sendLink: { notificationType: "NOTIFICATION_TYPE_SMS" } }));
      const notes = (await inspector.notifications(w.ada.id)).filter((n) => n.purpose === "password_reset");
      assert.deepEqual(notes.map((n) => [n.channel, n.recipient]), [["sms", "+41795550123"]]);
      assert.match(openPayload(notes[0]!.encrypted_payload).code, /^[A-Z0-9]{6}$/);
    });

    test("a bad url template → DOMAIN-ieYa7 / DOMAIN-oGh5e, checked before the user is looked up", async () => {
      const w = await createWorld(roster);
      const before = await sequenceOf(w.ada.id);
      const bad = async (urlTemplate: string, id: string, userId = w.ada.id) =>
        assertError(await reset(userId, w.olga.token, { sendLink: { urlTemplate } }), 400, GRPC.INVALID_ARGUMENT, id);
      await bad("https://x.example/r?c={{.Code | urlquery}}", "DOMAIN-ieYa7");
      await bad("https://x.example/r?c={{.LoginName}}", "DOMAIN-ieYa7");
      await bad("javascript:alert({{.Code}})", "DOMAIN-ieYa7");
      await bad("https://x.example/r?c={{.Code", "DOMAIN-oGh5e");
      await bad("https://x.example/r?c={{ }}", "DOMAIN-oGh5e");
      await bad("https://x.example/r?c={{.Code", "DOMAIN-oGh5e", "399999999999999999");
      assert.equal(await sequenceOf(w.ada.id), before);
    });

    test("an unknown user → NOT_FOUND COMMAND-SAF4f", async () => {
      const w = await createWorld(roster);
      assertError(await reset("399999999999999999", w.olga.token, { returnCode: {} }), 404, GRPC.NOT_FOUND, "COMMAND-SAF4f");
    });

    test("a stranger (Gus) → PERMISSION_DENIED AUTHZ-HKJD33, with any medium", async () => {
      const w = await createWorld(roster);
      assertError(await reset(w.ada.id, w.gus.token, { returnCode: {} }), 403, GRPC.PERMISSION_DENIED, "AUTHZ-HKJD33");
      assertError(await reset(w.ada.id, w.gus.token), 403, GRPC.PERMISSION_DENIED, "AUTHZ-HKJD33");
      assert.equal(await inspector.code(w.ada.id, "password_reset"), undefined);
    });

    test("a new reset replaces the old code: the old one → CODE-woT0xc, the new one works", async () => {
      const w = await createWorld(roster);
      const first = await returnedCode(w);
      let second = await returnedCode(w);
      while (second === first) second = await returnedCode(w); // 1 in 2e9, but a test must not flake
      assertError(await setPassword(w.ada.id, w.ada.token, { newPassword: { password: NEW_PASSWORD }, verificationCode: first }), 400, GRPC.INVALID_ARGUMENT, "CODE-woT0xc");
      assertOk(await setPassword(w.ada.id, w.ada.token, { newPassword: { password: NEW_PASSWORD }, verificationCode: second }));
    });

    test("if-match: a stale sequence → 412 ROSTER-seq01 and no code", async () => {
      const w = await createWorld(roster);
      const seq = await sequenceOf(w.ada.id);
      const stale = await rest(roster, "POST", `/v2/users/${w.ada.id}/password_reset`, {
        token: w.olga.token,
        body: { returnCode: {} },
        headers: { "if-match": `"${seq - 1}"` },
      });
      assertError(stale, 412, GRPC.FAILED_PRECONDITION, "ROSTER-seq01");
      assert.equal(await inspector.code(w.ada.id, "password_reset"), undefined);
      const fresh = await rest(roster, "POST", `/v2/users/${w.ada.id}/password_reset`, {
        token: w.olga.token,
        body: { returnCode: {} },
        headers: { "if-match": `"${seq}"` },
      });
      assertOk(fresh);
    });
  });

  describe("SetPassword", () => {
    test("with the current password: Ada herself; the stored hash changes; a pending reset code is discarded", async () => {
      const w = await createWorld(roster);
      await returnedCode(w);
      const before = await sequenceOf(w.ada.id);
      const res = await setPassword(w.ada.id, w.ada.token, { newPassword: { password: NEW_PASSWORD, changeRequired: true }, currentPassword: ADA_PASSWORD });
      assertOk(res);
      assert.equal(res.body.details.sequence, String(before + 1));
      assert.equal(res.headers.get("etag"), `"${before + 1}"`);
      const hash = await storedHash(w.ada.id);
      assert.ok(await bcrypt.compare(NEW_PASSWORD, hash));
      assert.ok(!(await bcrypt.compare(ADA_PASSWORD, hash)));
      assert.equal(await inspector.code(w.ada.id, "password_reset"), undefined);
      const last = (await inspector.events(w.ada.id)).at(-1)!;
      assert.equal(last.type, "user.human.password.changed");
      assert.equal(last.payload.changeRequired, true);
      assert.ok(!JSON.stringify(last.payload).includes(NEW_PASSWORD));
      const read = await rest(roster, "GET", `/v2/users/${w.ada.id}`, { token: w.ada.token });
      assert.equal(read.body.user.human.passwordChangeRequired, true);
    });

    test("a wrong current password → COMMAND-3M0fs; nothing written", async () => {
      const w = await createWorld(roster);
      const before = await sequenceOf(w.ada.id);
      assertError(await setPassword(w.ada.id, w.ada.token, { newPassword: { password: NEW_PASSWORD }, currentPassword: ADA_PASSWORD.toLowerCase() }), 400, GRPC.INVALID_ARGUMENT, "COMMAND-3M0fs");
      assert.equal(await sequenceOf(w.ada.id), before);
      assert.ok(await bcrypt.compare(ADA_PASSWORD, await storedHash(w.ada.id)));
    });

    test("the same password as the current one → FAILED_PRECONDITION COMMAND-Aesh5", async () => {
      const w = await createWorld(roster);
      assertError(await setPassword(w.ada.id, w.ada.token, { newPassword: { password: ADA_PASSWORD }, currentPassword: ADA_PASSWORD }), 400, GRPC.FAILED_PRECONDITION, "COMMAND-Aesh5");
    });

    test("with a verification code: used up; sending it again → COMMAND-2M9fs", async () => {
      const w = await createWorld(roster);
      const code = await returnedCode(w);
      assertOk(await setPassword(w.ada.id, w.ada.token, { newPassword: { password: NEW_PASSWORD }, verificationCode: code }));
      assert.ok(await bcrypt.compare(NEW_PASSWORD, await storedHash(w.ada.id)));
      assertError(await setPassword(w.ada.id, w.ada.token, { newPassword: { password: "Another-Passw0rd" }, verificationCode: code }), 400, GRPC.FAILED_PRECONDITION, "COMMAND-2M9fs");
    });

    test("without verification: Ada herself → 403 AUTHZ-HKJD33 (decision 1); Olga → 200", async () => {
      const w = await createWorld(roster);
      const before = await sequenceOf(w.ada.id);
      assertError(await setPassword(w.ada.id, w.ada.token, { newPassword: { password: NEW_PASSWORD } }), 403, GRPC.PERMISSION_DENIED, "AUTHZ-HKJD33");
      assert.equal(await sequenceOf(w.ada.id), before);
      assertOk(await setPassword(w.ada.id, w.olga.token, { newPassword: { password: NEW_PASSWORD } }));
      assert.ok(await bcrypt.compare(NEW_PASSWORD, await storedHash(w.ada.id)));
    });

    test("Gus (another organization) without verification → 403 AUTHZ-HKJD33", async () => {
      const w = await createWorld(roster);
      assertError(await setPassword(w.ada.id, w.gus.token, { newPassword: { password: NEW_PASSWORD } }), 403, GRPC.PERMISSION_DENIED, "AUTHZ-HKJD33");
    });

    test("no new password → COMMAND-3klek4sbns; over 72 bytes → ROSTER-pw072; policy → DOMAIN-*; unknown user → COMMAND-ugjs0upun6", async () => {
      const w = await createWorld(roster);
      assertError(await setPassword(w.ada.id, w.olga.token, { currentPassword: ADA_PASSWORD }), 400, GRPC.INVALID_ARGUMENT, "COMMAND-3klek4sbns");
      assertError(await setPassword(w.ada.id, w.olga.token, { newPassword: { password: "Aa1!" + "x".repeat(69) } }), 400, GRPC.INVALID_ARGUMENT, "ROSTER-pw072");
      // 72 bytes exactly is fine
      assertOk(await setPassword(w.ada.id, w.olga.token, { newPassword: { password: "Aa1!" + "x".repeat(68) } }));
      assertError(await setPassword(w.ada.id, w.olga.token, { newPassword: { password: "weakpass" } }), 400, GRPC.INVALID_ARGUMENT, "DOMAIN-VoaRj");
      // validation comes before the user is looked up
      assertError(await setPassword("399999999999999999", w.olga.token, {}), 400, GRPC.INVALID_ARGUMENT, "COMMAND-3klek4sbns");
      assertError(await setPassword("399999999999999999", w.olga.token, { newPassword: { password: NEW_PASSWORD } }), 404, GRPC.NOT_FOUND, "COMMAND-ugjs0upun6");
    });

    test("five wrong codes, each recorded; then even the right code → CODE-woT0xc", async () => {
      const w = await createWorld(roster);
      const code = await returnedCode(w);
      const wrong = code === "AAAAAA" ? "BBBBBB" : "AAAAAA";
      const before = await sequenceOf(w.ada.id);
      for (let i = 1; i <= 5; i++) {
        assertError(await setPassword(w.ada.id, w.ada.token, { newPassword: { password: NEW_PASSWORD }, verificationCode: wrong }), 400, GRPC.INVALID_ARGUMENT, "CODE-woT0xc");
        assert.equal((await inspector.code(w.ada.id, "password_reset"))?.failedAttempts, i);
      }
      assert.equal(await sequenceOf(w.ada.id), before + 5);
      const failed = (await inspector.events(w.ada.id)).slice(-5);
      assert.deepEqual(failed.map((e) => e.type), Array(5).fill("user.human.password.code.verification.failed"));
      assertError(await setPassword(w.ada.id, w.ada.token, { newPassword: { password: NEW_PASSWORD }, verificationCode: code }), 400, GRPC.INVALID_ARGUMENT, "CODE-woT0xc");
      // an exhausted code records nothing more
      assert.equal(await sequenceOf(w.ada.id), before + 5);
      assert.equal((await inspector.code(w.ada.id, "password_reset"))?.failedAttempts, 5);
      assert.ok(await bcrypt.compare(ADA_PASSWORD, await storedHash(w.ada.id)));
      // a new reset gives a fresh, usable code
      assertOk(await setPassword(w.ada.id, w.ada.token, { newPassword: { password: NEW_PASSWORD }, verificationCode: await returnedCode(w) }));
    });

    test("no pending code → FAILED_PRECONDITION COMMAND-2M9fs, nothing recorded", async () => {
      const w = await createWorld(roster);
      const before = await sequenceOf(w.ada.id);
      assertError(await setPassword(w.ada.id, w.ada.token, { newPassword: { password: NEW_PASSWORD }, verificationCode: "AAAAAA" }), 400, GRPC.FAILED_PRECONDITION, "COMMAND-2M9fs");
      assert.equal(await sequenceOf(w.ada.id), before);
    });

    test("Gus trying Ada's code → NOT_FOUND COMMAND-ugjs0upun6, no attempt counted (decision 9): SetPassword and UpdateHumanUser", async () => {
      const w = await createWorld(roster);
      const code = await returnedCode(w);
      const before = await sequenceOf(w.ada.id);
      for (const guess of ["AAAAAA", code]) {
        assertError(await setPassword(w.ada.id, w.gus.token, { newPassword: { password: NEW_PASSWORD }, verificationCode: guess }), 404, GRPC.NOT_FOUND, "COMMAND-ugjs0upun6");
        const upd = await rest(roster, "PUT", `/v2/users/human/${w.ada.id}`, {
          token: w.gus.token,
          body: { password: { password: { password: NEW_PASSWORD }, verificationCode: guess } },
        });
        assertError(upd, 404, GRPC.NOT_FOUND, "COMMAND-ugjs0upun6");
      }
      // Nora (roleless, another organization) likewise
      assertError(await setPassword(w.ada.id, w.nora.token, { newPassword: { password: NEW_PASSWORD }, verificationCode: "AAAAAA" }), 404, GRPC.NOT_FOUND, "COMMAND-ugjs0upun6");
      assert.equal(await sequenceOf(w.ada.id), before);
      assert.equal((await inspector.code(w.ada.id, "password_reset"))?.failedAttempts, 0);
      assert.ok(await bcrypt.compare(ADA_PASSWORD, await storedHash(w.ada.id)));
      // the code is intact for Ada
      assertOk(await setPassword(w.ada.id, w.ada.token, { newPassword: { password: NEW_PASSWORD }, verificationCode: code }));
    });

    test("Olga's wrong guess at Ada's code counts (she holds user.write)", async () => {
      const w = await createWorld(roster);
      const code = await returnedCode(w);
      const wrong = code === "AAAAAA" ? "BBBBBB" : "AAAAAA";
      assertError(await setPassword(w.ada.id, w.olga.token, { newPassword: { password: NEW_PASSWORD }, verificationCode: wrong }), 400, GRPC.INVALID_ARGUMENT, "CODE-woT0xc");
      assert.equal((await inspector.code(w.ada.id, "password_reset"))?.failedAttempts, 1);
    });
  });

  describe("expiry", () => {
    // What an expired code does is tested on the domain's clock (test/domain/set-password.test.ts);
    // here only that the configured lifetime reaches the stored code.
    test("ROSTER_PASSWORD_RESET_CODE_EXPIRY_SECONDS sets a reset code's lifetime", async () => {
      const short = await startTestRoster({ ROSTER_PASSWORD_RESET_CODE_EXPIRY_SECONDS: "1" });
      const shortInspector = await openInspector(short.databaseUrl);
      try {
        const w = await createWorld(short);
        const res = await rest(short, "POST", `/v2/users/${w.ada.id}/password_reset`, { token: w.olga.token, body: { returnCode: {} } });
        assertOk(res);
        const stored = await shortInspector.code(w.ada.id, "password_reset");
        assert.equal(stored!.expiresAt.getTime() - stored!.createdAt.getTime(), 1000);
      } finally {
        await shortInspector.close();
        await short.close();
      }
    });
  });
});
