/**
 * Delivery of codes (codes.md §6–§7) end to end: a real Roster sends the outbox to a real SMTP
 * server (STARTTLS, AUTH) and a real HTTP SMS webhook on loopback, and the codes it mails work.
 * Retries, permanent rejections, discarded notifications and a stalled provider, as a client and
 * the providers see them.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { outboxCounts } from "../src/store/notification-outbox.js";
import { assertOk, createWorld, newHuman, rest, uniq, type World } from "./support/fixtures.js";
import { openInspector, type Inspector } from "./support/inspect.js";
import { waitFor } from "./support/process.js";
import { startTestRoster, type TestRoster } from "./support/roster.js";
import { startSmtpPeer, type SmtpPeer } from "./support/smtp-peer.js";
import { startWebhookPeer, type WebhookPeer } from "./support/webhook-peer.js";

const MAX_ATTEMPTS = 3;
const NEW_PASSWORD = "Delivered-Pass1!";

let smtp: SmtpPeer;
let webhook: WebhookPeer;
let roster: TestRoster;
let inspector: Inspector;
let w: World;

before(async () => {
  smtp = await startSmtpPeer();
  webhook = await startWebhookPeer();
  // an operator's override: a French subject only (the French body falls back to English)
  const overrides = mkdtempSync(path.join(tmpdir(), "roster-templates-"));
  writeFileSync(path.join(overrides, "email-verification.fr.subject.txt"), "Vérifiez votre adresse, {{displayName}}\n");
  roster = await startTestRoster({
    ROSTER_SMTP_URL: smtp.url,
    ROSTER_SMTP_USER: smtp.user,
    ROSTER_SMTP_PASSWORD: smtp.password,
    ROSTER_SMTP_FROM: "Roster <no-reply@roster.test>",
    ROSTER_SMTP_CA_FILE: smtp.caFile,
    ROSTER_SMS_WEBHOOK_URL: webhook.url,
    ROSTER_SMS_WEBHOOK_SECRET: webhook.secret,
    ROSTER_TEMPLATES_DIR: overrides,
    ROSTER_DELIVERY_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    ROSTER_DELIVERY_BACKOFF_BASE_MS: "50",
    ROSTER_DELIVERY_BACKOFF_MAX_MS: "200",
  });
  inspector = await openInspector(roster.databaseUrl);
  w = await createWorld(roster);
});

after(async () => {
  await inspector?.close();
  await roster?.close();
  await smtp?.close();
  await webhook?.close();
});

interface Fresh {
  id: string;
  token: string;
  email: string;
}

async function freshUser(profile: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<Fresh> {
  const body = newHuman({ organization: { orgId: w.acme }, profile: { givenName: "Grace", familyName: "Hopper", ...profile }, ...extra }, "mail");
  const res = await rest(roster, "POST", "/v2/users/human", { token: roster.adminToken, body });
  assertOk(res);
  return { id: res.body.userId, token: await roster.tokenFor(res.body.userId), email: (body.email as { email: string }).email };
}

const newAddress = () => `deliver-${uniq()}@example.com`;
const newPhone = () => `+4179${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`;

async function rows(userId: string) {
  return inspector.db.selectFrom("notifications").selectAll().where("user_id", "=", userId).orderBy("id").execute();
}

async function settled(userId: string, purpose: string): Promise<Awaited<ReturnType<typeof rows>>[number]> {
  let last: Awaited<ReturnType<typeof rows>>[number] | undefined;
  await waitFor(async () => {
    last = (await rows(userId)).filter((r) => r.purpose === purpose).at(-1);
    return last !== undefined && ["sent", "failed", "discarded"].includes(last.status);
  }, `the ${purpose} notification of ${userId} to settle`, 30_000);
  return last!;
}

function codeIn(text: string): string {
  const m = /(?:code|Code ein): ([A-Z0-9]{6,20})\b/.exec(text);
  assert.ok(m, `a code in ${JSON.stringify(text)}`);
  return m[1]!;
}

describe("email over SMTP", () => {
  test("PUT /v2/users/human/{id} with sendCode: a mail over STARTTLS with AUTH, with a working link and code", async () => {
    const u = await freshUser({ displayName: "Ada Lovelace" });
    const to = newAddress();
    const template = "https://id.acme.example/verify?user={{.UserID}}&code={{.Code}}&org={{.OrgID}}";
    const res = await rest(roster, "PUT", `/v2/users/human/${u.id}`, {
      token: roster.adminToken,
      body: { email: { email: to, sendCode: { urlTemplate: template } } },
    });
    assertOk(res);
    assert.equal(res.body.emailCode, undefined, "a sent code is not in the response");

    const mail = await smtp.mailTo(to);
    assert.equal(mail.secure, true, "the session was upgraded with STARTTLS");
    assert.equal(mail.user, smtp.user, "the session authenticated");
    assert.equal(mail.from, "no-reply@roster.test");
    assert.equal(mail.subject, "Verify your email address");
    assert.match(mail.text, /^Hello Ada Lovelace,/);
    assert.match(mail.text, /valid for 60 minutes/, "the configured expiry, in minutes");
    const code = codeIn(mail.text);
    const link = `https://id.acme.example/verify?user=${u.id}&code=${code}&org=${w.acme}`;
    assert.ok(mail.text.includes(link), mail.text);
    assert.ok(mail.html.includes(`href="${link.replaceAll("&", "&amp;")}"`), mail.html);
    assert.ok(mail.html.includes(code));

    // the link carries the code, and the code verifies the address
    assert.equal(new URL(link).searchParams.get("code"), code);
    const verified = await rest(roster, "POST", `/v2/users/${u.id}/email/verify`, { token: u.token, body: { verificationCode: code } });
    assert.equal(verified.status, 200, JSON.stringify(verified.body));

    const row = await settled(u.id, "email");
    assert.equal(row.status, "sent");
    assert.equal(row.attempts, 1);
    assert.equal(row.encrypted_payload, null, "the sealed code is gone once the provider accepted");
    assert.ok(row.sent_at);
    assert.equal(smtp.dataAttemptsFor(to), 1);
  });

  test("without a template the configured default link is used", async () => {
    const u = await freshUser();
    const to = newAddress();
    assertOk(await rest(roster, "POST", `/v2/users/${u.id}/email`, { token: u.token, body: { email: to, sendCode: {} } }));
    const mail = await smtp.mailTo(to);
    const code = codeIn(mail.text);
    // ROSTER_PUBLIC_URL is unset: the default template points at http://localhost:<PORT or 8080>
    const link = `http://localhost:8080/ui/verify-email?userID=${u.id}&code=${code}&orgID=${w.acme}`;
    assert.ok(mail.text.includes(link), `${link} in ${mail.text}`);
  });

  test("the language follows preferredLanguage: German, an operator's French subject, English for the rest; HTML escapes the name", async () => {
    const cases = [
      { language: "de-CH", subject: "Bestätigen Sie Ihre E-Mail-Adresse", greeting: "Hallo" },
      { language: "fr", subject: "Vérifiez votre adresse, Ada <b>&</b>", greeting: "Hello" },
      { language: "it", subject: "Verify your email address", greeting: "Hello" },
    ];
    for (const c of cases) {
      const to = newAddress();
      const u = await freshUser(
        { displayName: "Ada <b>&</b>", preferredLanguage: c.language },
        { email: { email: to, sendCode: {} } },
      );
      const mail = await smtp.mailTo(to);
      assert.equal(mail.subject, c.subject, c.language);
      assert.ok(mail.text.startsWith(`${c.greeting} Ada <b>&</b>,`), mail.text);
      assert.ok(mail.html.includes(`${c.greeting} Ada &lt;b&gt;&amp;&lt;/b&gt;,`), mail.html);
      assert.ok(!mail.html.includes("<b>&</b>"), "the name is not markup");
      assertOk(await rest(roster, "POST", `/v2/users/${u.id}/email/verify`, { token: u.token, body: { verificationCode: codeIn(mail.text) } }));
    }
  });

  test("password reset by email: the mailed link and code set a new password", async () => {
    const u = await freshUser({ preferredLanguage: "de" });
    const template = "https://id.acme.example/reset?user={{.UserID}}&code={{.Code}}";
    assertOk(
      await rest(roster, "POST", `/v2/users/${u.id}/password_reset`, {
        token: u.token,
        body: { sendLink: { notificationType: "NOTIFICATION_TYPE_Email", urlTemplate: template } },
      }),
    );
    const mail = await smtp.mailTo(u.email);
    assert.equal(mail.subject, "Passwort zurücksetzen");
    const code = codeIn(mail.text);
    assert.ok(mail.text.includes(`https://id.acme.example/reset?user=${u.id}&code=${code}`), mail.text);
    const set = await rest(roster, "POST", `/v2/users/${u.id}/password`, {
      token: u.token,
      body: { newPassword: { password: NEW_PASSWORD }, verificationCode: code },
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
  });

  test("provider down: retried with backoff, then delivered once it answers again", async () => {
    const u = await freshUser();
    const to = newAddress();
    smtp.scriptFor(to, ["tempfail", "tempfail"]);
    assertOk(await rest(roster, "POST", `/v2/users/${u.id}/email`, { token: u.token, body: { email: to, sendCode: {} } }));
    const mail = await smtp.mailTo(to);
    assert.equal(smtp.dataAttemptsFor(to), 3);
    const row = await settled(u.id, "email");
    assert.equal(row.status, "sent");
    assert.equal(row.attempts, 3);
    assertOk(await rest(roster, "POST", `/v2/users/${u.id}/email/verify`, { token: u.token, body: { verificationCode: codeIn(mail.text) } }));
  });

  test("still down after the last attempt: failed with the provider's last answer, nothing secret in it", async () => {
    const u = await freshUser();
    const to = newAddress();
    smtp.scriptFor(to, Array(10).fill("tempfail"));
    assertOk(await rest(roster, "POST", `/v2/users/${u.id}/email`, { token: u.token, body: { email: to, sendCode: {} } }));
    const row = await settled(u.id, "email");
    assert.equal(row.status, "failed");
    assert.equal(row.attempts, MAX_ATTEMPTS);
    assert.equal(smtp.dataAttemptsFor(to), MAX_ATTEMPTS);
    assert.match(row.last_error ?? "", /451/);
    assert.equal(row.encrypted_payload, null);
    assert.equal(smtp.mails.filter((m) => m.to === to).length, 0);
  });

  test("permanent rejection (5xx): failed at once, not retried; the answer is kept without the address", async () => {
    const u = await freshUser();
    const to = newAddress();
    smtp.scriptFor(to, ["reject", "accept"]);
    assertOk(await rest(roster, "POST", `/v2/users/${u.id}/email`, { token: u.token, body: { email: to, sendCode: {} } }));
    const row = await settled(u.id, "email");
    assert.equal(row.status, "failed");
    assert.equal(row.attempts, 1);
    assert.match(row.last_error ?? "", /^550 /);
    assert.ok(!(row.last_error ?? "").includes(to), row.last_error ?? "");
    // a later mail to another user goes through; the rejected one was never tried again
    const other = await freshUser();
    const otherTo = newAddress();
    assertOk(await rest(roster, "POST", `/v2/users/${other.id}/email`, { token: other.token, body: { email: otherTo, sendCode: {} } }));
    await smtp.mailTo(otherTo);
    assert.equal(smtp.dataAttemptsFor(to), 1);
    assert.equal((await rows(u.id)).filter((r) => r.purpose === "email").at(-1)?.status, "failed");
  });

  test("a code replaced before its mail went out is discarded, not sent; only the new code arrives", async () => {
    const u = await freshUser();
    const to = newAddress();
    smtp.scriptFor(to, ["stall"]); // the first message hangs in DATA
    assertOk(await rest(roster, "POST", `/v2/users/${u.id}/email`, { token: u.token, body: { email: to, sendCode: {} } }));
    await waitFor(() => smtp.stalled() === 1, "the first mail to stall");
    assertOk(await rest(roster, "POST", `/v2/users/${u.id}/email/resend`, { token: u.token, body: { sendCode: {} } }));
    const mail = await smtp.mailTo(to);
    smtp.releaseStalled(); // 451 → retried → its code is no longer the user's: discarded
    await waitFor(async () => (await rows(u.id)).filter((r) => r.purpose === "email").every((r) => r.status !== "pending" && r.status !== "sending"), "both notifications to settle");
    const statuses = (await rows(u.id)).filter((r) => r.purpose === "email").map((r) => r.status);
    assert.deepEqual(statuses, ["discarded", "sent"]);
    assert.equal(smtp.mails.filter((m) => m.to === to).length, 1);
    assertOk(await rest(roster, "POST", `/v2/users/${u.id}/email/verify`, { token: u.token, body: { verificationCode: codeIn(mail.text) } }));
  });

  test("the API answers while the SMTP server stalls: requests never wait for delivery", async () => {
    smtp.setBehaviour("stall");
    try {
      const users = await Promise.all(Array.from({ length: 24 }, () => freshUser()));
      const addresses = users.map(() => newAddress());
      const before = smtp.mails.length;
      const answers = await Promise.all(
        users.map((u, i) => rest(roster, "POST", `/v2/users/${u.id}/email`, { token: u.token, body: { email: addresses[i], sendCode: {} } })),
      );
      for (const a of answers) assertOk(a);
      // every request got its answer while no message had been accepted
      await waitFor(() => smtp.stalled() > 0, "messages held by the stalled server");
      assert.equal(smtp.mails.length, before);
      const states = (await Promise.all(users.map((u) => rows(u.id)))).map((r) => r.filter((n) => n.purpose === "email").at(-1)?.status);
      assert.ok(states.every((s) => s === "pending" || s === "sending"), JSON.stringify(states));
      smtp.setBehaviour("accept");
      smtp.releaseStalled();
      await Promise.all(addresses.map((a) => smtp.mailTo(a)));
    } finally {
      smtp.setBehaviour("accept");
      smtp.releaseStalled();
    }
  });
});

describe("SMS over the HTTP webhook", () => {
  test("phone verification: a signed JSON POST with recipient, purpose, message and code; the code verifies", async () => {
    const u = await freshUser({ preferredLanguage: "de" });
    const phone = newPhone();
    assertOk(await rest(roster, "POST", `/v2/users/${u.id}/phone`, { token: u.token, body: { phone, sendCode: {} } }));
    const req = await webhook.waitFor((r) => r.body.recipient === phone, "the SMS");
    assert.equal(req.signatureValid, true, `signature ${String(req.headers["x-roster-signature"])}`);
    assert.equal(req.headers["content-type"], "application/json");
    assert.equal(req.body.purpose, "phone_verification");
    assert.equal(req.body.userId, u.id);
    assert.equal(req.body.language, "de");
    assert.match(req.body.code, /^[A-Z0-9]{6}$/);
    assert.match(req.body.message, new RegExp(`^Ihr Bestätigungscode: ${req.body.code} \\(\\d+ Minuten gültig\\)\\.$`));
    const verified = await rest(roster, "POST", `/v2/users/${u.id}/phone/verify`, { token: u.token, body: { verificationCode: req.body.code } });
    assert.equal(verified.status, 200, JSON.stringify(verified.body));
    assert.equal((await settled(u.id, "phone")).status, "sent");
  });

  test("password reset by SMS: the code sets a new password", async () => {
    const phone = newPhone();
    const u = await freshUser({}, { phone: { phone, isVerified: true } });
    assertOk(await rest(roster, "POST", `/v2/users/${u.id}/password_reset`, { token: u.token, body: { sendLink: { notificationType: "NOTIFICATION_TYPE_SMS" } } }));
    const req = await webhook.waitFor((r) => r.body.recipient === phone && r.body.purpose === "password_reset", "the reset SMS");
    assert.equal(req.signatureValid, true);
    assert.ok(req.body.message.includes(req.body.code));
    const set = await rest(roster, "POST", `/v2/users/${u.id}/password`, {
      token: u.token,
      body: { newPassword: { password: NEW_PASSWORD }, verificationCode: req.body.code },
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
  });

  test("gateway down (503): retried with the same id, then delivered", async () => {
    const u = await freshUser();
    const phone = newPhone();
    webhook.scriptFor(phone, [503, 503]);
    assertOk(await rest(roster, "POST", `/v2/users/${u.id}/phone`, { token: u.token, body: { phone, sendCode: {} } }));
    await webhook.waitFor((r) => r.body.recipient === phone && r.answered === 200, "the delivered SMS");
    const tries = webhook.requests.filter((r) => r.body.recipient === phone);
    assert.deepEqual(tries.map((r) => r.answered), [503, 503, 200]);
    assert.equal(new Set(tries.map((r) => r.body.id)).size, 1, "one notification id for every try");
    assert.equal((await settled(u.id, "phone")).attempts, 3);
  });

  test("gateway rejects (400): failed at once, not retried", async () => {
    const u = await freshUser();
    const phone = newPhone();
    webhook.scriptFor(phone, [400]);
    assertOk(await rest(roster, "POST", `/v2/users/${u.id}/phone`, { token: u.token, body: { phone, sendCode: {} } }));
    const row = await settled(u.id, "phone");
    assert.equal(row.status, "failed");
    assert.equal(row.attempts, 1);
    assert.match(row.last_error ?? "", /^HTTP 400/);
    assert.ok(!(row.last_error ?? "").includes(phone));
    assert.equal(webhook.requests.filter((r) => r.body.recipient === phone).length, 1);
  });
});

test("counts by state cover the whole outbox", async () => {
  const counts = await outboxCounts(inspector.db);
  const total = await inspector.db.selectFrom("notifications").select((eb) => eb.fn.countAll<string>().as("n")).executeTakeFirstOrThrow();
  assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), Number(total.n));
  assert.ok(counts.sent > 0 && counts.failed > 0 && counts.discarded > 0, JSON.stringify(counts));
});
