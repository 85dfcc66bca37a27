/**
 * Starts the protocol edge: one port; RPC paths (`/<package>.<Service>/…`) go to the RPC handler,
 * `/ui/…` to the pages, everything else to the REST gateway.
 */
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

export type { Authenticate, AuthHeaders } from "./interceptors/auth.js";
export type { ServiceRegistration } from "./connect.js";
export type { ListenerLimits } from "./listener.js";

export interface ServerDeps {
  config: Config;
  logger: Logger;
  services: ServiceRegistration[];
  authenticate: Authenticate;
  /** Connection limits; defaults suit production, tests shorten them. */
  limits?: Partial<ListenerLimits>;
}

export interface RunningServer {
  port: number;
  /** Stops accepting, lets in-flight requests finish (bounded), then closes every connection. */
  close(): Promise<void>;
}

export async function startServer(deps: ServerDeps): Promise<RunningServer> {
  const logger = deps.logger.child({ component: "server" });
  const originPolicy = createOriginPolicy(deps.config.corsOrigins);
  const rpc: RpcOptions = {
    logger,
    services: deps.services,
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
  const rpcPrefixes = deps.services.map((s) => `/${s.service.typeName}/`);
  const ui = createUiHandler({ root: deps.config.uiDir, logger });
  /** `/<package>.<Service>/<Method>`: an RPC of a service Roster does not serve. */
  const rpcShaped = /^\/[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+\/[A-Za-z_]\w*$/;
  const isUnknownRpc = (req: NodeRequest, path: string) =>
    rpcShaped.test(path.split("?", 1)[0]!) &&
    (req.method === "POST" || String(req.headers["content-type"] ?? "").toLowerCase().startsWith("application/grpc"));

  const handler = (req: NodeRequest, res: NodeResponse): void => {
    try {
      const scope = trackRequest(logger, req, res);
      runInRequestScope(scope, () => {
        if (originPolicy && handleCors(originPolicy, req, res)) return;
        const path = req.url ?? "/";
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
  return listener;
}

/** A port that cannot be opened, in words that name the variables to change. */
function listenFailure(err: NodeJS.ErrnoException, host: string, port: number): Error {
  const where = `${host}:${port}`;
  if (err.code === "EADDRINUSE") {
    return new StartupError(`port ${port} is already in use on ${host} (${where}, EADDRINUSE): stop the process that holds it, or choose another port with PORT`);
  }
  if (err.code === "EACCES") {
    return new StartupError(`not allowed to listen on ${where} (EACCES): ports below 1024 need privileges; choose another port with PORT`);
  }
  if (err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND") {
    return new StartupError(`cannot listen on ${where} (${err.code}): ROSTER_HOST must be an address of this machine, e.g. 0.0.0.0 or 127.0.0.1`);
  }
  return err;
}
