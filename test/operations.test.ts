/**
 * Roster as an operator runs it, from its build: `npm start` and signals, the `roster` CLI
 * (help, configuration mistakes, tokens, keys), one process per embedded data directory, the
 * instance key check, and root under a private parent directory.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chmod, cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { rest } from "./support/fixtures.js";
import {
  baseEnv,
  ENTRY,
  ensureBuilt,
  killLeftovers,
  postgresServing,
  REPO_ROOT,
  runRosterCommand,
  startRosterProcess,
  waitFor,
  type LogLine,
} from "./support/process.js";

const cleanup: string[] = [];
const databases: TestDatabase[] = [];

async function newDir(prefix = "roster-ops-"): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  cleanup.push(dir);
  return dir;
}

async function serverDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  databases.push(db);
  return db;
}

after(async () => {
  await killLeftovers();
  for (const db of databases) await db.drop().catch(() => {});
  for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
});

/** The JSON log lines of a command's stdout. */
function lines(stdout: string): LogLine[] {
  return stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as LogLine);
}

const STACK_LINE = /\n\s+at /;

describe("the roster CLI", () => {
  test("--help lists every command and exits 0; a command's --help shows its usage; no stack anywhere", async () => {
    const general = await runRosterCommand(["--help"], {});
    assert.equal(general.status, 0, general.stderr);
    for (const c of ["start", "migrate", "ready", "admin create", "token issue", "token list", "token revoke", "key fingerprint"]) {
      assert.ok(general.stdout.includes(`  ${c} `), `--help lists ${c}`);
    }
    assert.match(general.stdout, /--env-file/);
    const one = await runRosterCommand(["token", "issue", "--help"], {});
    assert.equal(one.status, 0);
    assert.match(one.stdout, /^Usage: roster token issue --user USER_ID/);
    const group = await runRosterCommand(["help", "token"], {});
    assert.equal(group.status, 0);
    assert.match(group.stdout, /token revoke/);
    assert.doesNotMatch(group.stdout, /admin create/);
    for (const r of [general, one, group]) assert.doesNotMatch(r.stdout + r.stderr, STACK_LINE);
  });

  test("an unknown command or option, or a missing argument, exits 2 with one line that says what is wrong", async () => {
    const unknown = await runRosterCommand(["serve"], {});
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /^roster: unknown command "serve"\nRun `roster --help` for usage\.\n$/);
    const option = await runRosterCommand(["start", "--verbose=1"], {});
    assert.equal(option.status, 2);
    assert.match(option.stderr, /unknown option --verbose/);
    const missing = await runRosterCommand(["token", "issue"], {});
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /--user is required/);
    assert.match(missing.stderr, /roster token issue --help/);
  });

  test("configuration mistakes stop the start with a message naming the variable and what it accepts", async () => {
    const dataDir = await newDir();
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ ROSTER_LOG_LEVEL: "verbose" }, /ROSTER_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"/],
      [{ ROSTER_PUBLIC_URL: "ftp://files.example.com" }, /ROSTER_PUBLIC_URL must be an absolute http:\/\/ or https:\/\/ URL/],
      [{ ROSTER_EMAIL_VERIFICATION_URL_TEMPLATE: "https://x.example/v?c={{.Cod}}" }, /ROSTER_EMAIL_VERIFICATION_URL_TEMPLATE is not a valid URL template .*\{\{\.UserID\}\}, \{\{\.Code\}\} and \{\{\.OrgID\}\}/],
      [{ ROSTER_BCRYPT_COST: "99" }, /ROSTER_BCRYPT_COST must be a whole number from 4 to 31, got "99"/],
      [{ ROSTER_DB_STARTUP_TIMEOUT_SECONDS: "soon" }, /ROSTER_DB_STARTUP_TIMEOUT_SECONDS must be a whole number/],
      [{ ROSTER_CORS_ORIGINS: "https://app.example.com,app.example.org" }, /ROSTER_CORS_ORIGINS must be a comma-separated list of origins .* got "app\.example\.org"/],
      [{ DATABASE_URL: "mysql://root:hunter2@db/roster" }, /^DATABASE_URL must be a postgres:\/\/ \(or postgresql:\/\/\) URL/],
      [{ ROSTER_MASTER_KEY: "c2hvcnQ=" }, /ROSTER_MASTER_KEY must be the base64 encoding of exactly 32 bytes/],
      [
        { ROSTER_JWT_ISSUER: "https://issuer.example", ROSTER_JWT_AUDIENCE: "roster", ROSTER_JWT_JWKS_URL: "issuer.example/keys" },
        /ROSTER_JWT_JWKS_URL must be an absolute http:\/\/ or https:\/\/ URL/,
      ],
    ];
    for (const [env, expected] of cases) {
      const r = await runRosterCommand(["start"], { ...baseEnv(dataDir), ...env });
      assert.equal(r.status, 1, `${JSON.stringify(env)}: ${r.stdout}${r.stderr}`);
      const fatal = lines(r.stdout).find((l) => l.level === 60);
      assert.ok(fatal, `a fatal line for ${JSON.stringify(env)}`);
      assert.match(fatal.msg, expected);
      assert.doesNotMatch(r.stdout + r.stderr, STACK_LINE, "no stack trace for an operator's mistake");
      assert.ok(!(r.stdout + r.stderr).includes("hunter2"), "a DATABASE_URL's password is never echoed");
    }
  });

  test("--env-file supplies variables the environment does not set; a missing file is named", async () => {
    const dir = await newDir();
    const file = path.join(dir, "roster.env");
    await writeFile(file, "ROSTER_LOG_LEVEL=verbose\n# a comment\nROSTER_BCRYPT_COST=4\n");
    const fromFile = await runRosterCommand(["--env-file", file, "start"], { ROSTER_DATA_DIR: dir });
    assert.equal(fromFile.status, 1);
    assert.match(fromFile.stdout, /ROSTER_LOG_LEVEL must be one of/, "the file's value was read");
    const missing = await runRosterCommand(["start", "--env-file", path.join(dir, "nope.env")], { ROSTER_DATA_DIR: dir });
    assert.equal(missing.status, 1);
    assert.match(missing.stdout, /--env-file .*nope\.env: no such file/);
  });

  test("migrate applies the migrations of a new database and exits 0; a second run has none to apply", async () => {
    const db = await serverDatabase();
    const env = { ...baseEnv(await newDir()), DATABASE_URL: db.url };
    const first = await runRosterCommand(["migrate"], env);
    assert.equal(first.status, 0, first.stdout + first.stderr);
    const applied = lines(first.stdout).find((l) => l.msg === "migrations applied");
    assert.ok(applied);
    assert.equal((applied.applied as string[])[0], "0001_initial");
    const again = await runRosterCommand(["migrate"], env);
    assert.equal(again.status, 0);
    assert.ok(lines(again.stdout).some((l) => l.msg === "no pending migrations"));
  });

  test("a port in use: the start fails at once and names PORT", async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const { port } = taken.address() as net.AddressInfo;
    try {
      const db = await serverDatabase();
      const r = await runRosterCommand(["start"], { ...baseEnv(await newDir()), PORT: String(port), DATABASE_URL: db.url });
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`port ${port} is already in use on 127\\.0\\.0\\.1 .*EADDRINUSE.*choose another port with PORT`));
      assert.doesNotMatch(r.stdout + r.stderr, STACK_LINE);
    } finally {
      taken.close();
    }
  });
});

describe("npm start", () => {
  test("SIGTERM to the npm process ends the server and its embedded PostgreSQL: nothing is left running", async () => {
    const dataDir = await newDir();
    const npm = await startRosterProcess({ ...baseEnv(dataDir), npm_config_update_notifier: "false" }, {
      command: ["npm", "start", "--silent"],
      timeoutMs: 180_000,
    });
    const res = await fetch(`${npm.baseUrl}/healthz`).catch(() => undefined);
    // any HTTP answer proves the server is up; what /healthz says is tested elsewhere
    assert.ok(res, "the server answers");
    const pgdata = path.join(dataDir, "pg");
    assert.ok(postgresServing(pgdata).length > 0, "the embedded PostgreSQL runs");
    const serverPid = (JSON.parse(readFileSync(path.join(dataDir, "roster.lock"), "utf8")) as { pid: number }).pid;
    const stat = readFileSync(`/proc/${serverPid}/stat`, "utf8");
    const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    assert.equal(parent, npm.pid, "the server is npm's own child (the script execs node): no shell in between to swallow the signal");
    const exit = await npm.stop("SIGTERM");
    assert.ok(exit === 0 || exit === "SIGTERM" || exit === 143, `npm ended (${exit}): ${npm.output().slice(-2000)}`);
    await waitFor(() => !existsSync(`/proc/${serverPid}`), "the server process to end", 30_000);
    await waitFor(() => postgresServing(pgdata).length === 0, "the embedded PostgreSQL to stop", 30_000);
    await assert.rejects(fetch(npm.baseUrl), "the port is closed");
    assert.ok(npm.logs.some((l) => l.msg === "embedded PostgreSQL stopped"));
  });
});

describe("one Roster per embedded data directory", () => {
  test("a second start in the same directory fails at once naming the first; commands beside it share its database", async () => {
    const dataDir = await newDir();
    const first = await startRosterProcess(baseEnv(dataDir));
    const started = Date.now();
    const second = await runRosterCommand(["start"], baseEnv(dataDir));
    assert.equal(second.status, 1);
    assert.ok(Date.now() - started < 30_000);
    const refusal = lines(second.stdout).find((l) => l.level === 60)!.msg;
    assert.match(refusal, new RegExp(`in use by another Roster process \\(pid ${first.pid}, "roster start"`));
    assert.match(refusal, /own ROSTER_DATA_DIR/);

    const ready = await runRosterCommand(["ready", "--port", String(first.port)], {});
    assert.equal(ready.status, 0, ready.stderr);
    assert.match(ready.stdout, /^ready: http:\/\/127\.0\.0\.1:\d+\/readyz\n$/);
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedPort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const nobody = await runRosterCommand(["ready", "--port", String(closedPort)], {});
    assert.equal(nobody.status, 1);
    assert.match(nobody.stderr, new RegExp(`^not ready: http://127\\.0\\.0\\.1:${closedPort}/readyz: ECONNREFUSED`));

    const adminToken = (await readFile(path.join(dataDir, "admin.pat"), "utf8")).trim();
    let res = await rest(first, "POST", "/v2/users", { token: adminToken, body: { query: { limit: 1 } } });
    assert.notEqual(res.status, 500, "the first process still serves");

    // token management beside the running server (it shares the embedded database)
    const created = await runRosterCommand(["admin", "create", "--username", "rescue-admin"], baseEnv(dataDir));
    assert.equal(created.status, 0, created.stderr);
    const rescueToken = created.stdout.trim();
    assert.match(rescueToken, /^\S{20,}$/, "only the token on stdout");
    const rescueId = /user id (\d+)/.exec(created.stderr)?.[1];
    assert.ok(rescueId);
    res = await rest(first, "GET", `/v2/users/${rescueId}`, { token: rescueToken });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((res.body as { user: { username: string } }).user.username, "rescue-admin");
    const taken = await runRosterCommand(["admin", "create", "--username", "rescue-admin"], baseEnv(dataDir));
    assert.equal(taken.status, 1);
    assert.match(lines(taken.stdout).find((l) => l.level === 60)!.msg, /username "rescue-admin" is taken/);

    const issued = await runRosterCommand(["token", "issue", "--user", rescueId, "--expires-in-days", "7"], baseEnv(dataDir));
    assert.equal(issued.status, 0, issued.stderr);
    const second_token = issued.stdout.trim();
    const tokenId = /token id (\d+)/.exec(issued.stderr)?.[1];
    assert.ok(tokenId);
    assert.equal((await rest(first, "GET", `/v2/users/${rescueId}`, { token: second_token })).status, 200);
    const listed = await runRosterCommand(["token", "list", "--user", rescueId], baseEnv(dataDir));
    assert.equal(listed.status, 0);
    const rows = listed.stdout.trim().split("\n");
    assert.equal(rows[0], "id\tcreated\texpires\trevoked");
    assert.equal(rows.length, 3, "the admin create token and the issued one");
    assert.ok(!listed.stdout.includes(second_token) && !listed.stdout.includes(rescueToken), "never the secret");
    const revoked = await runRosterCommand(["token", "revoke", "--id", tokenId], baseEnv(dataDir));
    assert.equal(revoked.status, 0, revoked.stdout + revoked.stderr);
    await waitFor(
      async () => (await rest(first, "GET", `/v2/users/${rescueId}`, { token: second_token })).status === 401,
      "the revoked token to be refused",
      10_000,
    );
    assert.equal((await rest(first, "GET", `/v2/users/${rescueId}`, { token: rescueToken })).status, 200, "the other token still works");
    const unknown = await runRosterCommand(["token", "revoke", "--id", "123"], baseEnv(dataDir));
    assert.equal(unknown.status, 1);
    assert.match(unknown.stdout, /no token with id 123/);

    assert.equal(await first.stop("SIGTERM"), 0);
    assert.ok(!existsSync(path.join(dataDir, "roster.lock")), "the lock is released on shutdown");
    const again = await startRosterProcess(baseEnv(dataDir));
    assert.equal(again.port > 0, true, "once the first has stopped, the directory is free");
    assert.equal(await again.stop("SIGTERM"), 0);
  });

  test("a lock left by a killed process does not block the next start", async () => {
    const dataDir = await newDir();
    const first = await startRosterProcess(baseEnv(dataDir));
    assert.equal(await first.stop("SIGKILL"), "SIGKILL");
    assert.ok(existsSync(path.join(dataDir, "roster.lock")));
    const next = await startRosterProcess(baseEnv(dataDir));
    assert.equal(await next.stop("SIGTERM"), 0);
  });
});

describe("the instance key", () => {
  const keyA = Buffer.alloc(32, 1).toString("base64");
  const keyB = Buffer.alloc(32, 2).toString("base64");

  test("a start with another key than the database was set up with is refused, naming both fingerprints", async () => {
    const db = await serverDatabase();
    const env = { ...baseEnv(await newDir()), DATABASE_URL: db.url };
    const first = await startRosterProcess({ ...env, ROSTER_MASTER_KEY: keyA });
    assert.equal(await first.stop("SIGTERM"), 0);

    const wrong = await runRosterCommand(["start"], { ...env, ROSTER_MASTER_KEY: keyB });
    assert.equal(wrong.status, 1);
    const fatal = lines(wrong.stdout).find((l) => l.level === 60)!;
    assert.match(fatal.msg, /^wrong instance key: the key from ROSTER_MASTER_KEY has fingerprint [0-9a-f]{32}, but this database was set up with the key whose fingerprint is [0-9a-f]{32}/);
    assert.doesNotMatch(wrong.stdout, new RegExp(keyB.replace(/[+/=]/g, "\\$&")), "the key itself is never printed");

    const fpA = await runRosterCommand(["key", "fingerprint"], { ...env, ROSTER_MASTER_KEY: keyA });
    assert.equal(fpA.status, 0, fpA.stderr);
    const [mine, expected] = fpA.stdout.trim().split("\n");
    assert.match(mine!, /^instance key: ([0-9a-f]{32}) \(ROSTER_MASTER_KEY\)$/);
    assert.equal(mine!.split(" ")[2], expected!.split(" ")[2], "the right key matches the database");
    const fpB = await runRosterCommand(["key", "fingerprint"], { ...env, ROSTER_MASTER_KEY: keyB });
    assert.equal(fpB.status, 1);
    assert.match(fpB.stderr, /the keys differ/);

    const right = await startRosterProcess({ ...env, ROSTER_MASTER_KEY: keyA });
    assert.equal(await right.stop("SIGTERM"), 0);
  });

  test("with DATABASE_URL, a new data directory and no key, joining an existing instance is refused with instructions", async () => {
    const db = await serverDatabase();
    const first = await startRosterProcess({ ...baseEnv(await newDir()), DATABASE_URL: db.url });
    assert.ok(first.logs.some((l) => l.msg.startsWith("generated a new instance key")), "the first process says it made a key");
    assert.equal(await first.stop("SIGTERM"), 0);

    const freshDir = await newDir();
    const joining = await runRosterCommand(["start"], { ...baseEnv(freshDir), DATABASE_URL: db.url });
    assert.equal(joining.status, 1);
    assert.match(joining.stdout, /no instance key: ROSTER_MASTER_KEY is not set and .*master\.key does not exist, but the database in DATABASE_URL already holds a Roster instance/);
    assert.match(joining.stdout, /Set ROSTER_MASTER_KEY to the key the other Roster processes use/);
    assert.ok(!existsSync(path.join(freshDir, "master.key")), "no key was generated");
  });
});

const asRoot = process.getuid?.() === 0;

describe("as root, inside a private (mode 700) directory", { skip: asRoot ? false : "only root runs the embedded PostgreSQL as another OS user" }, () => {
  test("an installation and data directory under a mode-700 parent start, serve, stop and start again", async () => {
    ensureBuilt();
    const privateDir = await newDir("roster-private-");
    await chmod(privateDir, 0o700);
    const install = path.join(privateDir, "app");
    await mkdir(install);
    await cp(path.join(REPO_ROOT, "dist"), path.join(install, "dist"), { recursive: true });
    await cp(path.join(REPO_ROOT, "package.json"), path.join(install, "package.json"));
    // hard links: the installed packages as they are, at no cost
    await new Promise<void>((resolve, reject) => {
      const c = spawn("cp", ["-al", path.join(REPO_ROOT, "node_modules"), path.join(install, "node_modules")], { stdio: "ignore" });
      c.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`cp -al exited ${code}`))));
    });
    const runtimeDir = await newDir("roster-runtime-");
    await chmod(runtimeDir, 0o755);
    const dataDir = path.join(install, "data");
    const env = { ...baseEnv(dataDir), ROSTER_EMBEDDED_RUNTIME_DIR: runtimeDir };
    const entry = path.join(install, "dist", "main.js");
    assert.notEqual(entry, ENTRY);

    const first = await startRosterProcess(env, { command: [process.execPath, entry, "start"], cwd: install, timeoutMs: 120_000 });
    assert.ok(first.logs.some((l) => /copied the embedded PostgreSQL binaries/.test(l.msg)), "the binaries were copied where postgres can run them");
    const moved = first.logs.find((l) => /embedded cluster lives in ROSTER_EMBEDDED_RUNTIME_DIR/.test(l.msg));
    assert.ok(moved, first.output().slice(-3000));
    assert.ok(String(moved.pgdata).startsWith(runtimeDir));
    assert.ok(postgresServing(String(moved.pgdata)).length > 0);
    const token = (await readFile(path.join(dataDir, "admin.pat"), "utf8")).trim();
    assert.equal((await rest(first, "POST", "/v2/users", { token, body: {} })).status, 200);
    assert.equal(await first.stop("SIGTERM"), 0);
    assert.equal((await stat(privateDir)).mode & 0o777, 0o700, "the private parent was left as it was");

    const again = await startRosterProcess(env, { command: [process.execPath, entry, "start"], cwd: install, timeoutMs: 120_000 });
    assert.equal((await rest(again, "POST", "/v2/users", { token, body: {} })).status, 200, "the same instance after a restart");
    assert.ok(!again.output().includes("EACCES"));
    assert.equal(await again.stop("SIGTERM"), 0);
  });
});
