/**
 * The Node request handler for everything that comes over HTTP as RPC: gRPC, gRPC-web (binary
 * and text) and Connect. One connect router, so one set of interceptors, serves all of them;
 * each procedure's handler checks binary bodies first (decode-check.ts).
 */
import { Code, ConnectError, createConnectRouter, type ConnectRouter, type ConnectRouterOptions, type ContextValues } from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import type { Logger } from "pino";
import { withDecodeCheck } from "./decode-check.js";
import { isGrpcWebText, serveGrpcWebText } from "./grpc-web-text.js";
import type { NodeRequest, NodeResponse } from "./interceptors/logging.js";

export type NodeHandler = (req: NodeRequest, res: NodeResponse) => void;

export interface RpcNodeHandlerOptions {
  router: ConnectRouterOptions;
  routes: (router: ConnectRouter) => void;
  contextValues: (req: NodeRequest) => ContextValues;
  /** Largest request message; bodies beyond it are left to connect's `readMaxBytes`. */
  maxRequestBytes: number;
  logger: Logger;
}

/** Unknown procedure: a bare 404, as connect-node answers (gRPC clients read it as UNIMPLEMENTED). */
function notFound(res: NodeResponse): void {
  res.writeHead(404);
  res.end();
}

export function createRpcNodeHandler(opts: RpcNodeHandlerOptions): NodeHandler {
  const router = createConnectRouter({ acceptCompression: [compressionGzip, compressionBrotli], ...opts.router });
  opts.routes(router);
  const handlers = new Map<string, UniversalHandler>(
    router.handlers.map((h) => [h.requestPath, withDecodeCheck(h, opts.maxRequestBytes)]),
  );

  return (req, res) => {
    const handler = handlers.get((req.url ?? "").split("?", 1)[0]!);
    if (!handler) {
      notFound(res);
      return;
    }
    const uReq = universalRequestFromNodeRequest(req, res, undefined, opts.contextValues(req));
    const served = isGrpcWebText(req)
      ? serveGrpcWebText(handler, uReq, req, res)
      : handler(uReq).then((uRes) => universalResponseToNodeResponse(uRes, res));
    served.catch((reason: unknown) => {
      // The client went away; nothing left to answer.
      if (ConnectError.from(reason).code === Code.Aborted) return;
      opts.logger.error({ err: reason, procedure: handler.requestPath }, "rpc response failed");
      res.destroy();
    });
  };
}
