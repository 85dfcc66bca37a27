/** Opens the database: a pool on DATABASE_URL, or an embedded PostgreSQL under the data dir. */
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import type { Logger } from "pino";
import { startEmbeddedPostgres } from "./embedded-postgres.js";
import { guardPool } from "./guarded-pool.js";
import type { Database } from "./schema.js";

export interface DatabaseTimeouts {
  /** Opening a connection, and waiting for a free one in the pool. */
  connectTimeoutMs: number;
  /** Server-side statement_timeout; the client gives up a little later (a frozen server cannot time out). */
  statementTimeoutMs: number;
  /** Server-side idle_in_transaction_session_timeout. */
  idleInTransactionTimeoutMs: number;
}

export const defaultDatabaseTimeouts: DatabaseTimeouts = {
  connectTimeoutMs: 5_000,
  statementTimeoutMs: 10_000,
  idleInTransactionTimeoutMs: 10_000,
};

/** How much longer than statement_timeout the client waits before it declares the server unresponsive. */
const CLIENT_DEADLINE_MARGIN_MS = 1_000;

export interface OpenDatabaseOptions {
  /** postgres://… ; undefined → embedded PostgreSQL in `<dataDir>/pg`. */
  databaseUrl?: string;
  dataDir: string;
  /** Port for the embedded server (must be free); default: the one used last time if free, else any free one. */
  embeddedPort?: number;
  /** Pool size (default 10). */
  maxConnections?: number;
  timeouts?: Partial<DatabaseTimeouts>;
  logger?: Logger;
  /** The embedded server died and could not be restarted (see embedded-postgres.ts). */
  onFatal?: (err: Error) => void;
  /** Called with the text of every statement sent through the pool (tests and benchmarks count them). */
  onStatement?: (sql: string) => void;
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
  const timeouts = { ...defaultDatabaseTimeouts, ...opts.timeouts };
  const embedded = opts.databaseUrl
    ? undefined
    : await startEmbeddedPostgres({ dir: opts.dataDir, port: opts.embeddedPort, logger: opts.logger, onFatal: opts.onFatal });
  const url = opts.databaseUrl ?? embedded!.url;

  const pool = new pg.Pool({
    connectionString: url,
    max: opts.maxConnections ?? 10,
    // bounds both opening a connection and waiting for a free one
    connectionTimeoutMillis: timeouts.connectTimeoutMs,
    statement_timeout: timeouts.statementTimeoutMs,
    idle_in_transaction_session_timeout: timeouts.idleInTransactionTimeoutMs,
    keepAlive: true,
  });
  const guarded = guardPool(pool, {
    queryTimeoutMs: timeouts.statementTimeoutMs + CLIENT_DEADLINE_MARGIN_MS,
    logger: opts.logger,
    onStatement: opts.onStatement,
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: guarded }) });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      try {
        await db.destroy();
      } finally {
        await embedded?.stop();
      }
    })());

  try {
    await probe(pool, url, timeouts.connectTimeoutMs);
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
  return { db, close, url, embedded: embedded !== undefined };
}

/**
 * One round trip before anything else, so that an unreachable or mute database stops the start
 * with a message naming it (never its password) instead of a hang or a bare socket error.
 */
async function probe(pool: pg.Pool, url: string, connectTimeoutMs: number): Promise<void> {
  try {
    await pool.query("SELECT 1");
  } catch (err) {
    const e = err as Error & { code?: string; errors?: Error[] };
    // net.connect to a name with several addresses fails with an AggregateError without message
    const message = e.message || e.errors?.map((x) => x.message).join("; ") || String(err);
    const reason = /connection timeout|timeout expired|timeout exceeded/.test(message)
      ? `it did not answer within ${connectTimeoutMs} ms (ROSTER_DB_CONNECT_TIMEOUT_MS)`
      : e.code && !message.includes(e.code)
        ? `${message} (${e.code})`
        : message;
    throw new Error(`cannot use the database at ${endpointOf(url)} (DATABASE_URL): ${reason}`, { cause: err });
  }
}

/** host:port of a postgres:// URL, for messages (the URL itself may hold a password). */
export function endpointOf(url: string): string {
  try {
    const u = new URL(url);
    const host = u.hostname || u.searchParams.get("host") || "localhost";
    return `${host}:${u.port || "5432"}`;
  } catch {
    return "(unparsable DATABASE_URL)";
  }
}
