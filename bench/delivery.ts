/**
 * Delivery throughput and latency: 10,000 pending verification emails drained to a local SMTP
 * server (smtp-server, STARTTLS and AUTH as in production) by one and by two Roster processes
 * (`node dist/main.js start`, separate processes on one database). Reports emails/s and the time
 * from a notification's commit to the SMTP server's acceptance (p50, p99); then the same at a
 * paced rate (BENCH_DELIVERY_RATE per process, default 300/s) for the latency under that load.
 *
 *   npm run bench:delivery
 *   BENCH_DELIVERY_EMAILS=2000 BENCH_DELIVERY_RATE=300 BENCH_DELIVERY_PACED_SECONDS=10 npm run bench:delivery
 *
 * The notifications are written the way Roster writes them (a code row, a sealed payload, NOTIFY
 * in the same transaction), 100 per transaction, by this process.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { sql } from "kysely";
import { SMTPServer } from "smtp-server";
import { deriveKeys } from "../src/config/keys.js";
import { generateCode, hashCode } from "../src/domain/codes/code.js";
import { seal } from "../src/notify/sealed-payload.js";
import { openDatabase } from "../src/store/database.js";
import { migrateToLatest } from "../src/store/migrate.js";
import { OUTBOX_CHANNEL } from "../src/store/notifications.js";
import { build } from "../scripts/build.mjs";
import { createTestDatabase } from "../test/support/database.js";
import { baseEnv, startRosterProcess, type RosterProcess } from "../test/support/process.js";
import { makeCertificate } from "../test/support/smtp-peer.js";
import { bulkLoad } from "./bulk-load.js";

const EMAILS = Number(process.env.BENCH_DELIVERY_EMAILS ?? 10_000);
const RATE = Number(process.env.BENCH_DELIVERY_RATE ?? 300);
const PACED_SECONDS = Number(process.env.BENCH_DELIVERY_PACED_SECONDS ?? 10);
const BATCH = 100;
const MASTER_KEY = Buffer.alloc(32, 5);
const keys = deriveKeys(MASTER_KEY);

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function main(): Promise<void> {
  build({ ifStale: true });
  const work = await mkdtemp(path.join(tmpdir(), "roster-bench-delivery-"));
  const cert = makeCertificate(work);

  // ---- the SMTP server: records when each recipient's message was accepted ----
  const accepted = new Map<string, number>();
  let duplicates = 0;
  let onAccept: (() => void) | undefined;
  const smtp = new SMTPServer({
    secure: false,
    key: cert.key,
    cert: cert.cert,
    authMethods: ["PLAIN"],
    onAuth: (auth, _s, cb) => (auth.username === "bench" && auth.password === "bench-pass" ? cb(null, { user: "bench" }) : cb(new Error("no"))),
    onData(stream, session, cb) {
      stream.on("data", () => {});
      stream.on("end", () => {
        const to = session.envelope.rcptTo[0]?.address ?? "";
        if (accepted.has(to)) duplicates++;
        else accepted.set(to, performance.now());
        cb(null, "queued");
        onAccept?.();
      });
    },
    logger: false,
  });
  smtp.on("error", () => {});
  await new Promise<void>((r) => smtp.listen(0, "127.0.0.1", r));
  const smtpPort = (smtp.server.address() as { port: number }).port;

  // ---- the database: users to write to, then empty outbox per run ----
  const database = await createTestDatabase();
  const opened = await openDatabase({ databaseUrl: database.url, dataDir: work });
  const db = opened.db;
  await migrateToLatest(db);
  // every run writes to users of its own: two drains, one paced run at RATE and one at 2 × RATE
  const users = Math.ceil((2 * EMAILS + 3 * RATE * PACED_SECONDS) * 1.002) + 10;
  process.stdout.write(`delivery bench: loading ${users} users\n`);
  await bulkLoad(db, { users, orgs: 10 });
  const { rows: live } = await sql<{ id: string }>`SELECT id FROM users WHERE state <> 'deleted' ORDER BY id`.execute(db);

  const rosterEnv = (dataDir: string): Record<string, string> => ({
    ...baseEnv(dataDir),
    DATABASE_URL: database.url,
    ROSTER_MASTER_KEY: MASTER_KEY.toString("base64"),
    ROSTER_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    ROSTER_SMTP_USER: "bench",
    ROSTER_SMTP_PASSWORD: "bench-pass",
    ROSTER_SMTP_FROM: "Roster <no-reply@bench.example>",
    ROSTER_SMTP_CA_FILE: cert.certFile,
  });

  let run = 0;
  /** Writes `count` notifications, `perSecond` at most (0: as fast as possible); returns commit times by recipient. */
  async function write(count: number, perSecond: number, tag: string): Promise<Map<string, number>> {
    const committed = new Map<string, number>();
    const started = performance.now();
    for (let from = 0; from < count; from += BATCH) {
      if (perSecond > 0) {
        const due = started + (from / perSecond) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const n = Math.min(BATCH, count - from);
      const now = new Date();
      const expires = new Date(now.getTime() + 3600_000);
      const codes: unknown[][] = [];
      const notes: unknown[][] = [];
      const recipients: string[] = [];
      for (let i = 0; i < n; i++) {
        const userId = live[from + i + run]!.id;
        const code = generateCode(6);
        const to = `${tag}-${from + i}@bench.example`;
        recipients.push(to);
        codes.push([userId, "email", hashCode(keys.codeHmac, "email", userId, code), now, expires, 0, "sent", null]);
        notes.push([userId, "email", to, "email", seal(keys.notificationAead, { code, link: `https://id.bench.example/verify?user=${userId}&code=${code}` }), now, now]);
      }
      await db.transaction().execute(async (trx) => {
        await sql`INSERT INTO codes (user_id, purpose, hash, created_at, expires_at, failed_attempts, delivery, url_template)
                  VALUES ${sql.join(codes.map((c) => sql`(${sql.join(c)})`))}
                  ON CONFLICT (user_id, purpose) DO UPDATE SET hash = EXCLUDED.hash, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at`.execute(trx);
        await sql`INSERT INTO notifications (user_id, channel, recipient, purpose, encrypted_payload, created_at, next_attempt_at)
                  VALUES ${sql.join(notes.map((c) => sql`(${sql.join(c)})`))}`.execute(trx);
        await sql`SELECT pg_notify(${OUTBOX_CHANNEL}, 'email')`.execute(trx);
      });
      const at = performance.now();
      for (const r of recipients) committed.set(r, at);
    }
    run += count;
    return committed;
  }

  async function measure(name: string, processes: number, count: number, perSecond: number): Promise<void> {
    await sql`DELETE FROM notifications`.execute(db);
    const dataDir = await mkdtemp(path.join(work, "roster-"));
    const rosters: RosterProcess[] = [];
    for (let i = 0; i < processes; i++) rosters.push(await startRosterProcess(rosterEnv(dataDir)));
    const tag = `r${name.replace(/\W+/g, "")}${Date.now()}`;
    const done = new Promise<void>((resolve) => {
      onAccept = () => {
        if (countOf(tag) >= count) resolve();
      };
    });
    const cpuBefore = rosters.map((r) => cpuSeconds(r.pid));
    const committed = await write(count, perSecond, tag);
    await Promise.race([done, new Promise((r) => setTimeout(r, 600_000))]);
    onAccept = undefined;
    const cpu = rosters.reduce((sum, r, i) => sum + cpuSeconds(r.pid) - cpuBefore[i]!, 0);
    const latencies: number[] = [];
    let first = Infinity;
    let last = 0;
    for (const [to, at] of committed) {
      const acc = accepted.get(to);
      if (acc === undefined) continue;
      latencies.push(acc - at);
      first = Math.min(first, at);
      last = Math.max(last, acc);
    }
    latencies.sort((a, b) => a - b);
    const { rows: states } = await sql<{ status: string; n: string }>`SELECT status, count(*) AS n FROM notifications GROUP BY status ORDER BY status`.execute(db);
    console.log(
      `${name.padEnd(34)} ${latencies.length} accepted  ${((latencies.length / (last - first)) * 1000).toFixed(0).padStart(5)} emails/s  ` +
        `commit→accept p50 ${percentile(latencies, 50).toFixed(0)} ms  p99 ${percentile(latencies, 99).toFixed(0)} ms  ` +
        `Roster CPU ${((cpu / Math.max(1, latencies.length)) * 1e6).toFixed(0)} µs/email  duplicates ${duplicates}  outbox ${states.map((s) => `${s.status}=${s.n}`).join(" ")}`,
    );
    await Promise.all(rosters.map((r) => r.stop()));
  }

  function countOf(tag: string): number {
    let n = 0;
    for (const k of accepted.keys()) if (k.startsWith(`${tag}-`)) n++;
    return n;
  }

  try {
    await measure(`drain ${EMAILS}, 1 process`, 1, EMAILS, 0);
    await measure(`drain ${EMAILS}, 2 processes`, 2, EMAILS, 0);
    await measure(`paced ${RATE}/s, 1 process`, 1, RATE * PACED_SECONDS, RATE);
    await measure(`paced ${RATE * 2}/s, 2 processes`, 2, RATE * 2 * PACED_SECONDS, RATE * 2);
  } finally {
    await opened.close();
    await database.drop();
    await new Promise<void>((r) => smtp.close(() => r()));
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
