/**
 * The benchmark: Roster in a process of its own, driven by a load generator in another
 * (bench/load-generator.mjs: raw node:http2 / HTTP/1.1, pre-encoded bodies, every response
 * checked), measured in the same run against its anchors: a bare connect-node handler on the same
 * transport (bench/bare-server.ts) and pgbench doing the same SQL as one statement.
 *
 * Prints, per protocol and for UpdateHumanUser (one user per connection, every call a real
 * change), GetUserByID, a hot single user, updates while passwords are hashed and ROSTER_WORKERS: req/s, p50/p99, errors, Node and PostgreSQL CPU
 * milliseconds per request (from /proc/<pid>/stat of Roster and of its database backends),
 * statements per request (counted through Roster's statement hook), and Roster ÷ anchor.
 *
 *   npm run bench:fast-path                             # embedded PostgreSQL, or a new database on DATABASE_URL's server
 *   npm run bench:fast-path -- --seconds 10 --connections 32
 *   npm run bench:fast-path -- --profile                # also writes Roster's CPU profile (.cpuprofile)
 *   npm run bench:fast-path -- --only update            # update | get | hot | hashing | workers | pgbench (comma-separated)
 *   npm run bench:fast-path -- --protocols grpc,rest    # grpc | connect | grpcweb | rest
 *   npm run bench:fast-path -- --workers 4              # the ROSTER_WORKERS case (default 2)
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createTestDatabase } from "../test/support/database.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..");

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
const SECONDS = Number(arg("seconds", process.env.BENCH_SECONDS ?? "5"));
const WARMUP = Number(arg("warmup", "1"));
const CONNECTIONS = Number(arg("connections", process.env.BENCH_CONCURRENCY ?? "16"));
const PROFILE = process.argv.includes("--profile");
const ONLY = new Set(arg("only", "update,get,hot,hashing,pgbench,workers").split(","));
const WORKERS = Number(arg("workers", "2"));
const ONLY_PROTOCOLS = new Set(arg("protocols", "grpc,connect,grpcweb,rest").split(","));
const TICK_MS = 10; // 1 / CLK_TCK (100 on Linux)

type Protocol = "grpc" | "connect" | "grpcweb" | "rest";
type Rpc = "update" | "get";
const PROTOCOLS: [Protocol, string][] = [
  ["grpc", "gRPC"],
  ["connect", "Connect JSON"],
  ["grpcweb", "gRPC-web"],
  ["rest", "REST"],
];

// ---------- CPU from /proc ----------

async function cpuTicks(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15)
  } catch {
    return 0;
  }
}

/** CPU ticks of every PostgreSQL backend serving `database` (by its process title). */
async function backendTicks(database: string): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  const title = new RegExp(`^postgres: (?:\\S+: )?\\S+ ${database.replace(/[^\w]/g, "\\$&")} `);
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = (await readFile(`/proc/${entry}/cmdline`, "utf8")).replace(/\0/g, " ");
    } catch {
      continue;
    }
    if (title.test(cmdline)) out.set(Number(entry), await cpuTicks(Number(entry)));
  }
  return out;
}

const ticksBetween = (a: Map<number, number>, b: Map<number, number>): number => {
  let sum = 0;
  for (const [pid, t] of b) sum += t - (a.get(pid) ?? 0);
  return sum;
};

// ---------- processes ----------

interface Server {
  child: ChildProcess;
  /** The process whose CPU counts (with its children when `withChildren`). */
  pid: number;
  withChildren?: boolean;
  /** Statements sent so far (Roster only). */
  statements?: () => Promise<number>;
}

function nodeChild(script: string, env: Record<string, string>, nodeArgs: string[] = []): ChildProcess {
  const loader = script.endsWith(".ts") ? ["--import", "tsx"] : [];
  return spawn(process.execPath, [...nodeArgs, ...loader, script.startsWith("/") ? script : path.join(HERE, script)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
}

function ready<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`${what} exited (${code}) before it was ready`));
    child.once("exit", onExit);
    child.on("message", (m: { ready?: boolean }) => {
      if (m && m.ready) {
        child.off("exit", onExit);
        resolve(m as T);
      }
    });
  });
}

function statementCounter(child: ChildProcess): () => Promise<number> {
  return () =>
    new Promise((resolve) => {
      const on = (m: { statements?: number }) => {
        if (typeof m?.statements === "number") {
          child.off("message", on);
          resolve(m.statements);
        }
      };
      child.on("message", on);
      child.send("count");
    });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 30_000).unref();
  });
}

// ---------- one measured run ----------

interface Figures {
  reqPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  firstError: string | null;
  nodeMs: number;
  pgMs: number;
  statements: number | undefined;
}

/** CPU ticks of the process and, for a cluster primary, of its workers. */
async function serverTicks(server: Server): Promise<number> {
  let ticks = await cpuTicks(server.pid);
  if (!server.withChildren) return ticks;
  const children = await readFile(`/proc/${server.pid}/task/${server.pid}/children`, "utf8").catch(() => "");
  for (const c of children.trim().split(/\s+/).filter(Boolean)) ticks += await cpuTicks(Number(c));
  return ticks;
}

async function drive(server: Server, database: string, spec: Record<string, unknown>): Promise<Figures> {
  const child = spawn(process.execPath, [path.join(HERE, "load-generator.mjs"), JSON.stringify({ connections: CONNECTIONS, seconds: SECONDS, warmupSeconds: WARMUP, ...spec })], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let begin: { node: number; pg: Map<number, number>; statements: number | undefined } | undefined;
  let result: { requests: number; errors: number; firstError: string | null; seconds: number; p50: number; p99: number } | undefined;
  let pending = "";
  const lines: Promise<void>[] = [];
  child.stdout!.on("data", (chunk: Buffer) => {
    pending += chunk.toString("utf8");
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = JSON.parse(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
      if (line.measuring) {
        lines.push(
          (async () => {
            const [node, pg, statements] = await Promise.all([serverTicks(server), backendTicks(database), server.statements?.()]);
            begin = { node, pg, statements };
          })(),
        );
      } else result = line;
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  await Promise.all(lines);
  if (code !== 0 || !result || !begin) throw new Error(`load generator failed (${code})`);
  const [node, pg, statements] = await Promise.all([serverTicks(server), backendTicks(database), server.statements?.()]);
  const n = Math.max(1, result.requests + result.errors);
  return {
    reqPerSec: result.requests / result.seconds,
    p50: result.p50,
    p99: result.p99,
    errors: result.errors,
    firstError: result.firstError,
    nodeMs: ((node - begin.node) * TICK_MS) / n,
    pgMs: (ticksBetween(begin.pg, pg) * TICK_MS) / n,
    statements: statements !== undefined && begin.statements !== undefined ? (statements - begin.statements) / n : undefined,
  };
}

// ---------- pgbench: the same SQL, one statement ----------

async function pgbench(url: string, database: string, script: string, dir: string): Promise<Figures | undefined> {
  const file = path.join(dir, `pgbench-${Math.random().toString(36).slice(2)}.sql`);
  await writeFile(file, script);
  const logPrefix = path.join(dir, `pgb-${Math.random().toString(36).slice(2)}`);
  const samples: Map<number, number>[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      samples.push(await backendTicks(database));
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const child = spawn("pgbench", ["-n", "-M", "extended", "-c", String(CONNECTIONS), "-j", "2", "-T", String(SECONDS), "-l", `--log-prefix=${logPrefix}`, "-f", file, url], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => {
    child.once("error", () => resolve(-1));
    child.once("exit", resolve);
  });
  sampling = false;
  await sampler;
  if (code !== 0) {
    console.error(`pgbench failed (${code}): ${out.trim().split("\n").slice(-3).join(" | ")}`);
    return undefined;
  }
  // latencies (µs, third column) of every transaction from the per-client logs
  const latencies: number[] = [];
  for (const f of await readdir(dir)) {
    if (!path.join(dir, f).startsWith(logPrefix)) continue;
    for (const line of (await readFile(path.join(dir, f), "utf8")).split("\n")) {
      const cols = line.split(" ");
      if (cols.length > 3) latencies.push(Number(cols[2]) / 1000);
    }
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1] ?? 0);
  const failed = Number(/number of failed transactions: (\d+)/.exec(out)?.[1] ?? 0);
  // the backends exist only while pgbench runs: their whole CPU, at the last sample each was seen
  const last = new Map<number, number>();
  for (const s of samples) for (const [pid, t] of s) last.set(pid, t);
  let ticks = 0;
  for (const t of last.values()) ticks += t;
  return {
    reqPerSec: tps,
    p50: pct(50),
    p99: pct(99),
    errors: failed,
    firstError: null,
    nodeMs: 0,
    pgMs: latencies.length ? (ticks * TICK_MS) / latencies.length : 0,
    statements: 1,
  };
}

// ---------- setup ----------

async function api(baseUrl: string, token: string, method: string, p: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(baseUrl + p, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status !== 200) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function addUsers(baseUrl: string, token: string, tag: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const u = `bench-${tag}-${i}-${Date.now().toString(36)}`;
    const res = await api(baseUrl, token, "POST", "/v2/users/human", {
      username: u,
      profile: { givenName: "Bench", familyName: "User" },
      email: { email: `${u}@example.com`, isVerified: true },
    });
    ids.push(res.userId as string);
  }
  return ids;
}

// ---------- report ----------

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "–");
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "–");

function row(cells: string[]): string {
  const widths = [30, 8, 7, 7, 6, 9, 9, 7, 9, 7];
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" ");
}

function line(name: string, f: Figures, anchor?: Figures): string {
  return row([
    name,
    f.reqPerSec.toFixed(0),
    f1(f.p50),
    f1(f.p99),
    String(f.errors),
    f2(f.nodeMs),
    f2(f.pgMs),
    f.statements === undefined ? "–" : f2(f.statements),
    anchor ? anchor.reqPerSec.toFixed(0) : "",
    anchor ? f2(f.reqPerSec / anchor.reqPerSec) : "",
  ]);
}

// ---------- main ----------

async function main(): Promise<void> {
  const database = await createTestDatabase();
  const dbName = new URL(database.url).pathname.slice(1);
  const dataDir = await mkdtemp(path.join(tmpdir(), "roster-bench-"));
  const profileDir = path.join(ROOT, "bench", "profiles");
  const children: ChildProcess[] = [];
  try {
    if (PROFILE) await mkdir(profileDir, { recursive: true });
    // Roster compiled, as `npm start` runs it
    const built = spawnSync(process.execPath, [path.join(ROOT, "scripts", "build.mjs"), "--if-stale"], { cwd: ROOT, stdio: "inherit" });
    if (built.status !== 0) throw new Error("npm run build failed");
    const roster = nodeChild(
      "roster-process.mjs",
      { PORT: "0", ROSTER_HOST: "127.0.0.1", ROSTER_DATA_DIR: dataDir, DATABASE_URL: database.url, ROSTER_LOG_LEVEL: "warn" },
      PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [],
    );
    children.push(roster);
    const { port } = await ready<{ port: number }>(roster, "Roster");
    const bare = nodeChild("bare-server.ts", {});
    children.push(bare);
    const { h2Port, h1Port } = await ready<{ h2Port: number; h1Port: number }>(bare, "bare server");

    const baseUrl = `http://127.0.0.1:${port}`;
    const token = (await readFile(path.join(dataDir, "admin.pat"), "utf8")).trim();
    const users = await addUsers(baseUrl, token, "u", CONNECTIONS);
    const [hot] = await addUsers(baseUrl, token, "hot", 1);
    const pgUsers = await addUsers(baseUrl, token, "pg", CONNECTIONS);
    const pwUsers = await addUsers(baseUrl, token, "pw", 2);

    const rosterServer: Server = { child: roster, pid: roster.pid!, statements: statementCounter(roster) };
    const bareServer: Server = { child: bare, pid: bare.pid! };

    const server = process.env.DATABASE_URL ? "server" : "embedded";
    console.log(
      `Roster ${SECONDS} s per case after ${WARMUP} s warm-up (and ${WARMUP} s per protocol and RPC before the first), ${CONNECTIONS} connections × 1 stream, one user per connection, ` +
        `PostgreSQL: ${server}, pool ${process.env.ROSTER_DB_POOL_MAX ?? "default"}`,
    );
    console.log(row(["case", "req/s", "p50 ms", "p99 ms", "errors", "node ms", "pg ms", "stmts", "anchor/s", "÷anchor"]));

    // warm-up, not counted: every protocol and RPC once, so that the first case does not pay
    // for the JIT and the pools alone
    for (const rpc of ["update", "get"] as Rpc[]) {
      for (const [protocol] of PROTOCOLS) {
        if (!ONLY_PROTOCOLS.has(protocol)) continue;
        await drive(rosterServer, dbName, { protocol, rpc, port, token, users, seconds: WARMUP, warmupSeconds: 0 });
        await drive(bareServer, "-", { protocol, rpc, port: protocol === "rest" ? h1Port : h2Port, token, users, seconds: WARMUP, warmupSeconds: 0 });
      }
    }

    const results = new Map<string, Figures>();
    for (const rpc of ["update", "get"] as Rpc[]) {
      if (!ONLY.has(rpc)) continue;
      const title = rpc === "update" ? "UpdateHumanUser" : "GetUserByID";
      for (const [protocol, label] of PROTOCOLS) {
        if (!ONLY_PROTOCOLS.has(protocol)) continue;
        const r = await drive(rosterServer, dbName, { protocol, rpc, port, token, users });
        const b = await drive(bareServer, "-", { protocol, rpc, port: protocol === "rest" ? h1Port : h2Port, token, users });
        results.set(`${rpc}/${protocol}`, r);
        console.log(line(`${title} ${label}`, r, b));
        console.log(line(`  bare connect-node ${label}`, b));
        if (r.firstError) console.log(`  first error: ${r.firstError}`);
      }
    }
    if (ONLY.has("hot")) {
      const h = await drive(rosterServer, dbName, { protocol: "grpc", rpc: "update", port, token, users: [hot] });
      console.log(line("UpdateHumanUser gRPC, 1 hot user", h, results.get("update/grpc")));
      if (h.firstError) console.log(`  first error: ${h.firstError}`);
    }
    if (ONLY.has("hashing")) {
      // the same profile updates while 2 other connections keep setting passwords (bcrypt)
      const passwords = spawn(
        process.execPath,
        [path.join(HERE, "load-generator.mjs"), JSON.stringify({ protocol: "grpc", rpc: "password", port, token, users: pwUsers, connections: 2, seconds: SECONDS + WARMUP + 2, warmupSeconds: 0 })],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      let pwOut = "";
      passwords.stdout!.on("data", (c: Buffer) => (pwOut += c.toString()));
      const pwDone = new Promise<void>((resolve) => passwords.once("exit", () => resolve()));
      await new Promise((r) => setTimeout(r, 500));
      const h = await drive(rosterServer, dbName, { protocol: "grpc", rpc: "update", port, token, users });
      await pwDone;
      const pw = pwOut.trim().split("\n").map((l) => JSON.parse(l)).find((l) => l.requests !== undefined) as { requests: number; errors: number; seconds: number; firstError: string | null } | undefined;
      const base = results.get("update/grpc");
      console.log(
        line("UpdateHumanUser gRPC + hashing", h, base) +
          `   p99 ÷ without: ${base ? f2(h.p99 / base.p99) : "–"}; SetPassword ${pw ? (pw.requests / pw.seconds).toFixed(1) : "?"}/s, errors ${pw?.errors ?? "?"}`,
      );
      if (pw?.firstError) console.log(`  first SetPassword error: ${pw.firstError}`);
    }
    if (ONLY.has("workers")) {
      // the compiled CLI, as deployed, with ROSTER_WORKERS: node CPU is the primary's and its workers'
      const cluster = spawn(process.execPath, [path.join(ROOT, "dist", "main.js"), "start"], {
        cwd: ROOT,
        env: { ...process.env, PORT: "0", ROSTER_HOST: "127.0.0.1", ROSTER_DATA_DIR: dataDir, DATABASE_URL: database.url, ROSTER_LOG_LEVEL: "info", ROSTER_WORKERS: String(WORKERS) },
        stdio: ["ignore", "pipe", "inherit"],
      });
      children.push(cluster);
      const clusterPort = await new Promise<number>((resolve, reject) => {
        let pending = "";
        cluster.once("exit", (code) => reject(new Error(`ROSTER_WORKERS=${WORKERS} exited (${code})`)));
        cluster.stdout!.on("data", (c: Buffer) => {
          pending += c.toString("utf8");
          let nl: number;
          while ((nl = pending.indexOf("\n")) >= 0) {
            const l = pending.slice(0, nl);
            pending = pending.slice(nl + 1);
            try {
              const j = JSON.parse(l) as { msg?: string; port?: number; workers?: number };
              if (j.msg === "roster listening" && j.workers === WORKERS && typeof j.port === "number") resolve(j.port);
            } catch {
              // not a log line
            }
          }
        });
      });
      const w = await drive({ child: cluster, pid: cluster.pid!, withChildren: true }, dbName, { protocol: "grpc", rpc: "update", port: clusterPort, token, users });
      console.log(line(`UpdateHumanUser gRPC, ${WORKERS} workers`, w, results.get("update/grpc")) + "   (÷ 1 worker)");
      if (w.firstError) console.log(`  first error: ${w.firstError}`);
      await stop(cluster);
    }
    if (ONLY.has("pgbench")) {
      const ids = `ARRAY[${pgUsers.map((u) => `'${u}'`).join(",")}]`;
      const pick = `(${ids})[:client_id % ${pgUsers.length} + 1]`;
      const update = `WITH u AS (
  UPDATE users SET nick_name = 'p' || (random() * 1e9)::bigint, nick_name_folded = 'p', sequence = sequence + 1, changed_at = now()
  WHERE id = ${pick} RETURNING id, sequence, org_id
), e AS (
  INSERT INTO events (aggregate_type, aggregate_id, sequence, type, payload, actor_id, org_id, created_at)
  SELECT 'user', u.id, u.sequence, 'user.human.profile.changed', '{"nickName":"p"}'::jsonb, 'bench', u.org_id, now() FROM u RETURNING 1
) SELECT (SELECT count(*) FROM u) AS updated, (SELECT count(*) FROM e) AS appended;\n`;
      const read = `SELECT * FROM users WHERE id = ${pick};\n`;
      const pu = await pgbench(database.url, dbName, update, dataDir);
      if (pu) console.log(line("pgbench update+events, 1 stmt", pu, undefined) + `   Roster gRPC ÷ pgbench ${f2((results.get("update/grpc")?.reqPerSec ?? NaN) / pu.reqPerSec)}`);
      const pr = await pgbench(database.url, dbName, read, dataDir);
      if (pr) console.log(line("pgbench read user, 1 stmt", pr, undefined) + `   Roster gRPC ÷ pgbench ${f2((results.get("get/grpc")?.reqPerSec ?? NaN) / pr.reqPerSec)}`);
    }
    console.log("node ms / pg ms: CPU per request of the Roster process / of its PostgreSQL backends; stmts: statements per request.");
  } finally {
    for (const c of children.reverse()) await stop(c);
    if (PROFILE) {
      const files = (await readdir(profileDir).catch(() => [] as string[])).filter((f) => f.endsWith(".cpuprofile"));
      if (files.length) console.log(`CPU profile of Roster: ${path.join("bench", "profiles", files.sort().at(-1)!)} (open in Chrome DevTools → Performance)`);
    }
    await database.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
