/**
 * `GET /healthz`: the process is up and serving HTTP (always 200 while it answers at all).
 * `GET /readyz`: ready for traffic (readiness.ts): 200, or 503 while draining or
 * without a database. Bodies are small JSON documents for people; probes read the status.
 */
import type { NodeRequest, NodeResponse } from "./interceptors/logging.js";
import type { Readiness } from "./readiness.js";
import { retryAfterHeader } from "./error-mapping.js";

export const HEALTH_PATHS = new Set(["/healthz", "/readyz"]);

function send(req: NodeRequest, res: NodeResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json",
    "cache-control": "no-store",
    "content-length": String(Buffer.byteLength(text)),
  });
  if (req.method === "HEAD") res.end();
  else res.end(text);
}

export function createHealthHttpHandler(readiness: Readiness): (req: NodeRequest, res: NodeResponse) => void {
  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(req, res, 405, { code: 12, message: "Method Not Allowed" }, { allow: "GET, HEAD" });
      return;
    }
    const path = (req.url ?? "/").split("?", 1)[0];
    if (path === "/healthz") {
      send(req, res, 200, { status: "ok" });
      return;
    }
    readiness.check().then(
      (result) =>
        result.ready
          ? send(req, res, 200, { status: "ready" })
          : // the reason only: the database's error (hosts, ports) is for the log, not for any client
            send(req, res, 503, { status: "not ready", reason: result.reason }, retryAfterHeader),
      () => send(req, res, 503, { status: "not ready", reason: "database" }),
    );
  };
}
