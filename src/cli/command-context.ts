/**
 * What the one-shot commands (admin, token, key) work on: the configuration, a logger on stderr
 * (stdout is the command's answer, e.g. a token), and the migrated database of this instance.
 */
import type { Logger } from "pino";
import type { Config } from "../config/config.js";
import { loadConfig } from "../config/load-config.js";
import type { Store } from "../domain/store.js";
import { createLogger } from "../logger.js";
import { StartupError } from "../startup-error.js";
import { DEFAULT_ORG_SETTING } from "../auth/bootstrap.js";
import { openDatabase, type OpenedDatabase } from "../store/database.js";
import { createStore } from "../store/kysely-store.js";
import { migrateToLatest } from "../store/migrate.js";

export interface CommandContext {
  config: Config;
  logger: Logger;
  database: OpenedDatabase;
  store: Store;
  /** The default organization; a StartupError when the instance was never started. */
  defaultOrgId(): Promise<string>;
}

/** The instance's database as the configuration names it, opened for `purpose` (see data-dir-lock.ts). */
export function openInstanceDatabase(config: Config, logger: Logger, purpose: string): Promise<OpenedDatabase> {
  return openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    embeddedRuntimeDir: config.embeddedRuntimeDir,
    timeouts: config.database,
    logger,
    purpose,
  });
}

export async function withDatabase<T>(purpose: string, fn: (ctx: CommandContext) => Promise<T>): Promise<T> {
  const config = loadConfig();
  // info lines of opening the embedded database are noise for a one-shot command
  const logger = createLogger(config.logLevel === "info" ? "warn" : config.logLevel, { destination: 2 });
  const database = await openInstanceDatabase(config, logger, purpose);
  try {
    await migrateToLatest(database.db);
    const store = createStore(database.db);
    return await fn({
      config,
      logger,
      database,
      store,
      async defaultOrgId() {
        const id = await store.read.getSetting(DEFAULT_ORG_SETTING);
        if (!id) throw new StartupError("this database holds no Roster instance yet: run `roster start` once first");
        return id;
      },
    });
  } finally {
    await database.close();
  }
}
