/**
 * Roster as an operator runs it: a child process started with `dist/main.js start`. First start on
 * the embedded database, restart, crash recovery, graceful shutdown, request logging, and
 * robustness against garbage on the wire.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import net from "node:net";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import path from "node:path";
import { openInspector } from "./support/inspect.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { rest } from "./support/fixtures.js";
import { baseEnv, killLeftovers, postgresServing, startRosterProcess, waitFor, type RosterProcess } from "./support/process.js";

const dataDirs: string[] = [];

async function newDataDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "roster-proc-"));
  dataDirs.push(dir);
  return dir;
}

/** Pids of postgres processes serving the cluster in `<dataDir>/pg`. */
const postgresFor = (dataDir: string): number[] => postgresServing(path.join(dataDir, "pg"));

/** Connection URL of the embedded database Roster keeps in `dataDir` (while it runs). */
function embeddedUrl(dataDir: string): string {
  const state = JSON.parse(readFileSync(path.join(dataDir, "embedded-pg.json"), "utf8")) as { password: string; port: number };
  return `postgres://postgres:${encodeURIComponent(state.password)}@127.0.0.1:${state.port}/roster`;
}

function mode(s: { mode: number }): number {
  return s.mode & 0o777;
}

/** Field number 536870911 with wire type 7: no protobuf decoder accepts it. */
const MALFORMED_PROTO = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]);
const MALFORMED_GRPC_FRAME = Buffer.concat([Buffer.from([0, 0, 0, 0, MALFORMED_PROTO.length]), MALFORMED_PROTO]);

const human = (tag: string, extra: Record<string, unknown> = {}) => ({
  username: `proc-${tag}-${Math.random().toString(36).slice(2, 8)}`,
  profile: { givenName: "Proc", familyName: "Test" },
  email: { email: `proc-${tag}-${Math.random().toString(36).slice(2, 8)}@example.com`, isVerified: true },
  ...extra,
});

after(async () => {
  await killLeftovers();
  // Embedded servers left by a failed test: stop them by their pid, then remove the directories.
  for (const dir of dataDirs) {
    for (const pid of postgresFor(dir)) {
      try {
        process.kill(pid, "SIGINT");
      } catch {
        // gone already
      }
    }
  }
  for (const dir of dataDirs) {
    await waitFor(() => postgresFor(dir).length === 0, `postgres in ${dir} to stop`, 20_000).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
});

describe("first start on the embedded database", () => {
  test("writes the admin PAT and master key privately, serves, stops postgres on SIGTERM; a restart creates nothing new", async () => {
    const dataDir = await newDataDir();
    const env = baseEnv(dataDir); // no DATABASE_URL: embedded, whatever the test run's mode

    const first = await startRosterProcess(env);
    const patFile = path.join(dataDir, "admin.pat");
    const patStat = await stat(patFile);
    assert.equal(mode(patStat), 0o600);
    const pat = (await readFile(patFile, "utf8")).trim();
    assert.match(pat, /\S{20,}/);
    assert.equal(mode(await stat(path.join(dataDir, "master.key"))), 0o600);

    const created = first.logs.find((l) => l.msg === "instance ready");
    assert.equal(created?.created, true);
    assert.equal(first.logs.find((l) => l.msg === "roster listening")?.embeddedDatabase, true);
    const adminId = first.logs.find((l) => typeof l.adminUserId === "string")?.adminUserId as string;
    assert.match(adminId, /^\d{18}$/);

    // the PAT works
    const self = await rest(first, "GET", `/v2/users/${adminId}`, { token: pat });
    assert.equal(self.status, 200, JSON.stringify(self.body));
    assert.equal(self.body.user.username, "admin");
    const added = await rest(first, "POST", "/v2/users/human", { token: pat, body: human("first") });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    const userId: string = added.body.userId;

    assert.ok(postgresFor(dataDir).length > 0, "embedded postgres runs while Roster runs");
    assert.equal(await first.stop("SIGTERM"), 0);
    assert.deepEqual(postgresFor(dataDir), [], "no postgres of this data dir survives a graceful stop");
    assert.equal(existsSync(path.join(dataDir, "pg", "postmaster.pid")), false);
    assert.ok(!first.output().includes(pat), "the PAT appears in no log line");

    // restart: nothing new is created, the old PAT still works, the data is still there
    const second = await startRosterProcess(env);
    try {
      assert.equal(second.logs.find((l) => l.msg === "instance ready")?.created, false);
      assert.equal((await readFile(patFile, "utf8")).trim(), pat);
      assert.equal((await stat(patFile)).mtimeMs, patStat.mtimeMs);
      const again = await rest(second, "GET", `/v2/users/${userId}`, { token: pat });
      assert.equal(again.status, 200, JSON.stringify(again.body));
      const inspector = await openInspector(embeddedUrl(dataDir));
      try {
        const admins = await inspector.db.selectFrom("users").select(["id"]).where("username", "=", "admin").execute();
        assert.deepEqual(admins.map((a) => a.id), [adminId]);
        const orgs = await inspector.db.selectFrom("organizations").select(["id"]).execute();
        assert.equal(orgs.length, 1, "one default organization");
      } finally {
        await inspector.close();
      }
      assert.ok(!second.output().includes(pat));
    } finally {
      assert.equal(await second.stop("SIGTERM"), 0);
    }
    assert.deepEqual(postgresFor(dataDir), []);
  });

  test("after a crash (SIGKILL) the embedded postgres keeps running; the next start takes over and serves", async () => {
    const dataDir = await newDataDir();
    const env = baseEnv(dataDir);
    const first = await startRosterProcess(env);
    const pat = (await readFile(path.join(dataDir, "admin.pat"), "utf8")).trim();
    const orphans = postgresFor(dataDir);
    assert.ok(orphans.length > 0);

    assert.equal(await first.stop("SIGKILL"), "SIGKILL");
    assert.ok(postgresFor(dataDir).length > 0, "the crashed Roster's postgres is still running");

    const second = await startRosterProcess(env);
    try {
      const res = await rest(second, "POST", "/v2/users/human", { token: pat, body: human("after-crash") });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(second.logs.find((l) => l.msg === "instance ready")?.created, false);
    } finally {
      assert.equal(await second.stop("SIGTERM"), 0);
    }
    assert.deepEqual(postgresFor(dataDir), [], "the stale server was stopped and the new one too");
  });
});

describe("a running process on a shared test database", () => {
  let database: TestDatabase;
  let roster: RosterProcess;
  let pat: string;
  let dataDir: string;

  before(async () => {
    database = await createTestDatabase();
    dataDir = await newDataDir();
    roster = await startRosterProcess({ ...baseEnv(dataDir), DATABASE_URL: database.url });
    pat = (await readFile(path.join(dataDir, "admin.pat"), "utf8")).trim();
  });
  after(async () => {
    await roster?.stop("SIGTERM");
    await database?.drop();
  });

  const requestLines = () => roster.logs.filter((l) => l.msg === "request");

  /** A unary gRPC call with a raw request body; resolves with grpc-status (if any arrived). */
  const grpcCall = (body: Buffer) =>
    new Promise<string | undefined>((resolve) => {
      const client = http2.connect(roster.baseUrl);
      let status: string | undefined;
      client.on("error", () => resolve(status));
      const req = client.request({
        ":method": "POST",
        ":path": "/zitadel.user.v2.UserService/GetUserByID",
        "content-type": "application/grpc",
        te: "trailers",
        authorization: `Bearer ${pat}`,
      });
      const take = (h: http2.IncomingHttpHeaders) => {
        if (h["grpc-status"] !== undefined) status = String(h["grpc-status"]);
      };
      req.on("response", take);
      req.on("trailers", take);
      req.on("error", () => {});
      req.on("close", () => {
        client.close();
        resolve(status);
      });
      req.resume();
      req.end(body);
    });

  test("one log line per request: protocol, procedure, code, status, duration — and no secrets", async () => {
    const password = "Very-Secret-Passw0rd!";
    const before = requestLines().length;

    const ok = await rest(roster, "POST", "/v2/users/human", {
      token: pat,
      body: human("log", { password: { password }, email: { email: `log-${Date.now()}@example.com`, returnCode: {} } }),
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const emailCode: string = ok.body.emailCode;
    const notFound = await rest(roster, "GET", "/v2/users/399999999999999999", { token: pat });
    assert.equal(notFound.status, 404);
    const connect = await fetch(`${roster.baseUrl}/zitadel.user.v2.UserService/GetUserByID`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${pat}` },
      body: JSON.stringify({ userId: ok.body.userId }),
    });
    assert.equal(connect.status, 200);
    await connect.text();
    const unauthenticated = await rest(roster, "GET", `/v2/users/${ok.body.userId}`, { token: "not-a-real-token" });
    assert.equal(unauthenticated.status, 401);

    await waitFor(() => requestLines().length >= before + 4, "four request log lines");
    const lines = requestLines().slice(before);
    assert.equal(lines.length, 4, JSON.stringify(lines));
    const [add, missing, viaConnect, denied] = lines;
    assert.deepEqual([add!.protocol, add!.code, add!.status], ["rest", "ok", 200]);
    assert.match(String(add!.procedure), /AddHumanUser|\/v2\/users\/human/);
    assert.deepEqual([missing!.protocol, missing!.code, missing!.status], ["rest", "not_found", 404]);
    assert.deepEqual([viaConnect!.protocol, viaConnect!.code, viaConnect!.status], ["connect", "ok", 200]);
    assert.match(String(viaConnect!.procedure), /GetUserByID/);
    assert.deepEqual([denied!.code, denied!.status], ["unauthenticated", 401]);
    for (const line of lines) {
      assert.equal(typeof line.durationMs, "number");
      assert.ok((line.durationMs as number) >= 0);
    }

    const output = roster.output();
    for (const secret of [pat, password, emailCode, "not-a-real-token"]) {
      assert.ok(!output.includes(secret), `the log contains a secret: ${secret.slice(0, 4)}…`);
    }
  });

  test("every request line carries a request id (the client's x-request-id or a new one, echoed back), the peer and the caller", async () => {
    const before = requestLines().length;
    const adminId = (await rest(roster, "POST", "/v2/users", { token: pat, body: { query: { limit: 1 } } })).headers.get("x-request-id");
    assert.match(String(adminId), /^[0-9a-f-]{36}$/, "a generated id is echoed");
    const mine = await fetch(`${roster.baseUrl}/v2/users/399999999999999998`, { headers: { authorization: `Bearer ${pat}`, "x-request-id": "trace-42.a" } });
    assert.equal(mine.headers.get("x-request-id"), "trace-42.a", "a plain client id is kept");
    await mine.text();
    const odd = await fetch(`${roster.baseUrl}/v2/users/399999999999999997`, { headers: { authorization: `Bearer ${pat}`, "x-request-id": "has spaces {and} braces" } });
    await odd.text();
    const replaced = odd.headers.get("x-request-id");
    assert.match(String(replaced), /^[0-9a-f-]{36}$/, "an id that is not plain is replaced");
    const grpcStatus = await grpcCall(Buffer.from([0, 0, 0, 0, 0]));
    assert.equal(grpcStatus !== undefined, true);

    await waitFor(() => requestLines().length >= before + 4, "four request log lines");
    const lines = requestLines().slice(before);
    assert.deepEqual(
      lines.slice(0, 3).map((l) => l.requestId),
      [adminId, "trace-42.a", replaced],
    );
    const grpcLine = lines[3]!;
    assert.match(String(grpcLine.requestId), /^[0-9a-f-]{36}$/);
    for (const line of lines) {
      assert.equal(line.peer, "127.0.0.1");
      assert.match(String(line.principalId), /^\d+$/, "the authenticated caller's user id");
    }
    assert.equal(new Set(lines.map((l) => l.requestId)).size, lines.length, "ids are distinct");
  });

  test("garbage on the wire and unparsable requests do not take the process down", async () => {
    const sendRaw = (payload: Buffer | string) =>
      new Promise<string>((resolve) => {
        const socket = net.connect(roster.port, "127.0.0.1");
        let answer = "";
        socket.on("data", (d) => (answer += d.toString("latin1")));
        socket.on("error", () => resolve(answer));
        socket.on("close", () => resolve(answer));
        socket.on("connect", () => {
          socket.write(payload);
          setTimeout(() => socket.end(), 200);
        });
      });

    await sendRaw(Buffer.from([0, 1, 2, 3, 255, 254, 13, 10, 13, 10]));
    const badHttp = await sendRaw("GARBAGE / HTTP/9.9\r\nHost: x\r\n\r\n");
    assert.match(badHttp, /^HTTP\/1\.1 4\d\d/);
    await sendRaw("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + "\xff".repeat(64)); // h2 preface, then junk frames
    await sendRaw("POST /v2/users/human HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"truncated");

    const badJson = await rest(roster, "POST", "/v2/users/human", { token: pat, rawBody: "{not json", headers: { "content-type": "application/json" } });
    assert.equal(badJson.status, 400);
    const badConnect = await fetch(`${roster.baseUrl}/zitadel.user.v2.UserService/AddHumanUser`, {
      method: "POST",
      headers: { "content-type": "application/proto", authorization: `Bearer ${pat}` },
      body: MALFORMED_PROTO,
    });
    assert.ok(badConnect.status >= 400);
    await badConnect.text();
    // gRPC over HTTP/2: a frame cut short, and a complete frame holding malformed protobuf
    await grpcCall(Buffer.from([0, 0, 0, 1, 0, 0xff])); // declares 65536 bytes, sends one
    assert.ok(await grpcCall(MALFORMED_GRPC_FRAME));

    const still = await rest(roster, "POST", "/v2/users/human", { token: pat, body: human("after-garbage") });
    assert.equal(still.status, 200, JSON.stringify(still.body));
    assert.equal(roster.logs.some((l) => l.level >= 60), false, "no fatal log line");
  });

  test("a body that cannot be decoded → INVALID_ARGUMENT on every protocol (errors.md §7)", async () => {
    const json = await rest(roster, "POST", "/v2/users/human", { token: pat, rawBody: "{not json", headers: { "content-type": "application/json" } });
    assert.equal(json.status, 400);
    assert.equal(json.body.code, 3);
    const connectProto = await fetch(`${roster.baseUrl}/zitadel.user.v2.UserService/AddHumanUser`, {
      method: "POST",
      headers: { "content-type": "application/proto", authorization: `Bearer ${pat}` },
      body: MALFORMED_PROTO,
    });
    const connectBody = (await connectProto.json()) as { code: string };
    assert.deepEqual([connectProto.status, connectBody.code], [400, "invalid_argument"], JSON.stringify(connectBody));
    assert.equal(await grpcCall(MALFORMED_GRPC_FRAME), "3");
  });
});

describe("graceful shutdown", () => {
  test("a request in flight when SIGTERM arrives completes with 200; the process exits 0", async () => {
    const database = await createTestDatabase();
    try {
      const dataDir = await newDataDir();
      // cost 14: hashing the password takes long enough for the signal to arrive mid-request
      const roster = await startRosterProcess({ ...baseEnv(dataDir), DATABASE_URL: database.url, ROSTER_BCRYPT_COST: "14" });
      const pat = (await readFile(path.join(dataDir, "admin.pat"), "utf8")).trim();
      const inFlight = rest(roster, "POST", "/v2/users/human", {
        token: pat,
        body: human("graceful", { password: { password: "Graceful-Passw0rd!" } }),
      });
      // wait until the request has reached the server (its connection is open), then signal
      await new Promise((r) => setTimeout(r, 150));
      const exit = roster.stop("SIGTERM");
      const res = await inFlight;
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(await exit, 0);
      // the request really was in flight: its log line follows the shutdown line
      const shutdownAt = roster.logs.findIndex((l) => l.msg === "shutting down");
      const requestAt = roster.logs.findIndex((l) => l.msg === "request");
      assert.ok(shutdownAt >= 0 && requestAt > shutdownAt, `shutdown at ${shutdownAt}, request logged at ${requestAt}`);

      const inspector = await openInspector(database.url);
      try {
        const user = await inspector.user(res.body.userId);
        assert.equal(user?.state, "active");
      } finally {
        await inspector.close();
      }
      // and the port is closed
      await assert.rejects(fetch(`${roster.baseUrl}/v2/users/1`));
    } finally {
      await database.drop();
    }
  });
});
