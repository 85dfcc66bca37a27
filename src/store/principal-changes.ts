/**
 * The other processes' principal changes: one dedicated connection LISTENs on the channel the
 * store notifies on (principals.ts) and reports each user id. When the connection fails, anything
 * may have been missed: it reports `undefined` (drop everything) and connects again; meanwhile the
 * cache's short TTL bounds how long a change can go unseen.
 */
import pg from "pg";
import type { Logger } from "pino";
import type { PrincipalChangeListener } from "../domain/store.js";
import { PRINCIPAL_CHANNEL } from "./principals.js";

export interface PrincipalChangeFeed {
  close(): Promise<void>;
}

const RECONNECT_MS = 1_000;

export async function listenPrincipalChanges(opts: {
  url: string;
  onChange: PrincipalChangeListener;
  logger?: Pick<Logger, "warn" | "info">;
}): Promise<PrincipalChangeFeed> {
  let closed = false;
  let client: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  let broken = false;

  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: opts.url, keepAlive: true });
    c.on("notification", (n) => {
      if (n.channel === PRINCIPAL_CHANNEL && n.payload) opts.onChange(n.payload);
    });
    c.on("error", (err) => lost(c, err));
    c.on("end", () => lost(c));
    await c.connect();
    await c.query(`LISTEN ${PRINCIPAL_CHANNEL}`);
    if (closed) {
      await c.end().catch(() => {});
      return;
    }
    client = c;
    if (broken) {
      broken = false;
      opts.logger?.info("principal change feed connected again");
    }
    // whatever happened while no one listened is unknown
    opts.onChange(undefined);
  };

  const retry = (): void => {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      connect().catch((err) => lost(undefined, err));
    }, RECONNECT_MS);
    timer.unref();
  };

  function lost(c: pg.Client | undefined, err?: Error): void {
    if (closed) return;
    if (c && client !== c && client !== undefined) return; // an old connection's late event
    if (c) c.removeAllListeners("notification");
    client = undefined;
    if (!broken) {
      broken = true;
      opts.logger?.warn({ err: err?.message }, "principal change feed lost; reconnecting");
    }
    opts.onChange(undefined);
    c?.end().catch(() => {});
    retry();
  }

  await connect();
  return {
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      const c = client;
      client = undefined;
      await c?.end().catch(() => {});
    },
  };
}
