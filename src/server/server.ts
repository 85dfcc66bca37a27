/**
 * Starts the protocol edge: one port; RPC paths (`/<package>.<Service>/…`) go to the RPC handler
 * (the API services, the gRPC health service and server reflection), `/ui/…` to the pages,
 * `/healthz`, `/readyz`, `/metrics` and `/openapi.json` to their handlers, everything else to the
 * REST gateway.
 */
import http from "node:http";
import type { Logger } from "pino";
import type { Config } from "../config/config.js";
import { runInRequestScope } from "../log-context.js";
import { StartupError } from "../startup-error.js";
import { createInProcessTransport, createRpcHandler, type RpcOptions, type ServiceRegistration } from "./connect.js";
import { createOriginPolicy, handleCors } from "./cors.js";
import { internalConnectError, restErrorFromConnect } from "./error-mapping.js";
import { createGateway } from "./gateway.js";
import type { Authenticate } from "./interceptors/auth.js";
import { trackRequest, type NodeRequest, type NodeResponse } from "./interceptors/logging.js";
import { defaultListenerLimits, listen, type ListenerLimits } from "./listener.js";
import { createUiHandler, isUiPath } from "./static-ui.js";
import { answerUnknownProcedure } from "./node-adapter.js";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { createHealthHttpHandler, HEALTH_PATHS } from "./health-http.js";
import { createHealthService } from "./health-service.js";
import { createMetrics, METRICS_PATH, type MetricsSources } from "./metrics.js";
import { createReadiness, type Readiness } from "./readiness.js";
import { createReflectionServices, ServerReflectionV1, ServerReflectionV1alpha } from "./reflection.js";
import { requestLogOf, type RequestDone } from "./interceptors/logging.js";
import { buildOpenApiDocument } from "./openapi.js";

export type { Authenticate, AuthHeaders } from "./interceptors/auth.js";
export type { ServiceRegistration } from "./connect.js";
export type { ListenerLimits } from "./listener.js";
export type { MetricsSources } from "./metrics.js";
export { createReadiness, type Readiness } from "./readiness.js";

export interface ServerDeps {
  config: Config;
  logger: Logger;
  services: ServiceRegistration[];
  authenticate: Authenticate;
  /** Connection limits; defaults suit production, tests shorten them. */
  limits?: Partial<ListenerLimits>;
  /** What `/readyz` and the gRPC health service report (default: ready while not draining). */
  readiness?: Readiness;
  /** Where the gauges of `/metrics` read the pool, the hashing queue and the outbox. */
  metrics?: MetricsSources;
}

export interface RunningServer {
  port: number;
  /** The port `/metrics` is served on when ROSTER_METRICS_PORT is set. */
  metricsPort?: number;
  /** Readiness turns "not ready" from now on (`/readyz` 503, health NOT_SERVING); close() calls it first. */
  markDraining(): void;
  /** Stops accepting, lets in-flight requests finish (bounded), then closes every connection. */
  close(): Promise<void>;
}

/** The paths of the edge's own HTTP endpoints (a bounded label set for the request metrics). */
const OPENAPI_PATH = "/openapi.json";

export async function startServer(deps: ServerDeps): Promise<RunningServer> {
  const logger = deps.logger.child({ component: "server" });
  const originPolicy = createOriginPolicy(deps.config.corsOrigins);
  const readiness = deps.readiness ?? createReadiness();
  const reflected = [...deps.services.map((s) => s.service), Health, ServerReflectionV1, ServerReflectionV1alpha];
  const reflection = createReflectionServices(reflected);
  // No token: load balancers, orchestrators and grpcurl ask these without credentials.
  const edgeServices: ServiceRegistration[] = [
    {
      service: Health,
      impl: createHealthService({ readiness, services: deps.services.map((s) => s.service.typeName) }),
      withoutToken: true,
    },
    { service: ServerReflectionV1, impl: reflection.v1, withoutToken: true },
    { service: ServerReflectionV1alpha, impl: reflection.v1alpha, withoutToken: true },
  ];
  const services = [...deps.services, ...edgeServices];
  const metrics = createMetrics(deps.metrics ?? {}, logger);
  const healthHttp = createHealthHttpHandler(readiness);
  const separateMetrics = deps.config.metricsPort !== undefined;
  const rpc: RpcOptions = {
    logger,
    services,
    authenticate: deps.authenticate,
    originPolicy,
    maxRequestBytes: deps.config.maxRequestBytes,
  };
  const rpcHandler = createRpcHandler(rpc);
  const gateway = createGateway({
    logger,
    services: deps.services.map((s) => s.service),
    transport: createInProcessTransport(rpc),
    maxRequestBytes: deps.config.maxRequestBytes,
  });
  const rpcPrefixes = services.map((s) => `/${s.service.typeName}/`);
  const knownProcedures = new Set(services.flatMap((s) => s.service.methods.map((m) => `/${s.service.typeName}/${m.name}`)));
  const edgePaths = new Set([...HEALTH_PATHS, OPENAPI_PATH, ...(separateMetrics ? [] : [METRICS_PATH])]);
  const openApi = JSON.stringify(
    buildOpenApiDocument({
      services: deps.services.map((s) => s.service),
      tokenless: new Set(deps.services.filter((s) => s.withoutToken).map((s) => s.service.typeName)),
    }),
  );
  /** Request metrics: labels from bounded sets only (unknown paths share one label). */
  const observe: RequestDone = (record, code, seconds) => {
    const procedure =
      knownProcedures.has(record.procedure) || edgePaths.has(record.procedure)
        ? record.procedure
        : record.protocol === "ui"
          ? "/ui/"
          : "unmatched";
    metrics.observeRequest({ protocol: record.protocol, procedure, code }, seconds);
  };
  const ui = createUiHandler({ root: deps.config.uiDir, logger });
  /** `/<package>.<Service>/<Method>`: an RPC of a service Roster does not serve. */
  const rpcShaped = /^\/[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+\/[A-Za-z_]\w*$/;
  /** gRPC allows a service without a package: any `/<Service>/<Method>`. */
  const grpcShaped = /^\/[^/?]+\/[^/?]+$/;
  const isUnknownRpc = (req: NodeRequest, path: string) => {
    const [bare, query = ""] = path.split("?", 2) as [string, string?];
    // gRPC and gRPC-web: whatever the path, the client expects a grpc-status
    if (String(req.headers["content-type"] ?? "").toLowerCase().startsWith("application/grpc")) return grpcShaped.test(bare);
    if (!rpcShaped.test(bare)) return false;
    // Connect unary: POST, or GET with the Connect query (`?connect=v1&encoding=…&message=…`)
    return req.method === "POST" || (req.method === "GET" && new URLSearchParams(query).has("encoding"));
  };

  const handler = (req: NodeRequest, res: NodeResponse): void => {
    try {
      const scope = trackRequest(logger, req, res, observe);
      runInRequestScope(scope, () => {
        const path = req.url ?? "/";
        const bare = path.split("?", 1)[0]!;
        if (edgePaths.has(bare)) {
          const record = requestLogOf(req);
          if (record) record.protocol = "http";
          if (bare === METRICS_PATH) metrics.handler(req, res);
          else if (bare === OPENAPI_PATH) sendDocument(req, res, openApi);
          else healthHttp(req, res);
          return;
        }
        if (originPolicy && handleCors(originPolicy, req, res)) return;
        if (rpcPrefixes.some((prefix) => path.startsWith(prefix))) rpcHandler(req, res);
        else if (isUiPath(path)) ui(req, res);
        else if (isUnknownRpc(req, path)) answerUnknownProcedure(req, res);
        else gateway(req, res);
      });
    } catch (err) {
      // Last line of defence: a bad request must never take the process down.
      logger.error({ err }, "request dispatch failed");
      if (!res.headersSent) {
        const { status, body } = restErrorFromConnect(internalConnectError());
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      } else {
        res.destroy();
      }
    }
  };

  const listener = await listen(deps.config.host, deps.config.port, handler, {
    ...defaultListenerLimits,
    ...deps.limits,
  }).catch((err: NodeJS.ErrnoException) => {
    throw listenFailure(err, deps.config.host, deps.config.port);
  });
  logger.info({ host: deps.config.host, port: listener.port }, "listening");
  let metricsServer: { port: number; close(): Promise<void> } | undefined;
  try {
    metricsServer = separateMetrics ? await listenMetrics(deps.config.host, deps.config.metricsPort!, metrics.handler) : undefined;
  } catch (err) {
    await listener.close();
    throw listenFailure(err as NodeJS.ErrnoException, deps.config.host, deps.config.metricsPort!, "ROSTER_METRICS_PORT");
  }
  if (metricsServer) logger.info({ host: deps.config.host, port: metricsServer.port }, "metrics listening");
  let closing: Promise<void> | undefined;
  return {
    port: listener.port,
    metricsPort: metricsServer?.port,
    markDraining: () => readiness.markDraining(),
    close() {
      return (closing ??= (async () => {
        readiness.markDraining();
        try {
          await listener.close();
        } finally {
          await metricsServer?.close();
        }
      })());
    },
  };
}

function sendDocument(req: NodeRequest, res: NodeResponse, json: string): void {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD", "content-type": "application/json" });
    res.end(JSON.stringify({ code: 12, message: "Method Not Allowed" }));
    return;
  }
  res.writeHead(200, { "content-type": "application/json", "content-length": String(Buffer.byteLength(json)) });
  if (req.method === "HEAD") res.end();
  else res.end(json);
}

/** `/metrics` alone on its own port (ROSTER_METRICS_PORT), for a scraper on a private network. */
async function listenMetrics(
  host: string,
  port: number,
  handler: (req: NodeRequest, res: NodeResponse) => void,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if ((req.url ?? "/").split("?", 1)[0] === METRICS_PATH) handler(req, res);
    else {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ code: 5, message: "Not Found" }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A port that cannot be opened, in words that name the variables to change. */
function listenFailure(err: NodeJS.ErrnoException, host: string, port: number, variable = "PORT"): Error {
  const where = `${host}:${port}`;
  if (err.code === "EADDRINUSE") {
    return new StartupError(`port ${port} is already in use on ${host} (${where}, EADDRINUSE): stop the process that holds it, or choose another port with ${variable}`);
  }
  if (err.code === "EACCES") {
    return new StartupError(`not allowed to listen on ${where} (EACCES): ports below 1024 need privileges; choose another port with ${variable}`);
  }
  if (err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND") {
    return new StartupError(`cannot listen on ${where} (${err.code}): ROSTER_HOST must be an address of this machine, e.g. 0.0.0.0 or 127.0.0.1`);
  }
  return err;
}
