import { pino, type Logger } from "pino";
import { loadConfig } from "./config/load-config.js";
import { createLogger } from "./logger.js";
import { startRoster } from "./app.js";
import { openDatabase } from "./store/database.js";
import { migrateToLatest } from "./store/migrate.js";
import { isWorker, reportListening, runPrimary } from "./workers.js";

/** CLI: `start` (default) serves the API; `migrate` applies pending migrations and exits. */
async function main(command: string): Promise<void> {
  const config = loadConfig();
  const worker = isWorker();
  const base = createLogger(config.logLevel);
  const logger = worker ? base.child({ worker: process.pid }) : base;

  if (command === "migrate") {
    const database = await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      timeouts: config.database,
      logger,
    });
    try {
      await migrateToLatest(database.db);
      logger.info("migrations applied");
    } finally {
      await database.close();
    }
    return;
  }
  if (command !== "start") throw new Error(`unknown command "${command}" (use start or migrate)`);
  if (!worker && (config.workers ?? 1) > 1) return runPrimary(config, logger, config.workers!);

  const roster = await startRoster(config, logger, {
    worker,
    // The embedded database died for good: exit non-zero with a clear line so that a supervisor
    // (systemd, Kubernetes, docker --restart) starts Roster again.
    onFatal: (err) => {
      logger.fatal({ err: err.message }, "exiting: the embedded database is gone");
      process.exit(1);
    },
  });
  if (worker) reportListening(roster.port);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      dieBy(signal, logger, (log) => log.warn({ signal }, "second signal: exiting without waiting for requests in flight"));
      return;
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    roster.close().then(
      ({ runningHashes }) => {
        if (runningHashes === 0) process.exit(0);
        // A normal exit waits for libuv's threads, and so for every bcrypt still computing.
        dieBy(signal, logger, (log) => log.warn({ runningHashes }, "exiting while password hashing is still running"));
      },
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  // a worker's signals come from its primary (SIGTERM); a terminal's SIGINT reaches the primary too
  process.on("SIGINT", () => (worker ? undefined : stop("SIGINT")));
  // A bug in one request must not take the process down; it is logged and the request fails.
  process.on("unhandledRejection", (reason) => logger.error({ err: reason }, "unhandled rejection"));
}

/**
 * Ends the process at once, as the signal's default action does (the exit status says "killed by
 * SIGTERM"), without waiting for native work such as bcrypt on libuv's thread pool. Lines queued
 * in the asynchronous log are written first, then `lastWords` synchronously: a signal never emits
 * the "exit" event on which the log would flush itself.
 */
function dieBy(signal: NodeJS.Signals, logger: Logger, lastWords: (log: Logger) => void): never {
  try {
    (logger as unknown as Record<symbol, { flushSync?: () => void } | undefined>)[pino.symbols.streamSym]?.flushSync?.();
  } catch {
    // a write in progress; what is queued behind it may be lost
  }
  lastWords(createLogger(logger.level, { sync: true }));
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
  // the default action ends the process before this line runs; just in case it does not:
  process.abort();
}

main(process.argv[2] ?? "start").catch((err: unknown) => {
  createLogger("error").fatal({ err }, "roster failed to start");
  process.exitCode = 1;
});
