/**
 * ListUsers at scale: 1,000,000 users over 1,000 organizations, Roster in its own process, the
 * calls over gRPC from this one.
 *
 *   npm run bench:list                              # embedded PostgreSQL in a temp dir
 *   DATABASE_URL=postgres://… npm run bench:list    # a new database on that server, dropped at the end
 *
 * Steps: create the database; migrate and start Roster (`node --import tsx src/main.ts start`)
 * on it; time UpdateHumanUser on a few users while the table is small; bulk-load the users
 * (bench/bulk-load.ts); then time each list query many times (p50/p99), and its SQL alone from
 * this process (how much of the time is the database's); print the EXPLAIN (ANALYZE, BUFFERS)
 * of the exact statement Roster runs for it (built by the same mapping and store code); time
 * UpdateHumanUser again with 1,000,000 users present. The machine's load average is printed
 * with the summary: figures taken on a busy machine are not the service's.
 *
 * BENCH_USERS (default 1000000), BENCH_ORGS (1000), BENCH_ITERATIONS (200 per query).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import net from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { CompiledQuery, sql, type Kysely } from "kysely";
import pg from "pg";
import { Type, UserFieldName } from "../src/gen/zitadel/user/v2/query_pb.js";
import { TextQueryMethod } from "../src/gen/zitadel/object/v2/object_pb.js";
import { UserState } from "../src/gen/zitadel/user/v2/user_pb.js";
import { ListUsersRequestSchema, UserService } from "../src/gen/zitadel/user/v2/user_service_pb.js";
import { listLimit } from "../src/domain/users/user-filter.js";
import { listUsersInput } from "../src/services/user-queries.js";
import { openDatabase, type OpenedDatabase } from "../src/store/database.js";
import { startEmbeddedPostgres, type EmbeddedServer } from "../src/store/embedded-postgres.js";
import type { Database } from "../src/store/schema.js";
import { userListStatement } from "../src/store/user-list.js";
import { bulkLoad } from "./bulk-load.js";

const USERS = Number(process.env.BENCH_USERS ?? 1_000_000);
const ORGS = Number(process.env.BENCH_ORGS ?? 1_000);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 200);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

type ListRequest = MessageInitShape<typeof ListUsersRequestSchema>;

const userId = (i: number) => String(100_000_000_000_000_000n + BigInt(i));
const orgId = (o: number) => String(200_000_000_000_000_000n + BigInt(o));
const username = (i: number) => `user${String(i).padStart(7, "0")}`;
const rand = (n: number) => Math.floor(Math.random() * n);
/** A user that the load keeps alive (every 1000th user is loaded as deleted). */
const liveUser = (): number => {
  const i = rand(USERS);
  return i % 1000 === 999 ? i - 1 : i;
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** CPU time (user + system) a process has used so far, in ms; undefined where /proc is not there. */
function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields[0] is field 3 (state)
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, in USER_HZ (100/s) ticks
  } catch {
    return undefined;
  }
}

interface Timing {
  p50: number;
  p99: number;
  /** CPU time of the watched process per call, in ms (what the call costs it, however busy the machine). */
  cpu?: number;
}

async function timeIt(name: string, iterations: number, call: (i: number) => Promise<unknown>, cpuPid?: number): Promise<Timing> {
  for (let i = 0; i < Math.min(20, iterations); i++) await call(i); // warm up
  const samples: number[] = [];
  const cpu0 = cpuMs(cpuPid);
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await call(i);
    samples.push(performance.now() - t0);
  }
  const cpu1 = cpuMs(cpuPid);
  samples.sort((a, b) => a - b);
  const r: Timing = { p50: percentile(samples, 50), p99: percentile(samples, 99) };
  if (cpu0 !== undefined && cpu1 !== undefined) r.cpu = (cpu1 - cpu0) / iterations;
  const cpu = r.cpu === undefined ? "" : `   cpu ${r.cpu.toFixed(2).padStart(6)} ms/call`;
  console.log(`${name.padEnd(44)} p50 ${r.p50.toFixed(2).padStart(7)} ms   p99 ${r.p99.toFixed(2).padStart(7)} ms${cpu}   (${iterations} calls)`);
  return r;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Roster as its own process, with the environment the tests use. */
async function startRosterProcess(databaseUrl: string, dataDir: string): Promise<{ child: ChildProcess; baseUrl: string; token: string }> {
  const port = await freePort();
  const env = {
    ...process.env,
    PORT: String(port),
    ROSTER_HOST: "127.0.0.1",
    DATABASE_URL: databaseUrl,
    ROSTER_DATA_DIR: dataDir,
    ROSTER_LOG_LEVEL: "warn",
    ROSTER_BCRYPT_COST: "4",
    ROSTER_MASTER_KEY: Buffer.alloc(32, 7).toString("base64"),
  };
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", "start"], { cwd: ROOT, env, stdio: ["ignore", "inherit", "inherit"] });
  const exited = new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`roster exited with ${code}`))));
  const ready = (async () => {
    for (;;) {
      const token = await readFile(path.join(dataDir, "admin.pat"), "utf8").catch(() => "");
      if (token && (await canConnect(port))) return token.trim();
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const token = await Promise.race([ready, exited]);
  return { child, baseUrl: `http://127.0.0.1:${port}`, token };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => (s.end(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

async function stopRosterProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await done;
}

/** A new database on the server of `serverUrl`; the bench never loads into an existing one. */
async function createServerDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `roster_bench_${randomBytes(4).toString("hex")}`;
  const admin = async (statement: string) => {
    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    try {
      await c.query(statement);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** The statement Roster runs for this request (same mapping, same store code), as the IAM_OWNER sees it. */
function statementOf(db: Kysely<Database>, req: ListRequest) {
  const input = listUsersInput(create(ListUsersRequestSchema, req));
  return userListStatement(db, {
    filters: input.filters,
    visibility: { kind: "all" },
    sort: input.sort,
    asc: input.asc,
    offset: input.offset,
    limit: listLimit(input.limit),
  });
}

/** Its plan, executed. */
async function explain(db: Kysely<Database>, req: ListRequest): Promise<{ text: string; seqScanOnUsers: boolean }> {
  const statement = statementOf(db, req);
  const { rows } = await db.executeQuery<{ "QUERY PLAN": string }>(
    CompiledQuery.raw(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${statement.sql}`, [...statement.parameters]),
  );
  const out = [`  -- ${statement.sql.replace(/\s+/g, " ").trim()}`, `  -- parameters: ${JSON.stringify(statement.parameters)}`];
  out.push(...rows.map((r) => `  ${r["QUERY PLAN"]}`));
  const text = out.join("\n");
  return { text, seqScanOnUsers: /Seq Scan on users/.test(text) };
}

async function main(): Promise<void> {
  const startLoad = loadavg().map((l) => l.toFixed(1)).join(" ");
  const dataDir = await mkdtemp(path.join(tmpdir(), "roster-bench-list-"));
  let embedded: EmbeddedServer | undefined;
  let database: OpenedDatabase | undefined;
  let roster: Awaited<ReturnType<typeof startRosterProcess>> | undefined;
  let benchDb: { url: string; drop(): Promise<void> } | undefined;
  try {
    let url: string;
    const serverUrl = process.env.DATABASE_URL;
    if (serverUrl) {
      benchDb = await createServerDatabase(serverUrl);
      url = benchDb.url;
    } else {
      embedded = await startEmbeddedPostgres({ dir: path.join(dataDir, "db"), database: "roster_bench" });
      url = embedded.url;
    }
    // one connection: the backend whose CPU the "SQL alone" timings read
    database = await openDatabase({ databaseUrl: url, dataDir, maxConnections: 1 });
    const db = database.db;
    const { rows: ver } = await sql<{ v: string }>`SELECT current_setting('server_version') AS v`.execute(db);
    console.log(`PostgreSQL ${ver[0]!.v} (${embedded ? "embedded" : "server"}), ${USERS} users, ${ORGS} organizations`);

    roster = await startRosterProcess(url, path.join(dataDir, "roster"));
    const auth = { authorization: `Bearer ${roster.token}` };
    const client: Client<typeof UserService> = createClient(UserService, createGrpcTransport({ baseUrl: roster.baseUrl }));

    // UpdateHumanUser while the table is small
    const few: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await client.addHumanUser(
        { username: `small-${i}`, profile: { givenName: "S", familyName: "Mall" }, email: { email: `small${i}@bench.example`, verification: { case: "isVerified", value: true } } },
        { headers: auth },
      );
      few.push(r.userId);
    }
    const update = (id: string, i: number) =>
      client.updateHumanUser({ userId: id, profile: { givenName: "Bench", familyName: `User ${i}` } }, { headers: auth });
    const small = await timeIt("UpdateHumanUser, 21 users", ITERATIONS, (i) => update(few[i % few.length]!, i), roster.child.pid);

    await bulkLoad(db, { users: USERS, orgs: ORGS });

    const lists: { name: string; req: () => ListRequest }[] = [
      {
        name: "email equals (exact)",
        req: () => ({ queries: [{ query: { case: "emailQuery", value: { emailAddress: `${username(liveUser())}@bench.example`, method: TextQueryMethod.EQUALS } } }] }),
      },
      {
        name: "username starts with (100 matches)",
        req: () => ({
          query: { limit: 100, asc: true },
          sortingColumn: UserFieldName.USER_NAME,
          queries: [{ query: { case: "userNameQuery", value: { userName: username(rand(USERS)).slice(0, 9), method: TextQueryMethod.STARTS_WITH } } }],
        }),
      },
      {
        name: "organization, limit 100, by username",
        req: () => ({
          query: { limit: 100, asc: true },
          sortingColumn: UserFieldName.USER_NAME,
          queries: [{ query: { case: "organizationIdQuery", value: { organizationId: orgId(rand(ORGS)) } } }],
        }),
      },
      {
        name: "state locked (1 %), limit 100",
        req: () => ({ query: { limit: 100 }, queries: [{ query: { case: "stateQuery", value: { state: UserState.LOCKED } } }] }),
      },
      {
        name: "state active (97 %), limit 100",
        req: () => ({ query: { limit: 100 }, queries: [{ query: { case: "stateQuery", value: { state: UserState.ACTIVE } } }] }),
      },
      {
        name: "all users, offset 100000, by username",
        req: () => ({ query: { offset: 100_000n, limit: 100, asc: true }, sortingColumn: UserFieldName.USER_NAME }),
      },
      {
        name: "all users, offset 100000, by id",
        req: () => ({ query: { offset: 100_000n, limit: 100 } }),
      },
      {
        name: "type human, limit 100, by creation date",
        req: () => ({ query: { limit: 100 }, sortingColumn: UserFieldName.CREATION_DATE, queries: [{ query: { case: "typeQuery", value: { type: Type.HUMAN } } }] }),
      },
    ];

    console.log(`\nListUsers over gRPC (sequential calls, as IAM_OWNER):`);
    const results: { name: string; api: Timing; sql: Timing; total: bigint }[] = [];
    const backendPid = Number((await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(db)).rows[0]!.pid);
    for (const l of lists) {
      let total = 0n;
      const api = await timeIt(
        l.name,
        ITERATIONS,
        async () => {
          const res = await client.listUsers(l.req(), { headers: auth });
          total = res.details?.totalResult ?? 0n;
        },
        roster.child.pid,
      );
      // the same statement straight from here: how much of it is the database (cpu: its backend, without parallel workers)
      const sqlAlone = await timeIt(`  its SQL alone (from this process)`, Math.max(20, ITERATIONS / 4), () => db.executeQuery(statementOf(db, l.req())), backendPid);
      results.push({ name: l.name, api, sql: sqlAlone, total });
    }

    console.log(`\nPlans (EXPLAIN ANALYZE of the statements Roster runs for one request of each):`);
    let seqScans = 0;
    for (const l of lists) {
      const { text, seqScanOnUsers } = await explain(db, l.req());
      if (seqScanOnUsers) seqScans++;
      console.log(`\n## ${l.name}${seqScanOnUsers ? "   <-- SEQ SCAN ON users" : ""}\n${text}`);
    }

    console.log(`\nUpdateHumanUser with ${USERS} users present:`);
    const big = await timeIt("UpdateHumanUser, random loaded users", ITERATIONS, (i) => update(userId(liveUser()), i), roster.child.pid);
    const bigFew = await timeIt("UpdateHumanUser, the same 20 users as before", ITERATIONS, (i) => update(few[i % few.length]!, i), roster.child.pid);

    console.log(`\nSummary (goal: p50 <= 20 ms, no sequential scan of users); load average ${loadavg().map((l) => l.toFixed(1)).join(" ")} on ${cpus().length} cores (${startLoad} at the start)`);
    const ms = (n: number | undefined) => (n === undefined ? "    -" : n.toFixed(2).padStart(7));
    console.log(`  ${"".padEnd(40)}     p50      p99   Roster cpu   SQL p50   SQL cpu   total_result`);
    for (const r of results) {
      console.log(
        `  ${r.name.padEnd(40)} ${ms(r.api.p50)}  ${ms(r.api.p99)}  ${ms(r.api.cpu)}    ${ms(r.sql.p50)}   ${ms(r.sql.cpu)}   ${String(r.total).padStart(7)}  ${r.api.p50 <= 20 ? "ok" : "OVER GOAL"}`,
      );
    }
    console.log(`  (ms; Roster cpu = CPU time of the Roster process per call; SQL cpu = of the PostgreSQL backend per statement, parallel workers not counted)`);
    console.log(
      `  UpdateHumanUser p50 (Roster cpu/call): ${small.p50.toFixed(2)} ms (${ms(small.cpu).trim()}) with 21 users; ` +
        `${big.p50.toFixed(2)} ms (${ms(big.cpu).trim()}) random / ${bigFew.p50.toFixed(2)} ms (${ms(bigFew.cpu).trim()}) same users with ${USERS}`,
    );
    console.log(`  plans with a sequential scan of users: ${seqScans}`);
  } finally {
    if (roster) await stopRosterProcess(roster.child);
    await database?.close();
    await benchDb?.drop();
    await embedded?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
