/**
 * The email and phone RPCs end to end (contract.md §7, §9.4, §9.5; codes.md; decisions 2, 4, 5,
 * 8, 9): REST through fetch at the exact routes with ETag and If-Match, and every RPC over every
 * protocol through independent client stacks, against a real Roster on a real database.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { deriveKeys } from "../src/config/keys.js";
import { open } from "../src/notify/sealed-payload.js";
import { allProtocols, connectJsonH1, grpcJsClient, show, type Outcome, type ProtocolClient } from "./support/clients.js";
import { assertOk, createWorld, newHuman, rest, type RestResponse, type World } from "./support/fixtures.js";
import { openInspector, type Inspector } from "./support/inspect.js";
import { startTestRoster, type TestRoster } from "./support/roster.js";

const GRPC = { INVALID_ARGUMENT: 3, NOT_FOUND: 5, PERMISSION_DENIED: 7, FAILED_PRECONDITION: 9 };
const UNKNOWN_USER = "399999999999999999";
const CODE_INVALID = { id: "COMMAND-eis9R", message: "Code is invalid" };
const USER_NOT_FOUND = { id: "COMMAND-ugjs0upun6", message: "User could not be found" };
const DENIED = { id: "AUTHZ-HKJD33", message: "No matching permissions found" };

let roster: TestRoster;
let inspector: Inspector;
let w: World;

before(async () => {
  roster = await startTestRoster();
  inspector = await openInspector(roster.databaseUrl);
  w = await createWorld(roster);
});

after(async () => {
  await inspector?.close();
  await roster?.close();
});

interface Fresh {
  id: string;
  token: string;
  email: string;
}

/** A new active human in Acme (email verified, no phone unless given), with its own token. */
async function freshUser(extra: Record<string, unknown> = {}): Promise<Fresh> {
  const body = newHuman({ organization: { orgId: w.acme }, ...extra }, "contact");
  const res = await rest(roster, "POST", "/v2/users/human", { token: roster.adminToken, body });
  assertOk(res);
  return { id: res.body.userId, token: await roster.tokenFor(res.body.userId), email: (body.email as { email: string }).email };
}

const sequenceOf = async (userId: string): Promise<number> => (await inspector.user(userId))!.sequence;

const openPayload = (sealed: Buffer) =>
  open(deriveKeys(Buffer.from(roster.env.ROSTER_MASTER_KEY!, "base64")).notificationAead, sealed) as { code: string; link?: string };

/** The plain code of the user's latest notification of that purpose. */
async function deliveredCode(userId: string, purpose: "email" | "phone"): Promise<{ code: string; link?: string; channel: string; recipient: string }> {
  const notes = (await inspector.notifications(userId)).filter((n) => n.purpose === purpose);
  const last = notes.at(-1);
  assert.ok(last, `a ${purpose} notification for ${userId}`);
  return { ...openPayload(last.encrypted_payload), channel: last.channel, recipient: last.recipient };
}

function assertRestError(res: RestResponse, status: number, code: number, id: string, message?: string): void {
  assert.equal(res.status, status, `expected HTTP ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
  assert.equal(res.body.code, code, JSON.stringify(res.body));
  assert.equal(res.body.details?.[0]?.id, id, JSON.stringify(res.body));
  if (message) assert.equal(res.body.message, `${message} (${id})`);
  assert.equal(res.headers.get("etag"), null, "error responses carry no ETag");
}

function assertRestOk(res: RestResponse, sequence: number): void {
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.details.sequence, String(sequence));
  assert.equal(res.headers.get("etag"), `"${sequence}"`);
}

const wrong = (code: string): string => (code === "AAAAAA" ? "BBBBBB" : "AAAAAA");

// ---------- REST at the exact routes ----------

const post = (path: string, token: string, body: unknown = {}, ifMatch?: string) =>
  rest(roster, "POST", path, { token, body, headers: ifMatch ? { "if-match": ifMatch } : {} });

describe("SetEmail and VerifyEmail over REST", () => {
  test("POST /v2/users/{id}/email with returnCode by a manager; POST …/email/verify by the user itself", async () => {
    const u = await freshUser();
    const seq = await sequenceOf(u.id);
    const set = await post(`/v2/users/${u.id}/email`, w.olga.token, { email: "new@acme.example", returnCode: {} }, `"${seq}"`);
    assertRestOk(set, seq + 2);
    assert.match(set.body.verificationCode, /^[A-Z0-9]{6}$/);
    assert.deepEqual((await inspector.notifications(u.id)).filter((n) => n.purpose === "email"), [], "a returned code is not sent");
    const events = (await inspector.events(u.id)).slice(-2);
    assert.deepEqual(events.map((e) => e.type), ["user.human.email.changed", "user.human.email.code.added"]);
    assert.deepEqual(events[0]!.payload.old, u.email);
    assert.deepEqual(events[0]!.payload.new, "new@acme.example");
    assert.equal(events[0]!.actorId, w.olga.id);
    assert.ok(!JSON.stringify(events).includes(set.body.verificationCode), "no code in events");

    let got = await rest(roster, "GET", `/v2/users/${u.id}`, { token: w.olga.token });
    assert.deepEqual(got.body.user.human.email, { email: "new@acme.example" });

    const verified = await post(`/v2/users/${u.id}/email/verify`, u.token, { verificationCode: set.body.verificationCode }, `"${seq + 2}"`);
    assertRestOk(verified, seq + 3);
    assert.deepEqual(Object.keys(verified.body), ["details"]);
    got = await rest(roster, "GET", `/v2/users/${u.id}`, { token: u.token });
    assert.deepEqual(got.body.user.human.email, { email: "new@acme.example", isVerified: true });
    assert.equal((await inspector.events(u.id)).at(-1)!.type, "user.human.email.verified");
    assert.equal(await inspector.code(u.id, "email"), undefined, "the code is used up");
    // used up: the same code again is refused and records nothing
    assertRestError(await post(`/v2/users/${u.id}/email/verify`, u.token, { verificationCode: set.body.verificationCode }), 400, GRPC.INVALID_ARGUMENT, "COMMAND-eis9R");
    assert.equal(await sequenceOf(u.id), seq + 3);
  });

  test("SetEmail by the user itself (sendCode with a template): mailed, sealed, and the mailed code verifies", async () => {
    const u = await freshUser();
    const template = "https://id.acme.example/verify?u={{.UserID}}&c={{.Code}}&o={{.OrgID}}";
    const set = await post(`/v2/users/${u.id}/email`, u.token, { email: "self@acme.example", sendCode: { urlTemplate: template } });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.equal(set.body.verificationCode, undefined);
    const mail = await deliveredCode(u.id, "email");
    assert.deepEqual([mail.channel, mail.recipient], ["email", "self@acme.example"]);
    assert.equal(mail.link, `https://id.acme.example/verify?u=${u.id}&c=${mail.code}&o=${w.acme}`);
    assert.equal((await inspector.code(u.id, "email"))?.delivery, "sent");
    assert.equal((await post(`/v2/users/${u.id}/email/verify`, u.token, { verificationCode: mail.code })).status, 200);
  });

  test("SetEmail errors: unknown user, the same address, return_code or is_verified by the user itself, stranger, stale If-Match", async () => {
    const u = await freshUser();
    const seq = await sequenceOf(u.id);
    assertRestError(await post(`/v2/users/${UNKNOWN_USER}/email`, w.olga.token, { email: "x@acme.example" }), 404, GRPC.NOT_FOUND, "COMMAND-ieJ2e", "Email not found");
    assertRestError(await post(`/v2/users/${u.id}/email`, u.token, { email: u.email }), 400, GRPC.FAILED_PRECONDITION, "COMMAND-Uch5e", "Email not changed");
    assertRestError(await post(`/v2/users/${u.id}/email`, u.token, { email: "x@acme.example", returnCode: {} }), 403, GRPC.PERMISSION_DENIED, "AUTHZ-HKJD33");
    assertRestError(await post(`/v2/users/${u.id}/email`, u.token, { email: "x@acme.example", isVerified: true }), 403, GRPC.PERMISSION_DENIED, "AUTHZ-HKJD33");
    assertRestError(await post(`/v2/users/${u.id}/email`, w.gus.token, { email: "x@acme.example" }), 403, GRPC.PERMISSION_DENIED, "AUTHZ-HKJD33");
    assertRestError(await post(`/v2/users/${u.id}/email`, w.olga.token, { email: "x@acme.example" }, `"${seq + 1}"`), 412, GRPC.FAILED_PRECONDITION, "ROSTER-seq01");
    assertRestError(await post(`/v2/users/${u.id}/email`, w.olga.token, { email: "Ada <x@acme.example>" }), 400, GRPC.INVALID_ARGUMENT, "EMAIL-599GV");
    assertRestError(await post(`/v2/users/${u.id}/email`, w.olga.token, { email: "x@acme.example", sendCode: { urlTemplate: "https://x/{{.Nope}}" } }), 400, GRPC.INVALID_ARGUMENT, "DOMAIN-ieYa7");
    assert.equal(await sequenceOf(u.id), seq, "nothing written");
  });

  test("field rules: an invalid address, is_verified false, an empty or too long code", async () => {
    const u = await freshUser();
    const invalid = await post(`/v2/users/${u.id}/email`, w.olga.token, { email: "not-an-address" });
    assert.equal(invalid.status, 400);
    assert.deepEqual(invalid.body, { code: 3, message: "invalid SetEmailRequest.Email: value must be a valid email address" });
    const notVerified = await post(`/v2/users/${u.id}/email`, w.olga.token, { email: "x@acme.example", isVerified: false });
    assert.deepEqual(notVerified.body, { code: 3, message: "invalid SetEmailRequest.IsVerified: value must equal true" });
    const empty = await post(`/v2/users/${u.id}/email/verify`, u.token, { verificationCode: "" });
    assert.deepEqual(empty.body, { code: 3, message: "invalid VerifyEmailRequest.VerificationCode: value length must be between 1 and 20 runes, inclusive" });
    const long = await post(`/v2/users/${u.id}/phone/verify`, u.token, { verificationCode: "A".repeat(21) });
    assert.deepEqual(long.body, { code: 3, message: "invalid VerifyPhoneRequest.VerificationCode: value length must be between 1 and 20 runes, inclusive" });
  });

  test("VerifyEmail: a stranger gets NOT_FOUND before the code is looked at; wrong codes are counted", async () => {
    const u = await freshUser();
    const send = await post(`/v2/users/${u.id}/email/send`, w.olga.token, { returnCode: {} });
    assert.equal(send.status, 200);
    const code: string = send.body.verificationCode;
    const seq = await sequenceOf(u.id);
    for (const stranger of [w.gus.token, w.bob.token]) {
      assertRestError(await post(`/v2/users/${u.id}/email/verify`, stranger, { verificationCode: wrong(code) }), 404, GRPC.NOT_FOUND, "COMMAND-ugjs0upun6", "User could not be found");
    }
    assert.equal((await inspector.code(u.id, "email"))?.failedAttempts, 0, "no attempt counted for strangers");
    assertRestError(await post(`/v2/users/${u.id}/email/verify`, u.token, { verificationCode: wrong(code) }, `"${seq - 1}"`), 412, GRPC.FAILED_PRECONDITION, "ROSTER-seq01");
    assert.equal(await sequenceOf(u.id), seq);

    assertRestError(await post(`/v2/users/${u.id}/email/verify`, u.token, { verificationCode: wrong(code) }), 400, GRPC.INVALID_ARGUMENT, "COMMAND-eis9R", "Code is invalid");
    assert.equal((await inspector.code(u.id, "email"))?.failedAttempts, 1);
    const failed = (await inspector.events(u.id)).at(-1)!;
    assert.equal(failed.type, "user.human.email.verification.failed");
    assert.equal(failed.actorId, u.id);
    assert.equal(await sequenceOf(u.id), seq + 1, "a failed attempt advances the sequence");
    // the failed attempt is committed although the request failed; the right code still works
    assertRestOk(await post(`/v2/users/${u.id}/email/verify`, u.token, { verificationCode: code }, `"${seq + 1}"`), seq + 2);
  });

  test("five wrong codes exhaust the code; then the right one fails too, with nothing recorded", async () => {
    const u = await freshUser();
    const code: string = (await post(`/v2/users/${u.id}/email/send`, w.olga.token, { returnCode: {} })).body.verificationCode;
    for (let i = 0; i < 5; i++) {
      assertRestError(await post(`/v2/users/${u.id}/email/verify`, u.token, { verificationCode: wrong(code) }), 400, GRPC.INVALID_ARGUMENT, "COMMAND-eis9R");
    }
    const seq = await sequenceOf(u.id);
    assertRestError(await post(`/v2/users/${u.id}/email/verify`, u.token, { verificationCode: code }), 400, GRPC.INVALID_ARGUMENT, "COMMAND-eis9R");
    assert.equal(await sequenceOf(u.id), seq);
    assert.equal((await inspector.code(u.id, "email"))?.failedAttempts, 5);
    // an exhausted code is still pending: ResendEmailCode replaces it
    const resent = await post(`/v2/users/${u.id}/email/resend`, w.olga.token, { returnCode: {} });
    assertRestOk(resent, seq + 1);
    assertRestOk(await post(`/v2/users/${u.id}/email/verify`, u.token, { verificationCode: resent.body.verificationCode }), seq + 2);
  });

  test("40 concurrent wrong guesses from parallel requests: exactly 5 attempts are counted", async () => {
    const u = await freshUser();
    const code: string = (await post(`/v2/users/${u.id}/email/send`, w.olga.token, { returnCode: {} })).body.verificationCode;
    const seq = await sequenceOf(u.id);
    const connect = connectJsonH1(roster.baseUrl);
    const guesses = Array.from({ length: 40 }, (_, i) => {
      const guess = wrong(code);
      return i % 2 === 0
        ? post(`/v2/users/${u.id}/email/verify`, u.token, { verificationCode: guess }).then((r) => r.body.details?.[0]?.id as string)
        : connect.call("VerifyEmail", { userId: u.id, verificationCode: guess }, { token: u.token }).then((o) => o.details[0]?.id);
    });
    const ids = await Promise.all(guesses);
    assert.deepEqual(new Set(ids), new Set(["COMMAND-eis9R"]));
    assert.equal((await inspector.code(u.id, "email"))?.failedAttempts, 5);
    const failed = (await inspector.events(u.id)).filter((e) => e.type === "user.human.email.verification.failed");
    assert.deepEqual(failed.map((e) => e.payload.failedAttempts), [1, 2, 3, 4, 5]);
    assert.equal(await sequenceOf(u.id), seq + 5);
    assertRestError(await post(`/v2/users/${u.id}/email/verify`, u.token, { verificationCode: code }), 400, GRPC.INVALID_ARGUMENT, "COMMAND-eis9R");
  });
});

describe("ResendEmailCode and SendEmailCode over REST", () => {
  test("Resend needs a pending code (EMAIL-5w5ilin4yt); Send does not; both mail by default", async () => {
    const u = await freshUser();
    const seq = await sequenceOf(u.id);
    assertRestError(await post(`/v2/users/${u.id}/email/resend`, u.token), 400, GRPC.FAILED_PRECONDITION, "EMAIL-5w5ilin4yt", "Code is empty");
    assertRestError(await post(`/v2/users/${u.id}/email/send`, u.token, { returnCode: {} }), 403, GRPC.PERMISSION_DENIED, "AUTHZ-HKJD33");
    assertRestError(await post(`/v2/users/${u.id}/email/send`, w.gus.token), 403, GRPC.PERMISSION_DENIED, "AUTHZ-HKJD33");
    assertRestError(await post(`/v2/users/${UNKNOWN_USER}/email/send`, w.olga.token), 404, GRPC.NOT_FOUND, "COMMAND-ieJ2e", "Email not found");
    assert.equal(await sequenceOf(u.id), seq);

    const sent = await post(`/v2/users/${u.id}/email/send`, u.token, {}, `"${seq}"`);
    assertRestOk(sent, seq + 1);
    assert.equal(sent.body.verificationCode, undefined);
    const first = await deliveredCode(u.id, "email");
    assert.deepEqual([first.channel, first.recipient], ["email", u.email]);

    const resent = await post(`/v2/users/${u.id}/email/resend`, u.token, { sendCode: {} }, `"${seq + 1}"`);
    assertRestOk(resent, seq + 2);
    const second = await deliveredCode(u.id, "email");
    assert.equal((await inspector.notifications(u.id)).filter((n) => n.purpose === "email").length, 2);
    if (second.code !== first.code) {
      assertRestError(await post(`/v2/users/${u.id}/email/verify`, u.token, { verificationCode: first.code }), 400, GRPC.INVALID_ARGUMENT, "COMMAND-eis9R");
    }
    assert.equal((await post(`/v2/users/${u.id}/email/verify`, u.token, { verificationCode: second.code })).status, 200);
  });
});

describe("phone RPCs over REST", () => {
  test("SetPhone normalises to E.164; the same number in another form → COMMAND-Uch5e; ResendPhoneCode; VerifyPhone", async () => {
    const u = await freshUser();
    const seq = await sequenceOf(u.id);
    assertRestError(await post(`/v2/users/${u.id}/phone`, w.olga.token, { phone: "abc" }), 400, GRPC.INVALID_ARGUMENT, "PHONE-so0wa", "Phone is invalid");
    assertRestError(await post(`/v2/users/${UNKNOWN_USER}/phone`, w.olga.token, { phone: "+41795550123" }), 404, GRPC.NOT_FOUND, "COMMAND-ieJ2e", "Phone not found");
    assertRestError(await post(`/v2/users/${u.id}/phone/resend`, u.token), 400, GRPC.FAILED_PRECONDITION, "PHONE-5xrra88eq8", "Code is empty");
    assertRestError(await post(`/v2/users/${u.id}/phone`, u.token, { phone: "079 555 01 23", isVerified: true }), 403, GRPC.PERMISSION_DENIED, "AUTHZ-HKJD33");

    const set = await post(`/v2/users/${u.id}/phone`, u.token, { phone: "079 555 01 23" }, `"${seq}"`);
    assertRestOk(set, seq + 2);
    assert.equal(set.body.verificationCode, undefined);
    const sms = await deliveredCode(u.id, "phone");
    assert.deepEqual([sms.channel, sms.recipient], ["sms", "+41795550123"]);
    const got = await rest(roster, "GET", `/v2/users/${u.id}`, { token: u.token });
    assert.deepEqual(got.body.user.human.phone, { phone: "+41795550123" });

    assertRestError(await post(`/v2/users/${u.id}/phone`, u.token, { phone: "+41 79 555 01 23" }), 400, GRPC.FAILED_PRECONDITION, "COMMAND-Uch5e", "Phone not changed");

    const resent = await post(`/v2/users/${u.id}/phone/resend`, w.olga.token, { returnCode: {} }, `"${seq + 2}"`);
    assertRestOk(resent, seq + 3);
    assert.match(resent.body.verificationCode, /^[A-Z0-9]{6}$/);
    assertRestError(await post(`/v2/users/${u.id}/phone/verify`, w.gus.token, { verificationCode: resent.body.verificationCode }), 404, GRPC.NOT_FOUND, "COMMAND-ugjs0upun6");
    assertRestError(await post(`/v2/users/${u.id}/phone/verify`, u.token, { verificationCode: wrong(resent.body.verificationCode) }), 400, GRPC.INVALID_ARGUMENT, "COMMAND-eis9R");
    assert.equal((await inspector.code(u.id, "phone"))?.failedAttempts, 1);
    assert.equal((await inspector.events(u.id)).at(-1)!.type, "user.human.phone.verification.failed");
    const verified = await post(`/v2/users/${u.id}/phone/verify`, u.token, { verificationCode: resent.body.verificationCode });
    assertRestOk(verified, seq + 5);
    const after = await rest(roster, "GET", `/v2/users/${u.id}`, { token: u.token });
    assert.deepEqual(after.body.user.human.phone, { phone: "+41795550123", isVerified: true });
    assert.equal(await inspector.code(u.id, "phone"), undefined);
  });

  test("DELETE /v2/users/{id}/phone: no self exemption; a manager removes it, with or without a body; then Phone not found", async () => {
    const u = await freshUser({ phone: { phone: "+41795550123", returnCode: {} } });
    assert.ok(await inspector.code(u.id, "phone"), "a pending phone code");
    const seq = await sequenceOf(u.id);
    assertRestError(await rest(roster, "DELETE", `/v2/users/${u.id}/phone`, { token: u.token, body: {} }), 403, GRPC.PERMISSION_DENIED, "AUTHZ-HKJD33");
    assertRestError(await rest(roster, "DELETE", `/v2/users/${u.id}/phone`, { token: w.olga.token, headers: { "if-match": `"${seq + 1}"` } }), 412, GRPC.FAILED_PRECONDITION, "ROSTER-seq01");
    assertRestError(await rest(roster, "DELETE", `/v2/users/${UNKNOWN_USER}/phone`, { token: w.olga.token }), 404, GRPC.NOT_FOUND, "COMMAND-ieJ2e", "Phone not found");
    assert.equal(await sequenceOf(u.id), seq);

    const removed = await rest(roster, "DELETE", `/v2/users/${u.id}/phone`, { token: w.olga.token, headers: { "if-match": `"${seq}"` } });
    assertRestOk(removed, seq + 1);
    const last = (await inspector.events(u.id)).at(-1)!;
    assert.equal(last.type, "user.human.phone.removed");
    assert.equal(last.payload.old, "+41795550123");
    assert.equal(last.payload.new, "");
    assert.equal(await inspector.code(u.id, "phone"), undefined, "the pending phone code is dropped");
    const got = await rest(roster, "GET", `/v2/users/${u.id}`, { token: u.token });
    assert.equal(got.body.user.human.phone?.phone ?? "", "");

    assertRestError(await rest(roster, "DELETE", `/v2/users/${u.id}/phone`, { token: w.olga.token, body: {} }), 404, GRPC.NOT_FOUND, "COMMAND-ieJ2e", "Phone not found");
    // with a body that names another user, the path wins (contract.md §7.1)
    const v = await freshUser({ phone: { phone: "+41795550124", isVerified: true } });
    const byBody = await rest(roster, "DELETE", `/v2/users/${v.id}/phone`, { token: w.olga.token, body: { userId: u.id } });
    assert.equal(byBody.status, 200, JSON.stringify(byBody.body));
    assert.equal((await inspector.user(v.id))!.phone, "");
  });
});

// ---------- every protocol ----------

function assertOutcomeOk(o: Outcome, what: string): string {
  assert.equal(o.code, 0, `${what}: ${show(o)}`);
  const sequence = (o.json as { details: { sequence: string } }).details.sequence;
  assert.equal(o.etag, `"${sequence}"`, `${what}: ETag`);
  return sequence;
}

function assertOutcomeError(o: Outcome, code: number, detail: { id: string; message: string }, what: string): void {
  assert.equal(o.code, code, `${what}: ${show(o)}`);
  assert.equal(o.message, `${detail.message} (${detail.id})`, what);
  assert.deepEqual(o.details, [detail], what);
  assert.equal(o.etag, null, `${what}: no ETag on errors`);
}

describe("every RPC over every protocol", () => {
  let protocols: ProtocolClient[];
  before(() => {
    protocols = allProtocols(roster.port, roster.baseUrl);
  });

  test("the email RPCs: SetEmail (returnCode) → VerifyEmail (wrong, right) → SendEmailCode → ResendEmailCode → VerifyEmail", async () => {
    for (const p of protocols) {
      const u = await freshUser();
      const what = (rpc: string) => `${p.name} ${rpc}`;
      const olga = { token: w.olga.token };
      const self = { token: u.token };

      const set = await p.call("SetEmail", { userId: u.id, email: `new-${u.email}`, verification: { case: "returnCode", value: {} } }, olga);
      assertOutcomeOk(set, what("SetEmail"));
      const code = (set.json as { verificationCode: string }).verificationCode;
      assert.match(code, /^[A-Z0-9]{6}$/, what("SetEmail"));

      assertOutcomeError(await p.call("VerifyEmail", { userId: u.id, verificationCode: wrong(code) }, { token: w.gus.token }), GRPC.NOT_FOUND, USER_NOT_FOUND, what("VerifyEmail stranger"));
      assertOutcomeError(await p.call("VerifyEmail", { userId: u.id, verificationCode: wrong(code) }, self), GRPC.INVALID_ARGUMENT, CODE_INVALID, what("VerifyEmail wrong"));
      assert.equal((await inspector.code(u.id, "email"))?.failedAttempts, 1, what("VerifyEmail wrong counted"));
      const verified = await p.call("VerifyEmail", { userId: u.id, verificationCode: code }, self);
      assertOutcomeOk(verified, what("VerifyEmail"));
      assert.equal((await inspector.user(u.id))!.emailVerified, true, what("VerifyEmail"));

      assertOutcomeError(await p.call("SendEmailCode", { userId: u.id, verification: { case: "returnCode", value: {} } }, self), GRPC.PERMISSION_DENIED, DENIED, what("SendEmailCode self returnCode"));
      const sent = await p.call("SendEmailCode", { userId: u.id, verification: { case: "returnCode", value: {} } }, olga);
      assertOutcomeOk(sent, what("SendEmailCode"));
      const resent = await p.call("ResendEmailCode", { userId: u.id, verification: { case: "returnCode", value: {} } }, olga);
      const seq = assertOutcomeOk(resent, what("ResendEmailCode"));
      const fresh = (resent.json as { verificationCode: string }).verificationCode;
      const last = await p.call("VerifyEmail", { userId: u.id, verificationCode: fresh }, { token: u.token, headers: { "if-match": `"${seq}"` } });
      assert.equal(assertOutcomeOk(last, what("VerifyEmail with if-match")), String(Number(seq) + 1));
      assert.deepEqual(
        (await inspector.events(u.id)).slice(-7).map((e) => e.type),
        [
          "user.human.email.changed",
          "user.human.email.code.added",
          "user.human.email.verification.failed",
          "user.human.email.verified",
          "user.human.email.code.added",
          "user.human.email.code.added",
          "user.human.email.verified",
        ],
        what("events"),
      );
    }
  });

  test("the phone RPCs: SetPhone (returnCode) → ResendPhoneCode → VerifyPhone → RemovePhone", async () => {
    for (const p of protocols) {
      const u = await freshUser();
      const what = (rpc: string) => `${p.name} ${rpc}`;
      const olga = { token: w.olga.token };

      assertOutcomeError(
        await p.call("SetPhone", { userId: u.id, phone: "+41795550123", verification: { case: "isVerified", value: true } }, { token: u.token }),
        GRPC.PERMISSION_DENIED,
        DENIED,
        what("SetPhone self isVerified"),
      );
      const set = await p.call("SetPhone", { userId: u.id, phone: "079 555 01 23", verification: { case: "returnCode", value: {} } }, olga);
      assertOutcomeOk(set, what("SetPhone"));
      assert.equal((await inspector.user(u.id))!.phone, "+41795550123", what("SetPhone E.164"));
      const resent = await p.call("ResendPhoneCode", { userId: u.id, verification: { case: "returnCode", value: {} } }, olga);
      assertOutcomeOk(resent, what("ResendPhoneCode"));
      const code = (resent.json as { verificationCode: string }).verificationCode;
      assertOutcomeError(await p.call("VerifyPhone", { userId: u.id, verificationCode: wrong(code) }, { token: u.token }), GRPC.INVALID_ARGUMENT, CODE_INVALID, what("VerifyPhone wrong"));
      assertOutcomeOk(await p.call("VerifyPhone", { userId: u.id, verificationCode: code }, { token: u.token }), what("VerifyPhone"));
      assert.equal((await inspector.user(u.id))!.phoneVerified, true, what("VerifyPhone"));

      assertOutcomeError(await p.call("RemovePhone", { userId: u.id }, { token: u.token }), GRPC.PERMISSION_DENIED, DENIED, what("RemovePhone self"));
      assertOutcomeOk(await p.call("RemovePhone", { userId: u.id }, olga), what("RemovePhone"));
      assertOutcomeError(
        await p.call("RemovePhone", { userId: u.id }, olga),
        GRPC.NOT_FOUND,
        { id: "COMMAND-ieJ2e", message: "Phone not found" },
        what("RemovePhone again"),
      );
      assert.deepEqual(
        (await inspector.events(u.id)).slice(-6).map((e) => e.type),
        [
          "user.human.phone.changed",
          "user.human.phone.code.added",
          "user.human.phone.code.added",
          "user.human.phone.verification.failed",
          "user.human.phone.verified",
          "user.human.phone.removed",
        ],
        what("events"),
      );
    }
  });

  test("gRPC (grpc-js, ZITADEL's descriptors): stale if-match → FAILED_PRECONDITION ROSTER-seq01, nothing written", async () => {
    const u = await freshUser();
    const seq = await sequenceOf(u.id);
    const grpcJs = grpcJsClient(roster.port);
    const o = await grpcJs.call(
      "SetEmail",
      { userId: u.id, email: "stale@acme.example", verification: { case: "returnCode", value: {} } },
      { token: w.olga.token, headers: { "if-match": `"${seq + 3}"` } },
    );
    assertOutcomeError(o, GRPC.FAILED_PRECONDITION, { id: "ROSTER-seq01", message: "User has been changed since the given sequence" }, "grpc-js SetEmail");
    assert.equal(await sequenceOf(u.id), seq);
  });
});
