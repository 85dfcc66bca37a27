import { pino, type Logger } from "pino";
import { loadConfig } from "./config/load-config.js";
import { createLogger } from "./logger.js";
import { startRoster } from "./app.js";
import { openDatabase } from "./store/database.js";
import { migrateToLatest } from "./store/migrate.js";

/** CLI: `start` (default) serves the API; `migrate` applies pending migrations and exits. */
async function main(command: string): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);

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

  const roster = await startRoster(config, logger, {
    // The embedded database died for good: exit non-zero with a clear line so that a supervisor
    // (systemd, Kubernetes, docker --restart) starts Roster again.
    onFatal: (err) => {
      logger.fatal({ err: err.message }, "exiting: the embedded database is gone");
      process.exit(1);
    },
  });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting without waiting for requests in flight");
      dieBy(signal, logger);
      return;
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    roster.close().then(
      ({ runningHashes }) => {
        if (runningHashes === 0) process.exit(0);
        // A normal exit waits for libuv's threads, and so for every bcrypt still computing.
        logger.warn({ runningHashes }, "exiting while password hashing is still running");
        dieBy(signal, logger);
      },
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  // A bug in one request must not take the process down; it is logged and the request fails.
  process.on("unhandledRejection", (reason) => logger.error({ err: reason }, "unhandled rejection"));
}

/**
 * Ends the process at once, as the signal's default action does (the exit status says "killed by
 * SIGTERM"), without waiting for native work such as bcrypt on libuv's thread pool.
 */
function dieBy(signal: NodeJS.Signals, logger: Logger): never {
  // pino writes asynchronously and flushes on "exit", which a signal never emits
  try {
    (logger as unknown as Record<symbol, { flushSync?: () => void } | undefined>)[pino.symbols.streamSym]?.flushSync?.();
  } catch {
    // nothing more can be done about the log
  }
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
  // the default action ends the process before this line runs; just in case it does not:
  process.abort();
}

main(process.argv[2] ?? "start").catch((err: unknown) => {
  createLogger("error").fatal({ err }, "roster failed to start");
  process.exitCode = 1;
});
