/**
 * One JSON line per request: protocol, procedure, code, HTTP status, duration. Never headers or
 * bodies (they carry tokens and personal data).
 *
 * The line is written when the HTTP response closes, so requests that never reach an interceptor
 * (decoding errors, unknown routes) are logged too; the interceptor only records the RPC's code.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { Code, ConnectError, createContextKey, createContextValues, type ContextValues, type Interceptor } from "@connectrpc/connect";
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { RequestScope } from "../../log-context.js";
import { HEALTH_PATHS } from "../health-http.js";
import { METRICS_PATH } from "../metrics.js";

/** `http`: the edge's own endpoints (health, metrics, OpenAPI document). */
export type Protocol = "grpc" | "grpc-web" | "connect" | "rest" | "ui" | "http";

export interface RequestLog {
  protocol: Protocol;
  procedure: string;
  /** Connect's code name (`ok`, `not_found`, …) once known. */
  code?: string;
}

export type NodeRequest = IncomingMessage | Http2ServerRequest;
export type NodeResponse = ServerResponse | Http2ServerResponse;

const requestLogKey = createContextKey<RequestLog | undefined>(undefined, { description: "request log record" });
const logs = new WeakMap<NodeRequest, RequestLog>();

export function codeName(code: Code): string {
  return (Code[code] ?? "unknown").replace(/[a-z][A-Z]/g, (m) => `${m[0]}_${m[1]}`).toLowerCase();
}

function protocolOf(req: NodeRequest): Protocol {
  const type = String(req.headers["content-type"] ?? "");
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  if (type.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/** The record of a request being served; the REST gateway fills it itself. */
export function requestLogOf(req: NodeRequest): RequestLog | undefined {
  return logs.get(req);
}

/** The record of the request these context values belong to (set by `contextValuesWithLog`). */
export function requestLogOfContext(values: ContextValues | undefined): RequestLog | undefined {
  return values?.get(requestLogKey);
}

/** connect-node `contextValues` hook: exposes the request's log record to the interceptor. */
export function contextValuesWithLog(req: NodeRequest): ContextValues {
  const values = createContextValues();
  values.set(requestLogKey, logs.get(req));
  return values;
}

/** Records the RPC's outcome; sits outermost so it sees the mapped error. */
export function createLoggingInterceptor(): Interceptor {
  return (next) => async (req) => {
    const record = req.contextValues.get(requestLogKey);
    try {
      const res = await next(req);
      if (record) record.code = "ok";
      return res;
    } catch (err) {
      if (record) record.code = codeName(err instanceof ConnectError ? err.code : Code.Unknown);
      throw err;
    }
  };
}

/** Connect errors raised before any interceptor runs (decoding, size, unknown procedure). */
const connectCodeOfStatus: Record<number, Code> = {
  400: Code.InvalidArgument,
  404: Code.Unimplemented,
  429: Code.ResourceExhausted,
};

function fallbackCode(record: RequestLog, res: NodeResponse): string | undefined {
  const grpcStatus = res.getHeader("grpc-status");
  if (grpcStatus !== undefined) return codeName(Number(grpcStatus) as Code);
  if (res.statusCode < 400) return "ok";
  const code = record.protocol === "connect" ? connectCodeOfStatus[res.statusCode] : undefined;
  return code === undefined ? "unknown" : codeName(code);
}

/** The code the client received, as the request log shows it. */
function finalCodeOf(record: RequestLog, res: NodeResponse): string {
  return record.code ?? fallbackCode(record, res) ?? "unknown";
}

const PROBE_PATHS = new Set([...HEALTH_PATHS, METRICS_PATH]);

/** A client's own request id is kept when it is short and plain; otherwise one is made. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:+/=-]{1,128}$/;

/** Told of every finished request, with the code its log line shows (e.g. the request metrics). */
export type RequestDone = (record: RequestLog, code: string, seconds: number) => void;

/**
 * Starts the request's record and writes its log line when the response is done (then tells
 * `onDone`). Returns the request's scope (see log-context.ts): its id, from `x-request-id` or
 * generated, is echoed in the response's `x-request-id` header.
 */
export function trackRequest(logger: Logger, req: NodeRequest, res: NodeResponse, onDone?: RequestDone): RequestScope {
  const started = process.hrtime.bigint();
  const path = (req.url ?? "/").split("?")[0];
  const record: RequestLog = { protocol: protocolOf(req), procedure: path };
  logs.set(req, record);
  const offered = req.headers["x-request-id"];
  const scope: RequestScope = {
    requestId: typeof offered === "string" && CLIENT_REQUEST_ID.test(offered) ? offered : randomUUID(),
  };
  res.setHeader("x-request-id", scope.requestId);
  const peer = req.socket?.remoteAddress;
  // probes and scrapes arrive every few seconds: their lines are debug, not info
  const level = PROBE_PATHS.has(path) ? "debug" : "info";
  res.once("close", () => {
    const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
    const code = finalCodeOf(record, res);
    logger[level](
      {
        requestId: scope.requestId,
        protocol: record.protocol,
        procedure: record.procedure,
        code,
        status: res.statusCode,
        durationMs: Math.round(durationMs * 1000) / 1000,
        peer,
        principalId: scope.principalId,
      },
      "request",
    );
    onDone?.(record, code, durationMs / 1000);
  });
  return scope;
}
