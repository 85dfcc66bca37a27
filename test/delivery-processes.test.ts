/**
 * Delivery across Roster processes on one database, run as an operator runs them (child
 * processes): a process without a provider leaves codes pending and says so once; two processes
 * deliver 500 codes with no duplicate and no loss; a process killed (SIGKILL) in the middle of a
 * send loses nothing, because the notification is sent after its lease expired; a graceful stop
 * gives back what it could not finish; and nothing secret ever reaches a log line.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { rest, uniq } from "./support/fixtures.js";
import { openInspector, type Inspector } from "./support/inspect.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { baseEnv, killLeftovers, startRosterProcess, waitFor, type RosterProcess } from "./support/process.js";
import { startSmtpPeer, type SmtpPeer } from "./support/smtp-peer.js";
import { startWebhookPeer, type WebhookPeer } from "./support/webhook-peer.js";

const MASTER_KEY = Buffer.alloc(32, 11).toString("base64");

let smtp: SmtpPeer;
let webhook: WebhookPeer;
let database: TestDatabase;
let inspector: Inspector;
let dataDir: string;
let adminToken: string;
const processes: RosterProcess[] = [];
/** Every code, link and full recipient seen by the peers: none may appear in any process output. */
const secrets = new Set<string>();

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...baseEnv(dataDir),
    DATABASE_URL: database.url,
    ROSTER_MASTER_KEY: MASTER_KEY,
    ROSTER_DELIVERY_LEASE_SECONDS: "3",
    ROSTER_DELIVERY_SEND_TIMEOUT_SECONDS: "2",
    ROSTER_DELIVERY_BACKOFF_BASE_MS: "50",
    ROSTER_DELIVERY_BACKOFF_MAX_MS: "200",
    ROSTER_DELIVERY_POLL_SECONDS: "1",
    ...extra,
  };
}

function deliveringEnv(extra: Record<string, string> = {}): Record<string, string> {
  return env({
    ROSTER_SMTP_URL: smtp.url,
    ROSTER_SMTP_USER: smtp.user,
    ROSTER_SMTP_PASSWORD: smtp.password,
    ROSTER_SMTP_FROM: "Roster <no-reply@roster.test>",
    ROSTER_SMTP_CA_FILE: smtp.caFile,
    ROSTER_SMS_WEBHOOK_URL: webhook.url,
    ROSTER_SMS_WEBHOOK_SECRET: webhook.secret,
    ...extra,
  });
}

async function start(e: Record<string, string>): Promise<RosterProcess> {
  const p = await startRosterProcess(e);
  processes.push(p);
  return p;
}

before(async () => {
  smtp = await startSmtpPeer();
  webhook = await startWebhookPeer();
  database = await createTestDatabase();
  dataDir = await mkdtemp(path.join(tmpdir(), "roster-delivery-"));
});

after(async () => {
  await killLeftovers();
  await inspector?.close();
  await database?.drop();
  await smtp?.close();
  await webhook?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const address = (tag: string) => `${tag}-${uniq()}@example.com`;

async function addUserWithMail(via: RosterProcess, email: string): Promise<string> {
  const res = await rest(via, "POST", "/v2/users/human", {
    token: adminToken,
    body: { username: `p-${uniq()}`, profile: { givenName: "Pat", familyName: "Process" }, email: { email, sendCode: {} } },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.userId as string;
}

async function statusOf(userId: string): Promise<{ status: string; attempts: number; claimed_by: string | null } | undefined> {
  return inspector.db
    .selectFrom("notifications")
    .select(["status", "attempts", "claimed_by"])
    .where("user_id", "=", userId)
    .orderBy("id", "desc")
    .executeTakeFirst();
}

function deliveryLines(p: RosterProcess) {
  return p.logs.filter((l) => l.msg === "notification delivery" || l.msg.startsWith("notification delivery:"));
}

function remember(mailTo: string): void {
  for (const m of smtp.mails.filter((x) => x.to === mailTo)) {
    secrets.add(m.to);
    const code = /code: ([A-Z0-9]{6,20})/.exec(m.text)?.[1];
    if (code) secrets.add(code);
    for (const link of m.text.match(/https?:\/\/\S+/g) ?? []) secrets.add(link);
  }
}

test("without a provider, codes stay pending (one warning at start); a process with one delivers them when it starts", async () => {
  const bare = await start(env());
  adminToken = (await readFile(path.join(dataDir, "admin.pat"), "utf8")).trim();
  inspector = await openInspector(database.url);
  const warnings = bare.logs.filter((l) => l.level === 40 && /email delivery is not configured/.test(l.msg));
  assert.equal(warnings.length, 1, JSON.stringify(bare.logs.map((l) => l.msg)));
  assert.equal(bare.logs.filter((l) => /SMS delivery is not configured/.test(l.msg)).length, 1);

  const to = address("waiting");
  const userId = await addUserWithMail(bare, to);
  assert.equal((await statusOf(userId))?.status, "pending");
  await bare.stop();
  assert.equal((await statusOf(userId))?.status, "pending", "nothing tried to send it");

  const a = await start(deliveringEnv());
  await smtp.mailTo(to);
  await waitFor(async () => (await statusOf(userId))?.status === "sent", "the waiting mail to be recorded as sent");
  remember(to);
  await a.stop();
});

test("ROSTER_DELIVERY=off: an API-only process serves and sends nothing, though a provider is configured; another process sends", async () => {
  const apiOnly = await start(deliveringEnv({ ROSTER_DELIVERY: "off" }));
  assert.ok(apiOnly.logs.some((l) => /delivery is off in this process \(ROSTER_DELIVERY=off\)/.test(l.msg)));
  const to = address("api-only");
  const userId = await addUserWithMail(apiOnly, to);
  // a delivering process would have claimed it within one poll interval (1 s) or at once on NOTIFY
  await new Promise((r) => setTimeout(r, 3_000));
  assert.deepEqual(await statusOf(userId), { status: "pending", attempts: 0, claimed_by: null }, "never claimed");
  assert.equal(smtp.mails.filter((m) => m.to === to).length, 0);

  const sender = await start(deliveringEnv());
  await smtp.mailTo(to);
  await waitFor(async () => (await statusOf(userId))?.status === "sent", "the API-only process's code to be sent by the other");
  remember(to);
  await sender.stop();
  await apiOnly.stop();
});

test("two processes on one database deliver 500 codes: each exactly once, none lost", async () => {
  const a = await start(deliveringEnv());
  const b = await start(deliveringEnv());
  const tag = `bulk${uniq()}`;
  const addresses = Array.from({ length: 500 }, () => address(tag));
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async (_, worker) => {
      while (next < addresses.length) {
        const i = next++;
        ids[i] = await addUserWithMail(worker % 2 === 0 ? a : b, addresses[i]!);
      }
    }),
  );
  const ours = () => smtp.mails.filter((m) => m.to.startsWith(`${tag}-`));
  await waitFor(() => ours().length >= 500, "500 mails", 120_000);
  await waitFor(
    async () => {
      const rows = await inspector.db.selectFrom("notifications").select("status").where("user_id", "in", ids).execute();
      return rows.length === 500 && rows.every((r) => r.status === "sent");
    },
    "all 500 notifications recorded as sent",
    60_000,
  );
  const mails = ours();
  assert.equal(mails.length, 500, "no duplicate");
  assert.equal(new Set(mails.map((m) => m.to)).size, 500, "every address got its mail");
  const codes = mails.map((m) => /code: ([A-Z0-9]{6})/.exec(m.text)?.[1]);
  assert.equal(new Set(codes).size, 500);
  // both processes took part, each through its own claims
  const sentBy = (p: RosterProcess) => deliveryLines(p).filter((l) => l.outcome === "sent" && String(l.recipient).includes(`@example.com`)).length;
  assert.ok(sentBy(a) > 0 && sentBy(b) > 0, `a sent ${sentBy(a)}, b sent ${sentBy(b)}`);
  assert.equal(deliveryLines(a).filter((l) => l.outcome === "sent").length + deliveryLines(b).filter((l) => l.outcome === "sent").length >= 500, true);
  for (const m of mails.slice(0, 20)) remember(m.to);
  await Promise.all([a.stop(), b.stop()]);
});

test("a process killed (SIGKILL) in the middle of a send: the mail is delivered after the restart, once", async () => {
  const a = await start(deliveringEnv());
  const to = address("killed");
  smtp.scriptFor(to, ["stall"]);
  const userId = await addUserWithMail(a, to);
  await waitFor(() => smtp.dataAttemptsFor(to) === 1, "the send to reach DATA");
  assert.equal((await statusOf(userId))?.status, "sending");
  assert.equal(await a.stop("SIGKILL"), "SIGKILL");

  const restarted = await start(deliveringEnv());
  await smtp.mailTo(to, 30_000);
  await waitFor(async () => (await statusOf(userId))?.status === "sent", "the mail to be recorded as sent");
  const row = await statusOf(userId);
  assert.equal(row?.attempts, 2, "the killed attempt and the one after the lease expired");
  assert.equal(smtp.mails.filter((m) => m.to === to).length, 1);
  remember(to);
  await restarted.stop();
});

test("a graceful stop during a stalled send gives the claim back; the next process sends it", async () => {
  const a = await start(deliveringEnv({ ROSTER_SHUTDOWN_GRACE_SECONDS: "1", ROSTER_DELIVERY_SEND_TIMEOUT_SECONDS: "30", ROSTER_DELIVERY_LEASE_SECONDS: "120" }));
  const to = address("drained");
  smtp.scriptFor(to, ["stall"]);
  const userId = await addUserWithMail(a, to);
  await waitFor(() => smtp.dataAttemptsFor(to) === 1, "the send to reach DATA");
  assert.equal(await a.stop("SIGTERM"), 0);
  const row = await statusOf(userId);
  assert.equal(row?.status, "pending", "given back, not left under a lease of 120 s");
  assert.equal(row?.attempts, 0, "the unfinished try does not count");
  assert.ok(deliveryLines(a).length === 0 || deliveryLines(a).every((l) => l.outcome !== "sent"));
  assert.ok(a.logs.some((l) => /given back to the outbox/.test(l.msg)));

  const b = await start(deliveringEnv());
  await smtp.mailTo(to);
  await waitFor(async () => (await statusOf(userId))?.status === "sent", "the mail to be recorded as sent");
  remember(to);
  await b.stop();
});

test("log lines: one per attempt with channel, purpose, user, outcome and provider status; never a code, link, address or credential", async () => {
  const a = await start(deliveringEnv());
  const rejected = address("rejected");
  smtp.scriptFor(rejected, ["tempfail", "reject"]);
  const rejectedUser = await addUserWithMail(a, rejected);
  await waitFor(async () => (await statusOf(rejectedUser))?.status === "failed", "the rejected mail to fail");

  const phone = `+4179${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`;
  const res = await rest(a, "POST", "/v2/users/human", {
    token: adminToken,
    body: { username: `sms-${uniq()}`, profile: { givenName: "Sam", familyName: "Sms" }, email: { email: address("sms"), isVerified: true }, phone: { phone, sendCode: {} } },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const sms = await webhook.waitFor((r) => r.body.recipient === phone && r.answered === 200, "the SMS");
  secrets.add(phone).add(sms.body.code).add(sms.body.message).add(rejected);
  await waitFor(() => deliveryLines(a).some((l) => l.channel === "sms" && l.outcome === "sent"), "the SMS log line");
  await a.stop();

  const lines = deliveryLines(a).filter((l) => l.userId === rejectedUser);
  assert.deepEqual(lines.map((l) => l.outcome), ["retry", "failed"]);
  for (const l of lines) {
    assert.equal(l.channel, "email");
    assert.equal(l.purpose, "email");
    assert.equal(typeof l.providerStatus, "string");
    assert.match(String(l.recipient), /^r\*\*\*@example\.com$/);
  }
  assert.match(String(lines[1]!.providerStatus), /^550 /);
  const smsLine = deliveryLines(a).find((l) => l.channel === "sms" && l.outcome === "sent")!;
  assert.equal(smsLine.purpose, "phone");
  assert.match(String(smsLine.providerStatus), /^HTTP 200/);

  for (const s of [smtp.password, webhook.secret, MASTER_KEY, adminToken]) secrets.add(s);
  assert.ok(secrets.size > 10, `collected ${secrets.size} secrets`);
  for (const p of processes) {
    const out = p.output();
    assert.ok(out.length > 0);
    for (const s of secrets) assert.ok(!out.includes(s), `process ${p.pid} logged a secret (${s.length} chars)`);
  }
});
