/** Opens the database: a pool on DATABASE_URL, or an embedded PostgreSQL under the data dir. */
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import type { Logger } from "pino";
import { StartupError } from "../startup-error.js";
import { claimDataDir } from "./data-dir-lock.js";
import { startEmbeddedPostgres } from "./embedded-postgres.js";
import { isConnectionFailure } from "./pg-errors.js";
import { guardPool } from "./guarded-pool.js";
import type { Database } from "./schema.js";

export interface DatabaseTimeouts {
  /** Opening a connection, and waiting for a free one in the pool. */
  connectTimeoutMs: number;
  /** Server-side statement_timeout; the client gives up a little later (a frozen server cannot time out). */
  statementTimeoutMs: number;
  /** Server-side idle_in_transaction_session_timeout. */
  idleInTransactionTimeoutMs: number;
  /** At start, how long to keep retrying a database that cannot be reached yet (0: one try). */
  startupTimeoutMs: number;
}

export const defaultDatabaseTimeouts: DatabaseTimeouts = {
  connectTimeoutMs: 5_000,
  statementTimeoutMs: 10_000,
  idleInTransactionTimeoutMs: 10_000,
  startupTimeoutMs: 60_000,
};

/** How much longer than statement_timeout the client waits before it declares the server unresponsive. */
const CLIENT_DEADLINE_MARGIN_MS = 1_000;

export interface OpenDatabaseOptions {
  /** postgres://… ; undefined → embedded PostgreSQL in `<dataDir>/pg`. */
  databaseUrl?: string;
  dataDir: string;
  /** See EmbeddedOptions.runtimeDir. */
  embeddedRuntimeDir?: string;
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
  /**
   * What the process opens it for: "start" (the default) owns an embedded data directory
   * exclusively; other commands share a running server's (see data-dir-lock.ts).
   */
  purpose?: string;
}

export interface OpenedDatabase {
  db: Kysely<Database>;
  /** Ends the pool, then stops the embedded server if this process started it. Idempotent. */
  close(): Promise<void>;
  /** One round trip (`SELECT 1`): resolves when the database answers. */
  ping(): Promise<void>;
  /** Connection URL (other processes may connect to it; contains the embedded password). */
  url: string;
  embedded: boolean;
  /** The pool's connections now (for the metrics). */
  poolStats(): { total: number; idle: number; waiting: number };
}

export async function openDatabase(opts: OpenDatabaseOptions): Promise<OpenedDatabase> {
  const timeouts = { ...defaultDatabaseTimeouts, ...opts.timeouts };
  const claim = opts.databaseUrl ? undefined : await claimDataDir(opts.dataDir, opts.purpose ?? "start");
  let embedded;
  try {
    embedded = opts.databaseUrl
      ? undefined
      : await startEmbeddedPostgres({
          dir: opts.dataDir,
          port: opts.embeddedPort,
          runtimeDir: opts.embeddedRuntimeDir,
          joinRunning: !claim!.owned,
          logger: opts.logger,
          onFatal: opts.onFatal,
        });
  } catch (err) {
    await claim?.release();
    throw err;
  }
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
        try {
          await embedded?.stop();
        } finally {
          await claim?.release();
        }
      }
    })());

  try {
    await probeUntilReachable(pool, url, timeouts, opts.logger);
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
  return {
    db,
    close,
    async ping() {
      await sql`SELECT 1`.execute(db);
    },
    url,
    embedded: embedded !== undefined,
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
  };
}

/**
 * At start, a database that is coming up beside Roster (compose, a restarting server) is waited
 * for: connection-class failures are retried with backoff until `startupTimeoutMs`, each attempt
 * logged with its cause and the host. Anything else (a wrong password, a missing database) stops
 * at once.
 */
async function probeUntilReachable(pool: pg.Pool, url: string, timeouts: DatabaseTimeouts, logger: Logger | undefined): Promise<void> {
  const deadline = Date.now() + timeouts.startupTimeoutMs;
  for (let attempt = 1, delayMs = 500; ; attempt++, delayMs = Math.min(delayMs * 2, 5_000)) {
    try {
      await probe(pool, url, timeouts.connectTimeoutMs);
      if (attempt > 1) logger?.info({ database: endpointOf(url), attempt }, "database reachable");
      return;
    } catch (err) {
      const wait = Math.min(delayMs, deadline - Date.now());
      if (!isConnectionFailure((err as Error).cause) || wait <= 0) {
        if (attempt > 1) {
          throw new StartupError(`${(err as Error).message}; gave up after ${attempt} attempts in ${Math.round(timeouts.startupTimeoutMs / 1000)} s (ROSTER_DB_STARTUP_TIMEOUT_SECONDS)`, { cause: err });
        }
        throw new StartupError((err as Error).message, { cause: err });
      }
      logger?.warn({ database: endpointOf(url), attempt, retryInMs: wait, reason: (err as Error).message }, "database not reachable yet; retrying");
      await new Promise((r) => setTimeout(r, wait));
    }
  }
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
