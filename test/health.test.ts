/**
 * Health on the API port: `GET /healthz`, `GET /readyz` and the gRPC health protocol
 * (grpc.health.v1.Health Check/List/Watch), through real clients; readiness turns "not ready"
 * as soon as the drain begins and while the database does not answer.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { startRoster, type RunningRoster } from "../src/app.js";
import { loadConfig } from "../src/config/load-config.js";
import {
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthCheckResponseSchema,
  type HealthCheckResponse,
} from "../src/gen/grpc/health/v1/health_pb.js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { startFaultPostgres, type FaultPostgres } from "./support/fault-postgres.js";
import { baseEnv, killLeftovers, startRosterProcess } from "./support/process.js";
import { startTestRoster, type TestRoster } from "./support/roster.js";

let roster: TestRoster;

before(async () => {
  roster = await startTestRoster();
});

after(async () => {
  await roster?.close();
});

async function getJson(baseUrl: string, path: string, init?: RequestInit) {
  const res = await fetch(`${baseUrl}${path}`, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

/** grpc-js (an independent stack) calling Check with bytes our schema encodes. */
function grpcJsCheck(port: number, service: string): Promise<{ err: grpc.ServiceError | null; status?: ServingStatus }> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise<{ err: grpc.ServiceError | null; status?: ServingStatus }>((resolve) =>
    client.makeUnaryRequest(
      "/grpc.health.v1.Health/Check",
      (m: Uint8Array) => Buffer.from(m),
      (b: Buffer) => fromBinary(HealthCheckResponseSchema, b),
      toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service })),
      (err, res?: HealthCheckResponse) => resolve({ err, status: res?.status }),
    ),
  ).finally(() => client.close());
}

interface Watcher {
  statuses: ServingStatus[];
  /** Resolves with the stream's final status code once it ends. */
  ended: Promise<number>;
  /** Resolves once `n` statuses have arrived. */
  received(n: number): Promise<void>;
  cancel(): void;
  close(): void;
}

function grpcJsWatch(port: number, service: string): Watcher {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const statuses: ServingStatus[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const call = client.makeServerStreamRequest(
    "/grpc.health.v1.Health/Watch",
    (m: Uint8Array) => Buffer.from(m),
    (b: Buffer) => fromBinary(HealthCheckResponseSchema, b),
    toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service })),
  );
  call.on("data", (m: HealthCheckResponse) => {
    statuses.push(m.status);
    for (const w of waiters.splice(0)) if (statuses.length >= w.n) w.resolve();
    else waiters.push(w);
  });
  const ended = new Promise<number>((resolve) => {
    call.on("status", (s: grpc.StatusObject) => resolve(s.code));
    call.on("error", () => {});
  });
  return {
    statuses,
    ended,
    received: (n) => (statuses.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }))),
    cancel: () => call.cancel(),
    close: () => client.close(),
  };
}

describe("HTTP health endpoints", () => {
  test("/healthz and /readyz answer 200 with a JSON status, without a token", async () => {
    const live = await getJson(roster.baseUrl, "/healthz");
    assert.equal(live.status, 200);
    assert.deepEqual(live.body, { status: "ok" });
    assert.equal(live.headers.get("cache-control"), "no-store");
    const ready = await getJson(roster.baseUrl, "/readyz");
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, { status: "ready" });
  });

  test("HEAD works, other methods are 405 with Allow", async () => {
    const head = await fetch(`${roster.baseUrl}/readyz`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
    const post = await getJson(roster.baseUrl, "/healthz", { method: "POST", body: "{}" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
  });
});

describe("grpc.health.v1.Health", () => {
  test("Check: SERVING for the server and each API service, NOT_FOUND for an unknown one (grpc-js)", async () => {
    for (const service of ["", "zitadel.user.v2.UserService", "zitadel.org.v2.OrganizationService", "roster.selfservice.v1.SelfService"]) {
      const { err, status } = await grpcJsCheck(roster.port, service);
      assert.equal(err, null, service);
      assert.equal(status, ServingStatus.SERVING, service);
    }
    const unknown = await grpcJsCheck(roster.port, "no.such.Service");
    assert.equal(unknown.err?.code, grpc.status.NOT_FOUND);
  });

  test("Check and List over Connect and gRPC (connect-es)", async () => {
    for (const transport of [createGrpcTransport({ baseUrl: roster.baseUrl }), createConnectTransport({ baseUrl: roster.baseUrl, httpVersion: "1.1" })]) {
      const client = createClient(Health, transport);
      assert.equal((await client.check({ service: "" })).status, ServingStatus.SERVING);
      const list = await client.list({});
      assert.deepEqual(Object.keys(list.statuses).sort(), ["", "roster.selfservice.v1.SelfService", "zitadel.org.v2.OrganizationService", "zitadel.user.v2.UserService"]);
      for (const s of Object.values(list.statuses)) assert.equal(s.status, ServingStatus.SERVING);
      const err = await client.check({ service: "nope" }).then(() => undefined, (e: unknown) => ConnectError.from(e));
      assert.equal(err?.code, Code.NotFound);
    }
  });

  test("Watch: the current status at once, SERVICE_UNKNOWN for an unknown service; the client may cancel", async () => {
    const w = grpcJsWatch(roster.port, "zitadel.user.v2.UserService");
    const u = grpcJsWatch(roster.port, "no.such.Service");
    try {
      await w.received(1);
      await u.received(1);
      assert.deepEqual(w.statuses, [ServingStatus.SERVING]);
      assert.deepEqual(u.statuses, [ServingStatus.SERVICE_UNKNOWN]);
      w.cancel();
      u.cancel();
      assert.equal(await w.ended, grpc.status.CANCELLED);
      assert.equal(await u.ended, grpc.status.CANCELLED);
    } finally {
      w.close();
      u.close();
    }
  });
});

describe("readiness and the drain", () => {
  let second: RunningRoster | undefined;
  after(async () => {
    await second?.close();
  });

  test("markDraining: /readyz 503, Check NOT_SERVING, watchers get NOT_SERVING and end; /healthz stays 200", async () => {
    second = await startRoster(loadConfig({ ...roster.env, PORT: "0" }), pino({ level: "silent" }));
    const baseUrl = `http://127.0.0.1:${second.port}`;
    const w = grpcJsWatch(second.port, "");
    try {
      await w.received(1);
      assert.equal((await getJson(baseUrl, "/readyz")).status, 200);
      second.markDraining();
      const ready = await getJson(baseUrl, "/readyz");
      assert.equal(ready.status, 503);
      assert.equal(ready.body?.reason, "draining");
      assert.equal(ready.headers.get("retry-after"), "1");
      assert.equal((await getJson(baseUrl, "/healthz")).status, 200);
      assert.equal((await grpcJsCheck(second.port, "")).status, ServingStatus.NOT_SERVING);
      assert.equal(await w.ended, grpc.status.OK);
      assert.deepEqual(w.statuses, [ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    } finally {
      w.close();
    }
  });

  test("close() marks the server not ready before it drains: an open Watch hears NOT_SERVING", async () => {
    const third = await startRoster(loadConfig({ ...roster.env, PORT: "0" }), pino({ level: "silent" }));
    const w = grpcJsWatch(third.port, "zitadel.user.v2.UserService");
    try {
      await w.received(1);
      const closing = third.close();
      assert.equal(await w.ended, grpc.status.OK);
      assert.deepEqual(w.statuses, [ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
      await closing;
    } finally {
      w.close();
    }
  });
});

describe("SIGTERM to the compiled server", () => {
  let dataDir: string | undefined;
  after(async () => {
    await killLeftovers();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test("an open Watch hears NOT_SERVING and ends before the process exits 0", async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "roster-health-"));
    const child = await startRosterProcess({
      ...baseEnv(dataDir),
      DATABASE_URL: roster.databaseUrl,
      ROSTER_MASTER_KEY: roster.env.ROSTER_MASTER_KEY!,
    });
    const w = grpcJsWatch(child.port, "");
    try {
      await w.received(1);
      assert.equal((await getJson(child.baseUrl, "/readyz")).status, 200);
      const exit = child.stop("SIGTERM");
      assert.equal(await w.ended, grpc.status.OK);
      assert.deepEqual(w.statuses, [ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
      assert.equal(await exit, 0);
    } finally {
      w.close();
    }
  });
});

describe("readiness follows the database", () => {
  let pgServer: FaultPostgres | undefined;
  let own: RunningRoster | undefined;
  after(async () => {
    await own?.close();
    await pgServer?.destroy();
  });

  test("/readyz is 503 while the database is down and 200 again once it is back", async () => {
    pgServer = await startFaultPostgres();
    const url = await pgServer.createDatabase("roster_health");
    own = await startRoster(loadConfig({ ...roster.env, PORT: "0", DATABASE_URL: url, ROSTER_DB_CONNECT_TIMEOUT_MS: "1000" }), pino({ level: "silent" }));
    const baseUrl = `http://127.0.0.1:${own.port}`;
    assert.equal((await getJson(baseUrl, "/readyz")).status, 200);

    await pgServer.stop("fast");
    const down = await getJson(baseUrl, "/readyz");
    assert.equal(down.status, 503);
    assert.equal(down.body?.reason, "database");
    // nothing about the database's whereabouts goes to an unauthenticated client
    assert.deepEqual(down.body, { status: "not ready", reason: "database" });
    assert.equal((await grpcJsCheck(own.port, "")).status, ServingStatus.NOT_SERVING);
    assert.equal((await getJson(baseUrl, "/healthz")).status, 200);

    await pgServer.start();
    // the pool may hand out one connection that died with the old server before a fresh one
    let status = 0;
    for (let attempt = 0; attempt < 20 && status !== 200; attempt++) status = (await getJson(baseUrl, "/readyz")).status;
    assert.equal(status, 200);
  });
});
