/**
 * ROSTER_WORKERS=2: one port served by two processes that share the database and the instance;
 * "roster listening" only once both listen; SIGTERM ends both workers and the primary cleanly.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { rest } from "./support/fixtures.js";
import { baseEnv, killLeftovers, startRosterProcess, waitFor, type RosterProcess } from "./support/process.js";

/** A GET on a connection of its own (so that the cluster may hand it to either worker). */
function getOnNewConnection(port: number, pathname: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: pathname, agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
  });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("ROSTER_WORKERS=2", () => {
  let database: TestDatabase | undefined;
  let roster: RosterProcess;
  let dir: string;
  let pat: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "roster-workers-"));
    // on the server when the suite runs there; otherwise the primary starts the embedded one
    if (process.env.DATABASE_URL) database = await createTestDatabase();
    roster = await startRosterProcess({
      ...baseEnv(dir),
      ...(database ? { DATABASE_URL: database.url } : {}),
      ROSTER_WORKERS: "2",
      ROSTER_MASTER_KEY: Buffer.alloc(32, 3).toString("base64"),
    });
    pat = (await readFile(path.join(dir, "admin.pat"), "utf8")).trim();
  });
  after(async () => {
    await roster?.stop("SIGTERM");
    await killLeftovers();
    await database?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const workersOf = () => [...new Set(roster.logs.filter((l) => l.msg === "worker listening").map((l) => l.worker as number))];

  test("ready only when both workers listen, on one port", async () => {
    // each worker reports to the primary after it listens; its own log line may arrive later
    await waitFor(() => workersOf().length === 2, "both workers' log lines");
    const ready = roster.logs.filter((l) => l.msg === "roster listening");
    assert.equal(ready.length, 1);
    assert.equal(ready[0]!.workers, 2);
    const ports = new Set(roster.logs.filter((l) => l.msg === "worker listening").map((l) => l.port));
    assert.deepEqual([...ports], [roster.port]);
    assert.equal(roster.logs.filter((l) => l.msg === "instance ready" && l.created === true).length, 0, "the primary created the instance once");
  });

  test("requests reach both workers; what one writes the other reads", async () => {
    const u = `wk-${Math.random().toString(36).slice(2, 10)}`;
    const created = await rest(roster, "POST", "/v2/users/human", {
      token: pat,
      body: { username: u, profile: { givenName: "Two", familyName: "Workers" }, email: { email: `${u}@example.com`, isVerified: true } },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const userId = created.body.userId as string;
    for (let i = 0; i < 12; i++) assert.equal(await getOnNewConnection(roster.port, `/v2/users/${userId}`, pat), 200);
    await waitFor(() => roster.logs.filter((l) => l.msg === "request").length >= 13, "the request log lines");
    const served = new Set(roster.logs.filter((l) => l.msg === "request" && l.procedure === "/zitadel.user.v2.UserService/GetUserByID").map((l) => l.worker));
    assert.equal(served.size, 2, `GetUserByID served by ${[...served].join(", ")}`);
  });

  test("SIGTERM: both workers and the primary end cleanly", async () => {
    const pids = workersOf();
    assert.equal(await roster.stop("SIGTERM"), 0);
    await waitFor(() => pids.every((pid) => !alive(pid)), "the workers to end", 10_000);
    assert.ok(roster.logs.some((l) => l.msg === "all workers ended"));
  });
});
