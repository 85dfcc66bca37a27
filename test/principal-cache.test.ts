/**
 * The principal cache keeps every security rule: with two Roster processes on one database, a
 * token that worked (so each process has its principal cached) stops working at once in the
 * process that locked, deactivated or deleted its user, and within a short time in the other one;
 * a token revoked elsewhere is refused by both.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { issuePersonalAccessToken } from "../src/auth/bootstrap.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { rest } from "./support/fixtures.js";
import { openInspector, type Inspector } from "./support/inspect.js";
import { baseEnv, killLeftovers, startRosterProcess, waitFor, type RosterProcess } from "./support/process.js";

describe("principal cache across two processes", () => {
  let database: TestDatabase;
  let inspector: Inspector;
  let a: RosterProcess;
  let b: RosterProcess;
  let pat: string;
  const dirs: string[] = [];

  before(async () => {
    database = await createTestDatabase();
    const env = (dir: string) => ({ ...baseEnv(dir), DATABASE_URL: database.url, ROSTER_MASTER_KEY: Buffer.alloc(32, 5).toString("base64") });
    for (let i = 0; i < 2; i++) dirs.push(await mkdtemp(path.join(tmpdir(), "roster-cache-")));
    a = await startRosterProcess(env(dirs[0]!));
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

  /** A new active user and a personal access token of its own. */
  const userWithToken = async (): Promise<{ userId: string; token: string; tokenId: string }> => {
    const u = `cached-${Math.random().toString(36).slice(2, 10)}`;
    const res = await rest(a, "POST", "/v2/users/human", {
      token: pat,
      body: { username: u, profile: { givenName: "Cache", familyName: "User" }, email: { email: `${u}@example.com`, isVerified: true } },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const userId = res.body.userId as string;
    const { id, token } = await issuePersonalAccessToken(inspector.store, userId);
    return { userId, token, tokenId: id };
  };
  const self = (via: RosterProcess, userId: string, token: string) => rest(via, "GET", `/v2/users/${userId}`, { token });

  for (const [rpc, method, suffix] of [
    ["LockUser", "POST", "/lock"],
    ["DeactivateUser", "POST", "/deactivate"],
    ["DeleteUser", "DELETE", ""],
  ] as const) {
    test(`${rpc}: the user's token is refused at once where it ran, and soon in the other process`, async () => {
      const { userId, token } = await userWithToken();
      // used several times in both processes, so that both have it cached
      for (let i = 0; i < 3; i++) {
        assert.equal((await self(a, userId, token)).status, 200);
        assert.equal((await self(b, userId, token)).status, 200);
      }
      const changed = await rest(a, method, `/v2/users/${userId}${suffix}`, { token: pat, body: method === "POST" ? {} : undefined });
      assert.equal(changed.status, 200, JSON.stringify(changed.body));

      assert.equal((await self(a, userId, token)).status, 401, "refused at once by the process that made the change");
      let refused = false;
      await waitFor(async () => (refused = (await self(b, userId, token)).status === 401), "the other process to refuse the token", 10_000);
      assert.equal(refused, true);
      assert.equal((await self(a, userId, token)).status, 401);
    });
  }

  test("a token revoked by another process (as `roster token revoke` does) is refused soon by both", async () => {
    const { userId, token, tokenId } = await userWithToken();
    const other = await issuePersonalAccessToken(inspector.store, userId);
    for (const via of [a, b]) {
      assert.equal((await self(via, userId, token)).status, 200);
      assert.equal((await self(via, userId, other.token)).status, 200);
    }
    assert.equal(await inspector.store.transaction((tx) => tx.revokeToken(tokenId, new Date())), true);
    for (const via of [a, b]) {
      await waitFor(async () => (await self(via, userId, token)).status === 401, "the revoked token to be refused", 10_000);
    }
    for (const via of [a, b]) assert.equal((await self(via, userId, other.token)).status, 200, "the user's other token still works");
  });

  test("a reactivated user's token works again in both processes", async () => {
    const { userId, token } = await userWithToken();
    assert.equal((await self(b, userId, token)).status, 200);
    assert.equal((await rest(a, "POST", `/v2/users/${userId}/deactivate`, { token: pat, body: {} })).status, 200);
    await waitFor(async () => (await self(b, userId, token)).status === 401, "the other process to refuse the token", 10_000);
    assert.equal((await rest(b, "POST", `/v2/users/${userId}/reactivate`, { token: pat, body: {} })).status, 200);
    assert.equal((await self(b, userId, token)).status, 200);
    await waitFor(async () => (await self(a, userId, token)).status === 200, "the first process to accept the token again", 10_000);
  });
});
