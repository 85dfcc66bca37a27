/**
 * The pg pool as Kysely sees it, made safe against a database that goes away or stops answering:
 *
 * - every client has an `error` listener for its whole life, checked out or idle, so a connection
 *   that drops mid-request fails that request instead of crashing the process;
 * - every statement has a client-side deadline (the server's statement_timeout cannot help when
 *   the server itself is frozen); on expiry the connection is destroyed, so neither the late
 *   answer nor a half-done transaction can ever reach the next user of that connection;
 * - every connection-class failure is raised as `DatabaseUnavailable`.
 */
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from "kysely";
import type pg from "pg";
import type { Logger } from "pino";
import { DatabaseUnavailable, isConnectionFailure } from "./pg-errors.js";

export interface GuardOptions {
  /** Client-side deadline of one statement. */
  queryTimeoutMs: number;
  logger?: Pick<Logger, "warn" | "info">;
  /** Hears the text of every statement sent (the statement-counting hook of tests and benchmarks). */
  onStatement?: (sql: string) => void;
}

/** pg's socket, to abort a connection whose statement ran out of time (pg-pool does the same). */
interface ClientInternals {
  connection?: { stream?: { destroy(err?: Error): void } };
}

export function guardPool(pool: pg.Pool, opts: GuardOptions): PostgresPool {
  const health = healthLog(opts.logger);
  const guarded = new WeakMap<pg.PoolClient, PostgresPoolClient>();

  // A connection that fails while checked out: the statement in flight (if any) is rejected by
  // pg itself; this listener only keeps the event from being unhandled.
  pool.on("connect", (client) => client.on("error", (err) => health.failed(err)));
  // An idle connection that fails: pg-pool removes it and emits this.
  pool.on("error", (err) => health.failed(err));

  const fail = (err: unknown): never => {
    if (!isConnectionFailure(err)) throw err;
    health.failed(err);
    throw err instanceof DatabaseUnavailable ? err : new DatabaseUnavailable(describe(err), { cause: err });
  };

  function wrap(client: pg.PoolClient): PostgresPoolClient {
    let broken = false;
    const query = async <R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> => {
      opts.onStatement?.(sql);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        broken = true;
        (client as unknown as ClientInternals).connection?.stream?.destroy();
      }, opts.queryTimeoutMs);
      try {
        const result = (await client.query(sql, parameters as unknown[])) as unknown as PostgresQueryResult<R>;
        health.succeeded();
        return result;
      } catch (err) {
        if (timedOut) fail(new DatabaseUnavailable(`the database did not answer within ${opts.queryTimeoutMs} ms`, { cause: err }));
        if (isConnectionFailure(err)) broken = true;
        return fail(err);
      } finally {
        clearTimeout(timer);
      }
    };
    return {
      get processID() {
        return (client as unknown as { processID?: number }).processID;
      },
      query: query as PostgresPoolClient["query"],
      // A connection that failed or timed out is closed, never handed to the next request.
      release: (destroy?: boolean) => client.release(destroy || broken ? true : undefined),
    };
  }

  return {
    options: pool.options,
    async connect() {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        return fail(err);
      }
      let wrapped = guarded.get(client);
      if (!wrapped) {
        wrapped = wrap(client);
        guarded.set(client, wrapped);
      }
      return wrapped;
    },
    end: () => pool.end(),
  };
}

function describe(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e.message === "string" && e.message !== "" ? e.message : String(err);
  return typeof e.code === "string" && !message.includes(e.code) ? `${message} (${e.code})` : message;
}

/** Logs the transitions only: the first failure of an outage and the first success after it. */
function healthLog(logger: GuardOptions["logger"]) {
  let down = false;
  return {
    failed(err: unknown) {
      if (down) return;
      down = true;
      logger?.warn({ err: describe(err) }, "database unavailable");
    },
    succeeded() {
      if (!down) return;
      down = false;
      logger?.info("database available again");
    },
  };
}
