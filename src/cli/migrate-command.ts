/** `roster migrate`: applies pending migrations and exits. */
import { loadConfig } from "../config/load-config.js";
import { createLogger } from "../logger.js";
import { migrateToLatest } from "../store/migrate.js";
import type { ParsedArgs } from "./args.js";
import { openInstanceDatabase } from "./command-context.js";

export async function migrate(_args: ParsedArgs): Promise<number> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const database = await openInstanceDatabase(config, logger, "migrate");
  try {
    const applied = await migrateToLatest(database.db);
    logger.info({ applied }, applied.length ? "migrations applied" : "no pending migrations");
  } finally {
    await database.close();
  }
  return 0;
}
