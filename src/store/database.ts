/** Opens the database: a pool on DATABASE_URL, or an embedded PostgreSQL under the data dir. */
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import type { Logger } from "pino";
import { startEmbeddedPostgres } from "./embedded-postgres.js";
import type { Database } from "./schema.js";

export interface OpenDatabaseOptions {
  /** postgres://… ; undefined → embedded PostgreSQL in `<dataDir>/pg`. */
  databaseUrl?: string;
  dataDir: string;
  /** Port for the embedded server (must be free); default: the one used last time if free, else any free one. */
  embeddedPort?: number;
  /** Pool size (default 10). */
  maxConnections?: number;
  logger?: Logger;
}

export interface OpenedDatabase {
  db: Kysely<Database>;
  /** Ends the pool, then stops the embedded server if this process started it. Idempotent. */
  close(): Promise<void>;
  /** Connection URL (other processes may connect to it; contains the embedded password). */
  url: string;
  embedded: boolean;
}

export async function openDatabase(opts: OpenDatabaseOptions): Promise<OpenedDatabase> {
  const embedded = opts.databaseUrl
    ? undefined
    : await startEmbeddedPostgres({ dir: opts.dataDir, port: opts.embeddedPort, logger: opts.logger });
  const url = opts.databaseUrl ?? embedded!.url;

  const pool = new pg.Pool({ connectionString: url, max: opts.maxConnections ?? 10 });
  // An idle client losing its connection (server restart, network) must not crash the process;
  // the next query gets a fresh connection or a proper error.
  pool.on("error", (err) => opts.logger?.warn({ err: err.message }, "idle database connection failed"));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      try {
        await db.destroy();
      } finally {
        await embedded?.stop();
      }
    })());

  return { db, close, url, embedded: embedded !== undefined };
}
