/**
 * Database faults under load (issue items 1 and 3): Roster as a child process on a PostgreSQL
 * cluster of the test's own, which the test stops, kills and freezes while requests keep coming.
 * Every request in flight must be answered — 200, or 503 UNAVAILABLE in ZITADEL's error shape —
 * the process must stay up, and requests must succeed again once the database is back.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { createTestDatabase } from "./support/database.js";
import { startFaultPostgres, type FaultPostgres } from "./support/fault-postgres.js";
import { newHuman, rest } from "./support/fixtures.js";
import { startLoad, type Load } from "./support/load.js";
import { baseEnv, killLeftovers, startRosterProcess, waitFor, type RosterProcess } from "./support/process.js";

const ERROR_DETAIL = "type.googleapis.com/zitadel.v1.ErrorDetail";
/** A request unanswered for this long counts as hung (every database timeout here is 1 s). */
const HANG_MS = 30_000;

type Answer = { kind: "ok" } | { kind: "unavailable"; id: string } | { kind: "bad"; what: string };

const dirs: string[] = [];
async function newDataDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "roster-fault-"));
  dirs.push(dir);
  return dir;
}

after(async () => {
  await killLeftovers();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A 503 must carry ZITADEL's shape: code 14, "<text> (<id>)" and one ErrorDetail. */
function unavailableShape(body: unknown): string | undefined {
  const b = body as { code?: unknown; message?: unknown; details?: Array<Record<string, unknown>> };
  const d = b?.details?.[0];
  if (b?.code !== 14 || !d || d["@type"] !== ERROR_DETAIL || typeof d.id !== "string" || d.id === "") return undefined;
  if (b.message !== `${String(d.message)} (${d.id})`) return undefined;
  return d.id;
}

/** Alternates a read (GetUserByID) and a write in a transaction (UpdateHumanUser) on REST. */
function requester(baseUrl: string, token: string, userId: string) {
  return async (worker: number, seq: number): Promise<Answer> => {
    const write = seq % 2 === 1;
    try {
      const res = await fetch(
        write ? `${baseUrl}/v2/users/human/${userId}` : `${baseUrl}/v2/users/${userId}`,
        {
          method: write ? "PUT" : "GET",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: write ? JSON.stringify({ profile: { givenName: `W${worker}-${seq}`, familyName: "Fault" } }) : undefined,
          signal: AbortSignal.timeout(HANG_MS),
        },
      );
      const text = await res.text();
      if (res.status === 200) return { kind: "ok" };
      if (res.status === 503) {
        const id = unavailableShape(JSON.parse(text));
        if (id) return { kind: "unavailable", id };
      }
      return { kind: "bad", what: `${res.status} ${text.slice(0, 200)}` };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      return { kind: "bad", what: `${e.name}: ${e.cause?.code ?? e.cause?.message ?? e.message}` };
    }
  };
}

function assertAllAnswered(outcomes: { result: Answer }[], context: string): void {
  const bad = outcomes.filter((o) => o.result.kind === "bad").map((o) => (o.result as { what: string }).what);
  assert.deepEqual(bad.slice(0, 5), [], `${context}: ${bad.length} of ${outcomes.length} requests not answered 200/503`);
}

const count = (outcomes: { result: Answer }[], kind: Answer["kind"]) => outcomes.filter((o) => o.result.kind === kind).length;

interface Running {
  roster: RosterProcess;
  token: string;
  userId: string;
  exited: () => boolean;
}

async function startOn(env: Record<string, string>): Promise<Running> {
  const roster = await startRosterProcess(env);
  let gone = false;
  void roster.exited.then(() => (gone = true));
  const token = (await readFile(path.join(env.ROSTER_DATA_DIR, "admin.pat"), "utf8")).trim();
  const created = await rest(roster, "POST", "/v2/users/human", { token, body: newHuman({}, "fault") });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  return { roster, token, userId: created.body.userId as string, exited: () => gone };
}

/**
 * Runs load, applies `fault`, waits until requests are refused with 503, checks the process is
 * alive, `recover`s, waits for successes, and checks every request got an answer.
 */
async function survive(r: Running, fault: () => Promise<void> | void, recover: () => Promise<void> | void): Promise<void> {
  const load: Load<Answer> = startLoad(4, requester(r.roster.baseUrl, r.token, r.userId));
  try {
    await waitFor(() => count(load.outcomes, "ok") >= 8, "requests to succeed before the fault", 20_000);
    await fault();
    const during = load.mark();
    await waitFor(() => count(load.since(during), "unavailable") >= 4 || r.exited(), "503s during the outage", 20_000);
    assert.equal(r.exited(), false, `Roster exited during the outage:\n${r.roster.output().slice(-3000)}`);
    await recover();
    const back = load.mark();
    await waitFor(() => count(load.since(back), "ok") >= 8 || r.exited(), "requests to succeed after recovery", 30_000);
  } finally {
    await load.stop();
  }
  assert.equal(r.exited(), false, `Roster exited:\n${r.roster.output().slice(-3000)}`);
  assertAllAnswered(load.outcomes, "under the fault");
  const ids = new Set(load.outcomes.flatMap((o) => (o.result.kind === "unavailable" ? [o.result.id] : [])));
  assert.ok(ids.size >= 1, "503s were seen");
  assert.ok(
    [...ids].every((id) => id.startsWith("ROSTER-")),
    `UNAVAILABLE carries Roster's error id: ${[...ids].join(", ")}`,
  );
}

describe("a database fault under load, on a cluster of the test's own", () => {
  let cluster: FaultPostgres;
  let running: Running;

  before(async () => {
    cluster = await startFaultPostgres();
    const url = await cluster.createDatabase("roster_fault");
    running = await startOn({
      ...baseEnv(await newDataDir()),
      DATABASE_URL: url,
      ROSTER_DB_CONNECT_TIMEOUT_MS: "1000",
      ROSTER_DB_STATEMENT_TIMEOUT_MS: "1000",
      ROSTER_DB_IDLE_IN_TX_TIMEOUT_MS: "1000",
    });
  });
  after(async () => {
    await running?.roster.stop("SIGTERM");
    await cluster?.destroy();
  });

  test("pg_ctl stop -m immediate: requests in flight get 503, the process stays up, requests succeed after a restart", async () => {
    await survive(running, () => cluster.stop("immediate"), () => cluster.start());
  });

  test("kill -9 of the postmaster: 503s, the process stays up, the pool reconnects after a restart", async () => {
    await survive(running, () => cluster.killPostmaster(), () => cluster.start());
  });

  test("pg_ctl stop -m fast: 503s, the process stays up, requests succeed after a restart", async () => {
    await survive(running, () => cluster.stop("fast"), () => cluster.start());
  });

  test("a frozen database (SIGSTOP): requests time out with 503 instead of hanging, and succeed after SIGCONT", async () => {
    await survive(running, () => cluster.freeze(), () => cluster.thaw());
  });

  test("a statement stuck behind a lock held elsewhere ends at statement_timeout with 503; the lock's release lets writes through", async () => {
    const holder = new pg.Client({ connectionString: cluster.urlFor("roster_fault") });
    await holder.connect();
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", [running.userId]);
      const res = await rest(running.roster, "PUT", `/v2/users/human/${running.userId}`, {
        token: running.token,
        body: { profile: { givenName: "Locked", familyName: "Out" } },
      });
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.equal(unavailableShape(res.body), "ROSTER-db001");
      assert.equal(res.headers.get("retry-after"), "1", "a 503 tells the client when to retry");
      const connect = await fetch(`${running.roster.baseUrl}/zitadel.user.v2.UserService/UpdateHumanUser`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${running.token}` },
        body: JSON.stringify({ userId: running.userId, profile: { givenName: "Locked", familyName: "Connect" } }),
      });
      assert.equal(connect.status, 503);
      assert.equal(((await connect.json()) as { code?: string }).code, "unavailable");
      assert.equal(connect.headers.get("retry-after"), "1", "Connect carries the error's metadata as headers");
      const outage = running.roster.logs.find((l) => l.msg === "database unavailable" && /statement timeout/.test(String(l.err)));
      assert.ok(outage, "the server cancelled the statement (statement_timeout), not only the client");
      assert.equal(outage.requestId, res.headers.get("x-request-id"), "the error line names the request it belongs to");
    } finally {
      await holder.query("ROLLBACK").catch(() => {});
      await holder.end();
    }
    const res = await rest(running.roster, "PUT", `/v2/users/human/${running.userId}`, {
      token: running.token,
      body: { profile: { givenName: "Unlocked", familyName: "Again" } },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });
});

describe("start-up against a database that does not answer", () => {
  test("a host that accepts TCP but never answers: start fails with a message naming the host, instead of hanging", async () => {
    const silent = net.createServer(() => {
      /* accept and say nothing */
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const env = {
        ...baseEnv(await newDataDir()),
        DATABASE_URL: `postgres://roster:s3cret-pw@127.0.0.1:${port}/roster`,
        ROSTER_DB_CONNECT_TIMEOUT_MS: "1000",
        ROSTER_DB_STARTUP_TIMEOUT_SECONDS: "3",
      };
      const failure = await startRosterProcess(env, { timeoutMs: 30_000 }).then(
        (p) => {
          void p.stop("SIGKILL");
          return "it started";
        },
        (err: Error) => err.message,
      );
      assert.match(failure, /^roster exited \(1\) before listening/, failure.slice(0, 500));
      assert.match(failure, new RegExp(`127\\.0\\.0\\.1:${port}`), "the message names DATABASE_URL's host and port");
      assert.match(failure, /did not answer within 1000 ms/);
      assert.match(failure, /database not reachable yet; retrying/, "each attempt is logged");
      assert.match(failure, /gave up after \d+ attempts in 3 s \(ROSTER_DB_STARTUP_TIMEOUT_SECONDS\)/);
      assert.doesNotMatch(failure, /s3cret-pw/, "the password is not logged");
    } finally {
      silent.close();
    }
  });

  test("a port where nothing listens: start fails with a message naming the host", async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as net.AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const env = { ...baseEnv(await newDataDir()), DATABASE_URL: `postgres://roster@127.0.0.1:${port}/roster`, ROSTER_DB_STARTUP_TIMEOUT_SECONDS: "0" };
    const failure = await startRosterProcess(env, { timeoutMs: 30_000 }).then(
      () => "it started",
      (err: Error) => err.message,
    );
    assert.match(failure, /^roster exited \(1\) before listening/, failure.slice(0, 500));
    assert.match(failure, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.match(failure, /ECONNREFUSED/);
  });
});

describe("start-up while the database is still coming up", () => {
  test("Roster retries with backoff, logging each attempt, and starts once the database answers", async () => {
    const database = await createTestDatabase();
    const target = new URL(database.url);
    // a port that refuses connections at first, then forwards to the real database
    const placeholder = net.createServer();
    await new Promise<void>((resolve) => placeholder.listen(0, "127.0.0.1", resolve));
    const { port } = placeholder.address() as net.AddressInfo;
    await new Promise<void>((resolve) => placeholder.close(() => resolve()));
    const proxied = new URL(database.url);
    proxied.hostname = "127.0.0.1";
    proxied.port = String(port);
    const proxy = net.createServer((socket) => {
      const upstream = net.connect(Number(target.port || 5432), target.hostname || "127.0.0.1");
      socket.pipe(upstream).pipe(socket);
      socket.on("error", () => upstream.destroy());
      upstream.on("error", () => socket.destroy());
    });
    const starting = startRosterProcess({ ...baseEnv(await newDataDir()), DATABASE_URL: proxied.toString(), ROSTER_DB_STARTUP_TIMEOUT_SECONDS: "60" });
    let roster: RosterProcess | undefined;
    try {
      // the database "comes up" a while after Roster started trying
      await new Promise((r) => setTimeout(r, 1500));
      await new Promise<void>((resolve) => proxy.listen(port, "127.0.0.1", resolve));
      roster = await starting;
      const retries = roster.logs.filter((l) => l.msg === "database not reachable yet; retrying");
      assert.ok(retries.length >= 1, "the failed attempts were logged");
      assert.match(String(retries[0]!.reason), /ECONNREFUSED/);
      assert.equal(retries[0]!.database, `127.0.0.1:${port}`);
      assert.ok(roster.logs.some((l) => l.msg === "database reachable"));
      const res = await fetch(`${roster.baseUrl}/v2/users/human/x`, { method: "PUT", body: "{}" });
      assert.equal(res.status, 401, "it serves requests");
    } finally {
      await roster?.stop("SIGTERM");
      if (!roster) await starting.then((p) => p.stop("SIGKILL"), () => {});
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await database.drop();
    }
  });
});

describe("the embedded database's postmaster dies", () => {
  test("kill -9 of the embedded postmaster: Roster restarts it, answers 503 meanwhile and serves again", async () => {
    const dataDir = await newDataDir();
    const running = await startOn({ ...baseEnv(dataDir), ROSTER_DB_CONNECT_TIMEOUT_MS: "1000" });
    try {
      const pidFile = path.join(dataDir, "pg", "postmaster.pid");
      const firstPid = Number((await readFile(pidFile, "utf8")).split("\n")[0]);
      const load = startLoad(4, requester(running.roster.baseUrl, running.token, running.userId));
      try {
        await waitFor(() => count(load.outcomes, "ok") >= 8, "requests to succeed", 20_000);
        process.kill(firstPid, "SIGKILL");
        await waitFor(
          () => running.roster.logs.some((l) => l.msg === "embedded PostgreSQL restarted") || running.exited(),
          "the embedded postmaster to be restarted",
          60_000,
        );
        assert.equal(running.exited(), false, running.roster.output().slice(-3000));
        const back = load.mark();
        await waitFor(() => count(load.since(back), "ok") >= 8 || running.exited(), "requests to succeed after the restart", 30_000);
      } finally {
        await load.stop();
      }
      assert.equal(running.exited(), false, running.roster.output().slice(-3000));
      assertAllAnswered(load.outcomes, "while the embedded postmaster was restarted");
      const secondPid = Number((await readFile(pidFile, "utf8")).split("\n")[0]);
      assert.notEqual(secondPid, firstPid, "a new postmaster runs");
      assert.ok(running.roster.logs.some((l) => l.msg === "embedded PostgreSQL exited unexpectedly"));
    } finally {
      assert.equal(await running.roster.stop("SIGTERM"), 0);
    }
  });
});
