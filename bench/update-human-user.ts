/**
 * UpdateHumanUser throughput and latency on this machine: starts Roster in-process on a fresh
 * embedded PostgreSQL (or on DATABASE_URL), creates users, then runs concurrent profile updates
 * over Connect (HTTP/2) and REST (HTTP/1.1) for a bounded time and count on loopback.
 *
 *   npm run bench                      # defaults
 *   BENCH_SECONDS=5 BENCH_CONCURRENCY=32 npm run bench
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import { startRoster } from "../src/app.js";
import { loadConfig } from "../src/config/load-config.js";
import { UserService } from "../src/gen/zitadel/user/v2/user_service_pb.js";

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const maxRequests = Number(process.env.BENCH_MAX_REQUESTS ?? 200_000);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function run(name: string, call: (worker: number, i: number) => Promise<void>): Promise<void> {
  const latencies: number[] = [];
  let errors = 0;
  let issued = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < deadline && issued < maxRequests) {
        const i = issued++;
        const t0 = performance.now();
        try {
          await call(worker, i);
          latencies.push(performance.now() - t0);
        } catch (e) {
          if (errors++ === 0) console.error(`${name}: first error:`, e instanceof Error ? e.message : e);
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  console.log(
    `${name.padEnd(22)} ${(latencies.length / elapsed).toFixed(0).padStart(6)} req/s  ` +
      `p50 ${percentile(latencies, 50).toFixed(1)} ms  p99 ${percentile(latencies, 99).toFixed(1)} ms  errors ${errors}`,
  );
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(path.join(tmpdir(), "roster-bench-"));
  const config = loadConfig({ ...process.env, PORT: "0", ROSTER_HOST: "127.0.0.1", ROSTER_DATA_DIR: dataDir, ROSTER_LOG_LEVEL: "silent" });
  const roster = await startRoster(config, pino({ level: "silent" }));
  try {
    const token = (await readFile(config.firstAdminPatFile, "utf8")).trim();
    const baseUrl = `http://127.0.0.1:${roster.port}`;
    const client = createClient(
      UserService,
      createConnectTransport({ baseUrl, httpVersion: "2", interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${token}`), next(req))] }),
    );
    // one user per worker: measures the service, not contention on a single row lock
    const users: string[] = [];
    for (let w = 0; w < concurrency; w++) {
      const res = await client.addHumanUser({
        username: `bench-${w}-${Date.now()}`,
        profile: { givenName: "Bench", familyName: "User" },
        email: { email: `bench${w}@example.com`, verification: { case: "isVerified", value: true } },
      });
      users.push(res.userId);
    }
    console.log(`UpdateHumanUser, ${concurrency} concurrent callers, ${seconds} s each, database: ${config.databaseUrl ? "server" : "embedded"}`);
    await run("Connect proto (h2)", (w, i) =>
      client.updateHumanUser({ userId: users[w], profile: { givenName: "Bench", familyName: "User", nickName: `n${i}` } }).then(() => undefined),
    );
    await run("REST JSON (HTTP/1.1)", async (w, i) => {
      const res = await fetch(`${baseUrl}/v2/users/human/${users[w]}`, {
        method: "PUT",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ profile: { givenName: "Bench", familyName: "User", nickName: `r${i}` } }),
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`HTTP ${res.status} ${text}`);
    });
    await run("one user, no-op", (_w) =>
      client.updateHumanUser({ userId: users[0], profile: { givenName: "Bench", familyName: "User" } }).then(() => undefined),
    );
  } finally {
    await roster.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
