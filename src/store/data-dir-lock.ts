/**
 * One Roster server per embedded data directory. `roster start` holds `<dataDir>/roster.lock`
 * (its pid and purpose) while it runs: a second start in the same directory fails at once and
 * says which process has it, instead of joining a database the first one will stop. One-shot
 * commands (migrate, token …) beside a running server share its database; run alone, they hold
 * the lock themselves while they work.
 */
import { readFileSync } from "node:fs";
import { mkdir, open, readFile, unlink } from "node:fs/promises";
import path from "node:path";
import { StartupError } from "../startup-error.js";

export const LOCK_FILE = "roster.lock";

interface Holder {
  pid: number;
  /** Kernel start time of the process (/proc/<pid>/stat field 22): tells a reused pid apart. */
  startTime?: string;
  purpose: string;
  since: string;
}

export interface DataDirClaim {
  /** True when this process holds the lock; false when it joins a running `start`. */
  owned: boolean;
  release(): Promise<void>;
}

export async function claimDataDir(dir: string, purpose: string): Promise<DataDirClaim> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, LOCK_FILE);
  const me: Holder = { pid: process.pid, startTime: startTimeOf(process.pid), purpose, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const handle = await open(file, "wx", 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(me)}\n`);
      } finally {
        await handle.close();
      }
      let released = false;
      return {
        owned: true,
        async release() {
          if (released) return;
          released = true;
          const now = await readHolder(file);
          if (now?.pid === me.pid && now.startTime === me.startTime) await unlink(file).catch(() => {});
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = await readHolder(file);
    if (holder && isAlive(holder)) {
      if (purpose !== "start" && holder.purpose === "start") return { owned: false, release: async () => {} };
      throw new StartupError(
        `the embedded database in ${dir} is in use by another Roster process (pid ${holder.pid}, "roster ${holder.purpose}" ` +
          `since ${holder.since}). Stop that process first, or give this one its own ROSTER_DATA_DIR; several Roster ` +
          `processes can share one database only through DATABASE_URL. (If no such process runs, delete ${file}.)`,
      );
    }
    // left behind by a process that ended without releasing it (killed, crashed, a container restart)
    await unlink(file).catch(() => {});
  }
  throw new StartupError(`could not take ${file}: other processes keep creating it`);
}

async function readHolder(file: string): Promise<Holder | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, "utf8")) as Partial<Holder>;
    if (typeof parsed.pid !== "number") return undefined;
    return { pid: parsed.pid, startTime: parsed.startTime, purpose: String(parsed.purpose ?? "start"), since: String(parsed.since ?? "?") };
  } catch {
    return undefined;
  }
}

function isAlive(h: Holder): boolean {
  if (h.pid === process.pid) return h.startTime === startTimeOf(process.pid); // else: a reused pid (pid 1 in a restarted container)
  try {
    process.kill(h.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const now = startTimeOf(h.pid);
  return h.startTime === undefined || now === undefined || now === h.startTime;
}

function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}
