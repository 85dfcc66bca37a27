/**
 * Resident memory of a Roster process before, under and after a burst of mixed load: valid and
 * malformed requests over HTTP/2 (Connect, gRPC) and HTTP/1.1 (REST), bodies up to 512 KiB,
 * and connection churn. Roster runs as a child process (so the load generator's memory is not
 * counted); the child reports its JS heap after a forced GC over IPC.
 *
 *   npx tsx bench/memory.ts                         # embedded PostgreSQL, 60 s of load
 *   DATABASE_URL=postgres://… BENCH_SECONDS=30 npx tsx bench/memory.ts
 *   MALLOC_ARENA_MAX=8 npx tsx bench/memory.ts      # compare allocator settings
 *
 * Not a test: it prints figures and asserts nothing.
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import pg from "pg";

interface Memory {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

const MiB = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;

// ---------------------------------------------------------------- child: Roster itself
async function child(): Promise<void> {
  const { pino } = await import("pino");
  const { startRoster } = await import("../src/app.js");
  const { loadConfig } = await import("../src/config/load-config.js");
  const config = loadConfig(process.env);
  const roster = await startRoster(config, pino({ level: "silent" }));
  const token = (await readFile(config.firstAdminPatFile, "utf8")).trim();
  process.on("message", (msg: { cmd: string }) => {
    if (msg.cmd === "mem") {
      (globalThis as { gc?: () => void }).gc?.();
      const m = process.memoryUsage();
      process.send!({ rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers });
    } else if (msg.cmd === "snapshot") {
      (globalThis as { gc?: () => void }).gc?.();
      void import("node:v8").then((v8) => process.send!({ file: v8.writeHeapSnapshot() }));
    } else if (msg.cmd === "stop") {
      void roster.close().then(() => process.exit(0));
    }
  });
  process.send!({ port: roster.port, token });
}

// ---------------------------------------------------------------- parent: load and measurement
function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}

/** Resident memory per kind of mapping: the brk heap, anonymous mappings (malloc arenas, V8), files. */
function residentByMapping(pid: number): string {
  const sums = new Map<string, number>();
  let current = "";
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[1] ?? "";
      current = name === "" ? "anonymous" : name.startsWith("/") ? "files" : name;
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) sums.set(current, (sums.get(current) ?? 0) + Number(rss[1]) * 1024);
  }
  return [...sums].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${MiB(v)}`).join(", ");
}

function ask(proc: ChildProcess): Promise<Memory> {
  return new Promise((resolve) => {
    proc.once("message", (m) => resolve(m as Memory));
    proc.send({ cmd: "mem" });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const GZIP_BOMB = gzipSync(Buffer.alloc(1000 * 1024, 0x41));

function grpcFrame(payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

async function load(port: number, token: string, userId: string, seconds: number): Promise<{ requests: number; errors: number }> {
  const deadline = Date.now() + seconds * 1000;
  let requests = 0;
  let errors = 0;
  const base = `http://127.0.0.1:${port}`;

  const h2Request = (session: http2.ClientHttp2Session, kind: number): Promise<void> =>
    new Promise((resolve) => {
      let headers: http2.OutgoingHttpHeaders;
      let body: Buffer;
      switch (kind % 5) {
        case 4:
          // a small gzip body that inflates to almost the request limit (a "gzip bomb")
          headers = { "content-type": "application/proto", "content-encoding": "gzip" };
          body = GZIP_BOMB;
          break;
        case 0:
          headers = { "content-type": "application/json" };
          body = Buffer.from(JSON.stringify({ userId }));
          break;
        case 1:
          headers = { "content-type": "application/json" };
          body = Buffer.from(JSON.stringify({ userId, profile: { givenName: `G${kind}`, familyName: "Mem" }, junk: "x".repeat(kind % 65536) }));
          break;
        case 2:
          headers = { "content-type": "application/proto" };
          body = randomBytes(1024 + (kind * 7919) % (256 * 1024));
          break;
        default:
          headers = { "content-type": "application/grpc", te: "trailers" };
          body = grpcFrame(randomBytes((kind * 104729) % (64 * 1024)));
      }
      // one update in 16: they all lock the same user row
      const method = kind % 16 === 1 ? "UpdateHumanUser" : "GetUserByID";
      let stream: http2.ClientHttp2Stream;
      try {
        stream = session.request({ ":method": "POST", ":path": `/zitadel.user.v2.UserService/${method}`, authorization: `Bearer ${token}`, ...headers });
      } catch {
        errors++;
        resolve();
        return;
      }
      stream.on("data", () => {});
      stream.on("end", () => {
        requests++;
        resolve();
      });
      stream.on("error", () => {
        errors++;
        resolve();
      });
      stream.end(body);
    });

  // BENCH_SESSION_REQUESTS > 0: a flood of short connections, each closed after that many requests
  const perSession = Number(process.env.BENCH_SESSION_REQUESTS ?? 0);
  const h2Worker = async (w: number): Promise<void> => {
    let n = w * 1000;
    while (Date.now() < deadline) {
      // a fuzzer's connection: 25 streams at a time for 3 s (or `perSession` requests), then a new one
      const session = http2.connect(base);
      session.on("error", () => {});
      const until = Date.now() + 3_000;
      let left = perSession;
      await Promise.all(
        Array.from({ length: perSession > 0 ? Math.min(25, perSession) : 25 }, async () => {
          while (Date.now() < until && Date.now() < deadline && !session.destroyed && (perSession === 0 || left-- > 0)) {
            await h2Request(session, n++);
          }
        }),
      );
      session.close();
    }
  };

  const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
  const h1Request = (kind: number): Promise<void> =>
    new Promise((resolve) => {
      const junk = kind % 3 === 0 ? randomBytes((kind * 7919) % (512 * 1024)).toString("latin1") : "x".repeat((kind * 31) % 4096);
      const update = kind % 16 === 0;
      const body = kind % 5 === 0 ? junk : JSON.stringify({ userId, profile: { givenName: `H${kind}`, familyName: "Mem" }, junk });
      // REST for updates, Connect JSON over HTTP/1.1 for reads
      const req = http.request(update ? `${base}/v2/users/human/${userId}` : `${base}/zitadel.user.v2.UserService/GetUserByID`, {
        agent,
        method: update ? "PUT" : "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      });
      req.on("response", (res) => {
        res.on("data", () => {});
        res.on("end", () => {
          requests++;
          resolve();
        });
      });
      req.on("error", () => {
        errors++;
        resolve();
      });
      req.end(body);
    });

  const h1Worker = async (w: number): Promise<void> => {
    let n = w * 1000;
    while (Date.now() < deadline) await h1Request(n++);
  };

  await Promise.all([...Array.from({ length: 40 }, (_, w) => h2Worker(w)), ...Array.from({ length: 20 }, (_, w) => h1Worker(w))]);
  agent.destroy();
  return { requests, errors };
}

async function parent(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 60);
  const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? 30);
  const dataDir = await mkdtemp(path.join(tmpdir(), "roster-mem-"));
  let dropDatabase = async () => {};
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PORT: "0",
    ROSTER_HOST: "127.0.0.1",
    ROSTER_DATA_DIR: dataDir,
    ROSTER_LOG_LEVEL: "silent",
    ROSTER_BCRYPT_COST: "4",
  };
  if (process.env.DATABASE_URL) {
    const name = `roster_mem_${randomBytes(4).toString("hex")}`;
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(process.env.DATABASE_URL);
    url.pathname = `/${name}`;
    env.DATABASE_URL = url.toString();
    dropDatabase = async () => {
      const c = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    };
  }

  const proc = fork(fileURLToPath(import.meta.url), ["child"], { env, execArgv: ["--expose-gc", "--import", "tsx"], stdio: "inherit" });
  try {
    const { port, token } = await new Promise<{ port: number; token: string }>((resolve, reject) => {
      proc.once("message", (m) => resolve(m as { port: number; token: string }));
      proc.once("exit", (code) => reject(new Error(`roster exited (${code})`)));
    });
    const created = await fetch(`http://127.0.0.1:${port}/v2/users/human`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ username: "mem", profile: { givenName: "Mem", familyName: "Bench" }, email: { email: "mem@example.com", isVerified: true } }),
    });
    const userId = ((await created.json()) as { userId: string }).userId;

    await sleep(2_000);
    const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
    const before = await ask(proc);
    const beforeMappings = residentByMapping(proc.pid!);
    const row = (label: string, m: Memory | undefined, rss: number) =>
      console.log(
        `${label.padEnd(30)} rss ${MiB(rss).padStart(8)}` +
          (m ? `  heap ${MiB(m.heapUsed).padStart(7)} of ${MiB(m.heapTotal).padStart(7)}  external ${MiB(m.external).padStart(7)}  arrayBuffers ${MiB(m.arrayBuffers).padStart(7)}` : ""),
      );
    console.log(`MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? "(unset)"}, ${rounds} rounds of ${seconds} s load, ${idleSeconds} s idle after each`);
    row("before load (after GC)", before, before.rss);
    console.log(`  resident by mapping: ${beforeMappings}`);
    for (let round = 1; round <= rounds; round++) {
      let peak = rssOf(proc.pid!);
      const sampler = setInterval(() => (peak = Math.max(peak, rssOf(proc.pid!))), 250);
      const t0 = Date.now();
      const result = await load(port, token, userId, seconds);
      clearInterval(sampler);
      const rate = result.requests / ((Date.now() - t0) / 1000);
      console.log(`round ${round}: ${result.requests} answers (${rate.toFixed(0)}/s), ${result.errors} client errors`);
      row(`  peak under load`, undefined, peak);
      await sleep(idleSeconds * 1000);
      const after = await ask(proc);
      row(`  idle ${idleSeconds} s (after GC)`, after, after.rss);
      console.log(`  resident by mapping: ${residentByMapping(proc.pid!)}`);
    }
    if (process.env.BENCH_HEAP_SNAPSHOT) {
      const file = await new Promise<string>((resolve) => {
        proc.once("message", (m) => resolve((m as { file: string }).file));
        proc.send({ cmd: "snapshot" });
      });
      console.log(`heap snapshot: ${file}`);
    }
  } finally {
    proc.send({ cmd: "stop" });
    await new Promise((r) => proc.once("exit", r));
    await dropDatabase();
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "child") await child();
else await parent();
