/**
 * Two Roster processes on one database: concurrent writers to one user never lose an update
 * and never produce a gap or duplicate in the event sequence; a username race has one winner.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { rest, type RestResponse } from "./support/fixtures.js";
import { openInspector, type Inspector } from "./support/inspect.js";
import { baseEnv, killLeftovers, startRosterProcess, type RosterProcess } from "./support/process.js";

const WRITES_PER_PROCESS = 25;

describe("two processes on one database", () => {
  let database: TestDatabase;
  let inspector: Inspector;
  let a: RosterProcess;
  let b: RosterProcess;
  let pat: string;
  const dirs: string[] = [];

  before(async () => {
    database = await createTestDatabase();
    const env = (dir: string) => ({
      ...baseEnv(dir),
      DATABASE_URL: database.url,
      ROSTER_MASTER_KEY: Buffer.alloc(32, 9).toString("base64"),
    });
    for (let i = 0; i < 2; i++) dirs.push(await mkdtemp(path.join(tmpdir(), "roster-conc-")));
    a = await startRosterProcess(env(dirs[0]!));
    // the second process finds the instance and writes no token of its own; the PAT is in the database
    b = await startRosterProcess(env(dirs[1]!));
    pat = (await readFile(path.join(dirs[0]!, "admin.pat"), "utf8")).trim();
    inspector = await openInspector(database.url);
  });
  after(async () => {
    await a?.stop("SIGTERM");
    await b?.stop("SIGTERM");
    await killLeftovers();
    await inspector?.close();
    await database?.drop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  const newUser = async (via: RosterProcess, tag: string): Promise<string> => {
    const u = `${tag}-${Math.random().toString(36).slice(2, 10)}`;
    const res = await rest(via, "POST", "/v2/users/human", {
      token: pat,
      body: { username: u, profile: { givenName: "Con", familyName: "Current" }, email: { email: `${u}@example.com`, isVerified: true } },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.userId as string;
  };

  test(`${2 * WRITES_PER_PROCESS} concurrent updates of one user through both processes: all applied, sequence +${2 * WRITES_PER_PROCESS}, events without gap`, async () => {
    const userId = await newUser(a, "busy");
    const start = (await inspector.user(userId))!.sequence;

    const requests: Promise<RestResponse>[] = [];
    for (let i = 0; i < 2 * WRITES_PER_PROCESS; i++) {
      const via = i % 2 === 0 ? a : b;
      requests.push(
        rest(via, "PUT", `/v2/users/human/${userId}`, {
          token: pat,
          body: { profile: { givenName: "Con", familyName: "Current", nickName: `nick-${i}` } },
        }),
      );
    }
    const responses = await Promise.all(requests);
    for (const r of responses) assert.equal(r.status, 200, JSON.stringify(r.body));

    const sequences = responses.map((r) => Number(r.body.details.sequence));
    assert.equal(new Set(sequences).size, sequences.length, `every response reports its own sequence: ${sequences.join(",")}`);
    assert.deepEqual(
      [...sequences].sort((x, y) => x - y),
      Array.from({ length: 2 * WRITES_PER_PROCESS }, (_, i) => start + 1 + i),
    );
    for (const r of responses) assert.equal(r.headers.get("etag"), `"${r.body.details.sequence}"`);

    const user = await inspector.user(userId);
    assert.equal(user!.sequence, start + 2 * WRITES_PER_PROCESS);
    const events = await inspector.events(userId);
    assert.deepEqual(
      events.map((e) => Number(e.sequence)),
      Array.from({ length: events.length }, (_, i) => i + 1),
    );
    assert.equal(events.length, user!.sequence);

    // no lost update: every request's nick name was written once, each change starting from the
    // value the previous event (in sequence order) left
    const changes = events.slice(start).map((e) => {
      assert.equal(e.type, "user.human.profile.changed");
      return (e.payload as { changes: { nickName: { old: string; new: string } } }).changes.nickName;
    });
    assert.deepEqual(
      changes.map((c) => c.new).sort(),
      responses.map((_, i) => `nick-${i}`).sort(),
    );
    for (let i = 1; i < changes.length; i++) assert.equal(changes[i]!.old, changes[i - 1]!.new);
    const read = await rest(b, "GET", `/v2/users/${userId}`, { token: pat });
    assert.equal(read.body.details.sequence, String(start + 2 * WRITES_PER_PROCESS));
  });

  test("two users racing for one new username through the two processes: exactly one 200 and one 409 V3-DKcYh", async () => {
    for (let round = 0; round < 8; round++) {
      const [first, second] = await Promise.all([newUser(a, "racer"), newUser(b, "racer")]);
      const target = `Winner-${round}-${Math.random().toString(36).slice(2, 10)}`;
      const responses = await Promise.all([
        rest(a, "PUT", `/v2/users/human/${first}`, { token: pat, body: { username: target } }),
        rest(b, "PUT", `/v2/users/human/${second}`, { token: pat, body: { username: target.toLowerCase() } }),
      ]);
      const statuses = responses.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 409], JSON.stringify(responses.map((r) => r.body)));
      const loser = responses.find((r) => r.status === 409)!;
      assert.equal(loser.body.code, 6);
      assert.equal(loser.body.details?.[0]?.id, "V3-DKcYh");

      const users = await Promise.all([inspector.user(first), inspector.user(second)]);
      const holders = users.filter((u) => u!.username.toLowerCase() === target.toLowerCase());
      assert.equal(holders.length, 1, "exactly one user holds the name");
      // the loser wrote nothing
      const loserId = responses[0]!.status === 409 ? first : second;
      const loserEvents = await inspector.events(loserId);
      assert.ok(loserEvents.every((e) => e.type !== "user.username.changed"));
    }
  });
});
