/**
 * Browser access (contract.md §2, auth.md §8). Active only when allowed origins are configured:
 * the HTTP layer answers preflights and adds CORS headers; the origin check itself runs as an
 * interceptor so that a refused origin gets the protocol's own error form.
 */
import type { Interceptor } from "@connectrpc/connect";
import { Errors } from "../domain/errors.js";
import { restErrorFromConnect, connectErrorFromDomain } from "./error-mapping.js";
import type { NodeRequest, NodeResponse } from "./interceptors/logging.js";

const ALLOW_METHODS = "GET, POST, PUT, DELETE";
const ALLOW_HEADERS = [
  "authorization",
  "x-zitadel-orgid",
  "if-match",
  "content-type",
  "connect-protocol-version",
  "connect-timeout-ms",
  "x-grpc-web",
  "x-user-agent",
  "grpc-timeout",
  "x-request-id",
].join(", ");
const EXPOSE_HEADERS = ["etag", "grpc-status", "grpc-message", "grpc-status-details-bin", "x-request-id", "retry-after"].join(", ");
const PREFLIGHT_MAX_AGE_SECONDS = "7200";

export type OriginPolicy = (origin: string) => boolean;

/** `undefined` when no list is configured: then there is no CORS and no origin check. */
export function createOriginPolicy(origins: readonly string[]): OriginPolicy | undefined {
  if (origins.length === 0) return undefined;
  if (origins.includes("*")) return () => true;
  const allowed = new Set(origins);
  return (origin) => allowed.has(origin);
}

/**
 * Adds CORS headers to the response and answers preflights.
 * Returns true when the request has been answered (a preflight).
 */
export function handleCors(policy: OriginPolicy, req: NodeRequest, res: NodeResponse): boolean {
  const origin = req.headers.origin;
  if (typeof origin !== "string") return false;
  const preflight = req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
  res.setHeader("Vary", "Origin");
  if (!policy(origin)) {
    if (!preflight) return false; // the origin interceptor or the gateway refuses it in the protocol's form
    const { status, body } = restErrorFromConnect(connectErrorFromDomain(Errors.originNotAllowed()));
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
    return true;
  }
  res.setHeader("Access-Control-Allow-Origin", origin);
  if (!preflight) {
    res.setHeader("Access-Control-Expose-Headers", EXPOSE_HEADERS);
    return false;
  }
  res.writeHead(204, {
    "Access-Control-Allow-Methods": ALLOW_METHODS,
    "Access-Control-Allow-Headers": ALLOW_HEADERS,
    "Access-Control-Max-Age": PREFLIGHT_MAX_AGE_SECONDS,
  });
  res.end();
  return true;
}

/** Refuses requests from origins outside the list (auth.md §8); requests without Origin pass. */
export function createOriginInterceptor(policy: OriginPolicy): Interceptor {
  return (next) => async (req) => {
    const origin = req.header.get("origin");
    if (origin !== null && !policy(origin)) throw Errors.originNotAllowed();
    return next(req);
  };
}
