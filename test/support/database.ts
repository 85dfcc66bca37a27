/**
 * A fresh, empty PostgreSQL database for one integration test file.
 *
 * DATABASE_URL set   → a new database `roster_t_<random>` on that server; drop() removes it.
 * DATABASE_URL unset → an embedded PostgreSQL in a new temp dir; drop() stops it and removes the dir.
 *
 * The returned url is a plain postgres:// URL that other processes (e.g. a Roster under test,
 * as its DATABASE_URL) can connect to.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { startEmbeddedPostgres } from "../../src/store/embedded-postgres.js";

export interface TestDatabase {
  url: string;
  /** Set for an embedded server: the directory holding it (its cluster is in `<dataDir>/pg`). */
  dataDir?: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  return serverUrl ? createOnServer(serverUrl) : createEmbedded();
}

async function createOnServer(serverUrl: string): Promise<TestDatabase> {
  const name = `roster_t_${randomBytes(6).toString("hex")}`;
  await withClient(serverUrl, (c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    drop: async () => {
      if (dropped) return;
      dropped = true;
      await withClient(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`));
    },
  };
}

async function createEmbedded(): Promise<TestDatabase> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "roster-test-pg-"));
  const server = await startEmbeddedPostgres({ dir: dataDir, database: "roster_test" });
  // If the test process ends without drop() (a failed `before`, an uncaught error), do not
  // leave the server running: ask it for a fast shutdown (its temp dir stays behind).
  const pid = postmasterPid(dataDir);
  const onExit = (): void => {
    if (pid) {
      try {
        process.kill(pid, "SIGINT");
      } catch {
        // already gone
      }
    }
  };
  process.once("exit", onExit);
  let dropped = false;
  return {
    url: server.url,
    dataDir,
    drop: async () => {
      if (dropped) return;
      dropped = true;
      process.removeListener("exit", onExit);
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path.join(dataDir, "pg", "postmaster.pid"), "utf8").split("\n")[0] ?? "", 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
