/**
 * Prometheus metrics (`GET /metrics`, text exposition format): requests by protocol, procedure
 * and code with their latency, the database pool, the password hashing queue, the notification
 * outbox by status and the process itself. One registry per server, so that several servers in
 * one process (tests) do not share counters.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Logger } from "pino";
import type { NodeRequest, NodeResponse } from "./interceptors/logging.js";

interface PoolStats {
  /** Open connections (idle and in use). */
  total: number;
  idle: number;
  /** Queries waiting for a connection. */
  waiting: number;
}

interface HashQueueStats {
  running: number;
  queued: number;
}

export interface MetricsSources {
  pool?: () => PoolStats;
  passwordHashing?: () => HashQueueStats;
  /** Notifications by outbox status (read from the database; cached by the metrics). */
  notificationsByStatus?: () => Promise<Record<string, number>>;
}

/** Where the scrape is served (on the API port, or alone on ROSTER_METRICS_PORT). */
export const METRICS_PATH = "/metrics";

export interface Metrics {
  /** Counts one finished request. `procedure` must come from a bounded set. */
  observeRequest(labels: { protocol: string; procedure: string; code: string }, seconds: number): void;
  handler(req: NodeRequest, res: NodeResponse): void;
}

/** How long the outbox counts (one GROUP BY over the notifications) are reused. */
const OUTBOX_CACHE_MS = 5_000;

export function createMetrics(sources: MetricsSources, logger: Logger): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const labelNames = ["protocol", "procedure", "code"] as const;
  const requests = new Counter({
    name: "roster_requests_total",
    help: "Requests answered, by protocol (grpc, grpc-web, connect, rest, http, ui), procedure and code.",
    labelNames,
    registers: [registry],
  });
  const latency = new Histogram({
    name: "roster_request_duration_seconds",
    help: "Time from the request's arrival to the end of its response.",
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });

  if (sources.pool) {
    const pool = sources.pool;
    new Gauge({
      name: "roster_db_pool_connections",
      help: "Database connections of the pool, by state (idle, in_use).",
      labelNames: ["state"],
      registers: [registry],
      collect() {
        const s = pool();
        this.set({ state: "idle" }, s.idle);
        this.set({ state: "in_use" }, Math.max(0, s.total - s.idle));
      },
    });
    new Gauge({
      name: "roster_db_pool_waiting",
      help: "Database queries waiting for a free pool connection.",
      registers: [registry],
      collect() {
        this.set(pool().waiting);
      },
    });
  }
  if (sources.passwordHashing) {
    const hashing = sources.passwordHashing;
    new Gauge({
      name: "roster_password_hash_running",
      help: "bcrypt operations computing now.",
      registers: [registry],
      collect() {
        this.set(hashing().running);
      },
    });
    new Gauge({
      name: "roster_password_hash_queued",
      help: "bcrypt operations waiting for a hashing slot.",
      registers: [registry],
      collect() {
        this.set(hashing().queued);
      },
    });
  }
  if (sources.notificationsByStatus) {
    const read = sources.notificationsByStatus;
    let cached: { at: number; counts: Record<string, number> } | undefined;
    /** Every status seen once keeps being reported (0 when none is left in it). */
    const seen = new Set<string>();
    new Gauge({
      name: "roster_notifications",
      help: "Notifications in the outbox, by status (refreshed at most every 5 s).",
      labelNames: ["status"],
      registers: [registry],
      async collect() {
        if (!cached || Date.now() - cached.at >= OUTBOX_CACHE_MS) {
          try {
            cached = { at: Date.now(), counts: await read() };
          } catch (err) {
            // the database is away: the last counts stay (readiness reports the outage)
            logger.warn({ err: err instanceof Error ? err.message : String(err) }, "metrics: notification counts unavailable");
            if (!cached) return;
          }
        }
        for (const status of Object.keys(cached.counts)) seen.add(status);
        for (const status of seen) this.set({ status }, cached.counts[status] ?? 0);
      },
    });
  }

  return {
    observeRequest(labels, seconds) {
      requests.inc(labels);
      latency.observe(labels, seconds);
    },
    handler(req, res) {
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { allow: "GET, HEAD", "content-type": "application/json" });
        res.end(JSON.stringify({ code: 12, message: "Method Not Allowed" }));
        return;
      }
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": registry.contentType, "cache-control": "no-store" });
          if (req.method === "HEAD") res.end();
          else res.end(text);
        },
        (err: unknown) => {
          logger.error({ err }, "metrics collection failed");
          res.writeHead(500, { "content-type": "text/plain" });
          res.end("metrics collection failed\n");
        },
      );
    },
  };
}
