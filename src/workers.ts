/**
 * ROSTER_WORKERS > 1: this process is the primary of a node:cluster. It prepares the database
 * once (starts the embedded server if there is one, migrates, creates the instance key and the
 * instance), then forks the workers, each a complete Roster (src/app.ts) with its own pool and
 * principal cache, all accepting on the one port (the cluster's round-robin distribution). They
 * share the database, the instance key and the invalidation of their caches (LISTEN/NOTIFY).
 *
 * Readiness: "roster listening" once every worker listens. Shutdown: SIGTERM or SIGINT reaches
 * every worker as SIGTERM (each lets its requests finish, as a single process does); when all
 * have ended the embedded database stops and the primary exits. A second signal is passed on
 * too, and ends the workers at once. A worker that dies while serving is replaced; one that dies
 * before it ever listened ends the start.
 */
import cluster, { type Worker } from "node:cluster";
import type { Logger } from "pino";
import type { Config } from "./config/config.js";
import { resolveInstanceKey } from "./auth/instance-key.js";
import { ensureInstance } from "./auth/bootstrap.js";
import { openDatabase } from "./store/database.js";
import { createStore } from "./store/kysely-store.js";
import { migrateToLatest } from "./store/migrate.js";

export async function runPrimary(config: Config, logger: Logger, workers: number): Promise<void> {
  let stopping = false;
  // the workers forked so far: onFatal below ends them too
  const alive = new Set<Worker>();
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    embeddedRuntimeDir: config.embeddedRuntimeDir,
    timeouts: config.database,
    maxConnections: 1,
    logger,
    onFatal: (err) => {
      logger.fatal({ err: err.message }, "exiting: the embedded database is gone");
      for (const w of alive) w.process.kill("SIGKILL");
      process.exit(1);
    },
  });
  try {
    await migrateToLatest(database.db);
    const store = createStore(database.db);
    await resolveInstanceKey(store, {
      envValue: config.masterKeyBase64,
      dataDir: config.dataDir,
      serverDatabase: config.databaseUrl !== undefined,
      logger,
    });
    await ensureInstance({ store, config, logger });
  } catch (e) {
    await database.close();
    throw e;
  }

  const env = { DATABASE_URL: database.url, ROSTER_WORKER: "1" };
  const listening = new Set<number>();
  let ready = false;
  const fork = (): Worker => {
    const worker = cluster.fork(env);
    alive.add(worker);
    worker.on("message", (m: { listening?: number }) => {
      if (typeof m?.listening !== "number") return;
      listening.add(worker.id);
      if (!ready && listening.size === workers) {
        ready = true;
        logger.info({ port: m.listening, workers, embeddedDatabase: database.embedded }, "roster listening");
      }
    });
    return worker;
  };

  const exited = new Promise<void>((resolve) => {
    cluster.on("exit", (worker, code, signal) => {
      alive.delete(worker);
      const wasListening = listening.delete(worker.id);
      if (stopping) {
        if (alive.size === 0) resolve();
        return;
      }
      if (!wasListening) {
        logger.fatal({ workerPid: worker.process.pid, code, signal }, "a worker ended before it listened: stopping");
        stopping = true;
        for (const w of alive) w.process.kill("SIGTERM");
        process.exitCode = 1;
        if (alive.size === 0) resolve();
        return;
      }
      logger.error({ workerPid: worker.process.pid, code, signal }, "worker ended unexpectedly: starting another");
      fork();
    });
  });

  const stop = (signal: NodeJS.Signals) => {
    if (!stopping) logger.info({ signal }, "shutting down");
    stopping = true;
    for (const w of alive) w.process.kill("SIGTERM");
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));

  for (let i = 0; i < workers; i++) fork();
  await exited;
  await database.close();
  logger.info("all workers ended");
  process.exit(process.exitCode ?? 0);
}

/** In a worker: tell the primary that this worker listens. */
export function reportListening(port: number): void {
  process.send?.({ listening: port });
}

export const isWorker = (): boolean => cluster.isWorker && process.env.ROSTER_WORKER === "1";
