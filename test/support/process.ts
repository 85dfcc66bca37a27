/**
 * Runs Roster as a real child process from its build (`node dist/main.js start`), the way an
 * operator does, and reads its pino JSON log lines from stdout. dist/ is rebuilt first when it is
 * older than the sources (scripts/build.mjs; `npm test` does it beforehand).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { build } from "../../scripts/build.mjs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface RosterProcess {
  pid: number;
  port: number;
  baseUrl: string;
  /** Parsed JSON log lines so far (stdout). */
  logs: LogLine[];
  /** Everything written to stdout and stderr so far, unparsed. */
  output(): string;
  /** Sends `signal` and resolves with the exit code (or the signal name when killed by one). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
  /** Resolves with the exit code once the process has ended on its own. */
  exited: Promise<number | string>;
}

const running = new Set<ChildProcess>();

/** The compiled CLI. */
export const ENTRY = path.join(REPO_ROOT, "dist", "main.js");

let built = false;
/** Compiles src/ to dist/ when it is stale (once per test process; concurrent files wait on the build's lock). */
export function ensureBuilt(): void {
  if (built) return;
  build({ ifStale: true });
  built = true;
}

export interface CommandResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `roster <args>` from dist/ with exactly `env` (plus PATH and HOME) and collects its output. */
export async function runRosterCommand(args: string[], env: Record<string, string>, opts: { timeoutMs?: number; cwd?: string } = {}): Promise<CommandResult> {
  ensureBuilt();
  // `--`: Node itself would otherwise act on an `--env-file` argument meant for Roster
  const child = spawn(process.execPath, ["--", ENTRY, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 90_000);
  const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once("close", (code, sig) => resolve([code, sig])),
  );
  clearTimeout(timer);
  running.delete(child);
  return { status, signal, stdout, stderr };
}

/** The environment every child gets unless overridden; DATABASE_URL is never inherited. */
export function baseEnv(dataDir: string): Record<string, string> {
  return {
    PORT: "0",
    ROSTER_HOST: "127.0.0.1",
    ROSTER_DATA_DIR: dataDir,
    ROSTER_LOG_LEVEL: "info",
    ROSTER_BCRYPT_COST: "4",
  };
}

/**
 * Starts Roster with exactly `env` (plus PATH and HOME) and waits for its "roster listening" line
 * (logged at level info: ROSTER_LOG_LEVEL must be info or lower).
 * Rejects with the collected output when the process ends before listening.
 */
export interface StartProcessOptions {
  timeoutMs?: number;
  /** The program and its arguments (default: node dist/main.js start). */
  command?: [string, ...string[]];
  cwd?: string;
}

export async function startRosterProcess(env: Record<string, string>, opts: StartProcessOptions = {}): Promise<RosterProcess> {
  ensureBuilt();
  const [program, ...args] = opts.command ?? [process.execPath, ENTRY, "start"];
  const child = spawn(program, args, {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  const logs: LogLine[] = [];
  let raw = "";
  let pending = "";
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => {
      running.delete(child);
      resolve(code ?? signal ?? "unknown");
    });
  });

  let onListening: ((port: number) => void) | undefined;
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    raw += chunk;
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      if (line.trim() === "") continue;
      try {
        const parsed = JSON.parse(line) as LogLine;
        logs.push(parsed);
        if (parsed.msg === "roster listening" && typeof parsed.port === "number") onListening?.(parsed.port);
      } catch {
        // not JSON: kept in raw output only
      }
    }
  });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => (raw += chunk));

  const timeoutMs = opts.timeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  const port = await Promise.race([
    new Promise<number>((resolve) => (onListening = resolve)),
    exited.then((code) => {
      throw new Error(`roster exited (${code}) before listening:\n${raw}`);
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`roster did not listen within ${timeoutMs} ms:\n${raw}`)), timeoutMs);
    }),
  ]).catch((err: unknown) => {
    child.kill("SIGKILL");
    throw err;
  }).finally(() => clearTimeout(timer));

  return {
    pid: child.pid!,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    logs,
    output: () => raw,
    exited,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Kills every child this module started that is still running (for `after` hooks). */
export async function killLeftovers(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const child of running) {
    waits.push(new Promise((resolve) => child.once("exit", resolve)));
    child.kill("SIGKILL");
  }
  await Promise.all(waits);
}

/** Waits until `predicate` holds, polling; throws with `what` after `timeoutMs`. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Pids of the postgres processes (postmaster and backends) serving the cluster in `pgdata`. */
export function postgresServing(pgdata: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (path.basename(argv[0] ?? "") === "postgres" && argv.includes(pgdata)) pids.push(Number(entry));
    } catch {
      // process ended meanwhile
    }
  }
  return pids;
}
