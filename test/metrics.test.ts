/**
 * `GET /metrics` in the Prometheus text format: parsed, and its counters moved by real calls
 * over gRPC, Connect and REST; the pool, hashing-queue, outbox and process metrics; and
 * ROSTER_METRICS_PORT moving the endpoint to a port of its own.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { pino } from "pino";
import { startRoster, type RunningRoster } from "../src/app.js";
import { loadConfig } from "../src/config/load-config.js";
import { connectJsonH1, grpcJsClient, restClient } from "./support/clients.js";
import { newHuman, rest } from "./support/fixtures.js";
import { startTestRoster, type TestRoster } from "./support/roster.js";

let roster: TestRoster;

before(async () => {
  roster = await startTestRoster();
});

after(async () => {
  await roster?.close();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The text exposition format (version 0.0.4): `# HELP`/`# TYPE` lines and samples. */
function parseMetrics(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line.startsWith("# HELP ")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g)) labels[pair[1]!] = pair[2]!;
    const value = m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : Number(m[3]);
    // prom-client writes NaN as "Nan"
    assert.ok(!Number.isNaN(value) || /^nan$/i.test(m[3]!), `bad value in ${line}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return { samples, types };
}

async function scrape(url: string) {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parseMetrics(await res.text());
}

function value(samples: Sample[], name: string, labels: Record<string, string>): number {
  const found = samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return found?.value ?? 0;
}

const GET_USER = "/zitadel.user.v2.UserService/GetUserByID";

describe("/metrics on the API port", () => {
  test("requests by protocol, procedure and code: counters and histogram move with real calls", async () => {
    const before = (await scrape(`${roster.baseUrl}/metrics`)).samples;
    const grpcClient = grpcJsClient(roster.port);
    const connect = connectJsonH1(roster.baseUrl);
    const restC = restClient(roster.baseUrl);
    try {
      // two gRPC calls without a token, one with; one Connect and one REST call that find no user
      for (const token of [undefined, undefined, roster.adminToken]) await grpcClient.call("GetUserByID", { userId: "1" }, token ? { token } : {});
      await connect.call("GetUserByID", { userId: "1" }, { token: roster.adminToken });
      await restC.call("GetUserByID", { userId: "1" }, { token: roster.adminToken });
    } finally {
      (grpcClient as { close?: () => void }).close?.();
    }
    const { samples: after, types } = await scrape(`${roster.baseUrl}/metrics`);
    assert.equal(types.get("roster_requests_total"), "counter");
    assert.equal(types.get("roster_request_duration_seconds"), "histogram");
    const delta = (protocol: string, code: string) =>
      value(after, "roster_requests_total", { protocol, procedure: GET_USER, code }) - value(before, "roster_requests_total", { protocol, procedure: GET_USER, code });
    assert.equal(delta("grpc", "unauthenticated"), 2);
    assert.equal(delta("grpc", "not_found"), 1);
    assert.equal(delta("connect", "not_found"), 1);
    assert.equal(delta("rest", "not_found"), 1);
    const histogramCount = (s: Sample[]) => value(s, "roster_request_duration_seconds_count", { protocol: "grpc", procedure: GET_USER, code: "unauthenticated" });
    assert.equal(histogramCount(after) - histogramCount(before), 2);
    const inf = value(after, "roster_request_duration_seconds_bucket", { protocol: "grpc", procedure: GET_USER, code: "unauthenticated", le: "+Inf" });
    assert.equal(inf, histogramCount(after));
    assert.ok(value(after, "roster_request_duration_seconds_sum", { protocol: "grpc", procedure: GET_USER, code: "unauthenticated" }) > 0);
    // the scrape before this one is counted too
    assert.ok(value(after, "roster_requests_total", { protocol: "http", procedure: "/metrics", code: "ok" }) >= 1);
  });

  test("unknown REST paths share one label", async () => {
    await fetch(`${roster.baseUrl}/v2/no/such/path/${Date.now()}`);
    const text = await (await fetch(`${roster.baseUrl}/metrics`)).text();
    assert.match(text, /roster_requests_total\{protocol="rest",procedure="unmatched",code="not_found"\} [1-9]/);
    assert.doesNotMatch(text, /no\/such\/path/);
  });

  test("database pool, password hashing and process metrics", async () => {
    // a database round trip just before (pg closes idle connections after 10 s)
    assert.equal((await fetch(`${roster.baseUrl}/readyz`)).status, 200);
    const { samples, types } = await scrape(`${roster.baseUrl}/metrics`);
    const names = new Set(samples.map((s) => s.name));
    for (const name of ["roster_db_pool_connections", "roster_db_pool_waiting", "roster_password_hash_running", "roster_password_hash_queued"]) {
      assert.equal(types.get(name), "gauge", name);
      assert.ok(names.has(name), name);
    }
    // that connection is back in the pool; none is checked out while nothing runs
    assert.ok(value(samples, "roster_db_pool_connections", { state: "idle" }) >= 1);
    assert.equal(value(samples, "roster_db_pool_connections", { state: "in_use" }), 0);
    assert.equal(value(samples, "roster_db_pool_waiting", {}), 0);
    assert.equal(value(samples, "roster_password_hash_queued", {}), 0);
    for (const name of ["process_cpu_user_seconds_total", "process_resident_memory_bytes", "nodejs_heap_size_used_bytes", "nodejs_eventloop_lag_seconds"]) {
      assert.ok(names.has(name), name);
    }
  });

  test("HEAD answers without a body; POST is 405", async () => {
    const head = await fetch(`${roster.baseUrl}/metrics`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
    assert.equal((await fetch(`${roster.baseUrl}/metrics`, { method: "POST" })).status, 405);
  });
});

describe("queue and outbox gauges", () => {
  let second: RunningRoster | undefined;
  after(async () => {
    await second?.close();
  });

  test("the notification outbox by status matches the table; queued bcrypt work shows while it waits", async () => {
    // pending notifications: users whose email code is sent
    for (let i = 0; i < 3; i++) {
      const r = await rest(roster, "POST", "/v2/users/human", { token: roster.adminToken, body: newHuman({ email: { email: `m${i}-${Date.now()}@example.com`, sendCode: {} } }) });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    const client = new pg.Client({ connectionString: roster.databaseUrl });
    await client.connect();
    let expected: Record<string, number>;
    try {
      const rows = (await client.query<{ status: string; n: string }>("SELECT status, count(*) AS n FROM notifications GROUP BY status")).rows;
      expected = Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    } finally {
      await client.end();
    }
    assert.ok((expected.pending ?? 0) >= 3, JSON.stringify(expected));

    // a second process with a slow bcrypt: its first scrape reads the outbox afresh
    second = await startRoster(loadConfig({ ...roster.env, PORT: "0", ROSTER_BCRYPT_COST: "13" }), pino({ level: "silent" }));
    const url = `http://127.0.0.1:${second.port}/metrics`;
    const first = await scrape(url);
    assert.equal(first.types.get("roster_notifications"), "gauge");
    for (const [status, n] of Object.entries(expected)) assert.equal(value(first.samples, "roster_notifications", { status }), n, status);

    // six passwords at once: two hash, the others wait for a slot
    const baseUrl = `http://127.0.0.1:${second.port}`;
    let done = 0;
    const calls = Array.from({ length: 6 }, () =>
      rest({ baseUrl }, "POST", "/v2/users/human", { token: roster.adminToken, body: newHuman({ password: { password: "Secret-password-1", changeRequired: false } }) }).finally(() => done++),
    );
    let maxQueued = 0;
    let maxRunning = 0;
    while (done < calls.length) {
      const { samples } = await scrape(url);
      maxQueued = Math.max(maxQueued, value(samples, "roster_password_hash_queued", {}));
      maxRunning = Math.max(maxRunning, value(samples, "roster_password_hash_running", {}));
    }
    for (const r of await Promise.all(calls)) assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(maxQueued >= 1, `queued never above 0 (running max ${maxRunning})`);
    assert.equal(maxRunning, 2);
  });
});

describe("ROSTER_METRICS_PORT", () => {
  let own: RunningRoster | undefined;
  after(async () => {
    await own?.close();
  });

  test("serves /metrics on its own port, and no longer on the API port", async () => {
    own = await startRoster(loadConfig({ ...roster.env, PORT: "0", ROSTER_METRICS_PORT: "0" }), pino({ level: "silent" }));
    assert.ok(own.metricsPort && own.metricsPort !== own.port);
    await fetch(`http://127.0.0.1:${own.port}/healthz`);
    const { samples } = await scrape(`http://127.0.0.1:${own.metricsPort}/metrics`);
    assert.equal(value(samples, "roster_requests_total", { protocol: "http", procedure: "/healthz", code: "ok" }), 1);
    assert.equal((await fetch(`http://127.0.0.1:${own.metricsPort}/other`)).status, 404);
    const onApi = await fetch(`http://127.0.0.1:${own.port}/metrics`);
    assert.equal(onApi.status, 404);
    assert.deepEqual(await onApi.json(), { code: 5, message: "Not Found" });
  });
});
