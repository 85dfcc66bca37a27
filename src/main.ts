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
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    roster.close().then(
      () => process.exit(0),
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

main(process.argv[2] ?? "start").catch((err: unknown) => {
  createLogger("error").fatal({ err }, "roster failed to start");
  process.exitCode = 1;
});
