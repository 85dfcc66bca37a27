/**
 * The Node request handler for everything that comes over HTTP as RPC: gRPC, gRPC-web (binary
 * and text) and Connect. One connect router, so one set of interceptors, serves all of them;
 * each procedure's handler decodes bodies first (decode-check.ts) and records the status sent
 * (rpc-status-record.ts); connect's bodiless refusals get the protocol's error form.
 */
import { Code, ConnectError, createConnectRouter, type ConnectRouter, type ConnectRouterOptions, type ContextValues } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import type { Logger } from "pino";
import { withDecodeCheck } from "./decode-check.js";
import { isGrpcWebText, serveGrpcWebText } from "./grpc-web-text.js";
import { codeName, requestLogOf, type NodeRequest, type NodeResponse } from "./interceptors/logging.js";
import { withStatusRecord } from "./rpc-status-record.js";
import { answerRpcEdgeError, rpcEdgeErrors, type RpcEdgeError } from "./rpc-edge-errors.js";

export type NodeHandler = (req: NodeRequest, res: NodeResponse) => void;

export interface RpcNodeHandlerOptions {
  router: ConnectRouterOptions;
  routes: (router: ConnectRouter) => void;
  contextValues: (req: NodeRequest) => ContextValues;
  /** Largest request message; bodies beyond it are left to connect's `readMaxBytes`. */
  maxRequestBytes: number;
  logger: Logger;
}

/** Unknown procedure: Connect 404, gRPC and gRPC-web UNIMPLEMENTED (errors.md §8). */
export function answerUnknownProcedure(req: NodeRequest, res: NodeResponse): void {
  answerRpcEdgeError(req, res, rpcEdgeErrors.notFound);
}

/** connect's bodiless refusals, as the error of the request's protocol. */
function edgeErrorOf(uRes: UniversalServerResponse, handler: UniversalHandler): RpcEdgeError | undefined {
  if (uRes.body !== undefined) return undefined;
  switch (uRes.status) {
    case 405:
      return rpcEdgeErrors.methodNotAllowed(handler.allowedMethods.join(", "));
    case 415:
      return rpcEdgeErrors.unsupportedMediaType;
    case 505:
      return rpcEdgeErrors.httpVersionNotSupported;
    default:
      return undefined;
  }
}

export function createRpcNodeHandler(opts: RpcNodeHandlerOptions): NodeHandler {
  const router = createConnectRouter({ acceptCompression: [compressionGzip, compressionBrotli], ...opts.router });
  opts.routes(router);
  const handlers = new Map<string, UniversalHandler>(
    router.handlers.map((h) => [
      h.requestPath,
      // a client stream is read message by message as it arrives (reflection answers each
      // request before the next comes), never buffered whole in front of the handler
      withStatusRecord(h.method.methodKind === "unary" || h.method.methodKind === "server_streaming" ? withDecodeCheck(h, opts.maxRequestBytes) : h),
    ]),
  );

  return (req, res) => {
    const handler = handlers.get((req.url ?? "").split("?", 1)[0]!);
    if (!handler) {
      answerUnknownProcedure(req, res);
      return;
    }
    const text = isGrpcWebText(req);
    if (text && req.method !== "POST") {
      answerRpcEdgeError(req, res, rpcEdgeErrors.methodNotAllowed("POST"));
      return;
    }
    const uReq = universalRequestFromNodeRequest(req, res, undefined, opts.contextValues(req));
    const served = text
      ? serveGrpcWebText(handler, uReq, req, res)
      : handler(uReq).then((uRes) => {
          const edgeError = edgeErrorOf(uRes, handler);
          if (edgeError) answerRpcEdgeError(req, res, edgeError);
          else return universalResponseToNodeResponse(uRes, res);
        });
    served.catch((reason: unknown) => {
      const record = requestLogOf(req);
      // The client went away; nothing left to answer.
      if (ConnectError.from(reason).code === Code.Aborted) {
        if (record) record.code = codeName(Code.Canceled);
        return;
      }
      // The client got no (complete) answer: the log says so, whatever the handler returned.
      if (record) record.code = codeName(Code.Internal);
      opts.logger.error({ err: reason, procedure: handler.requestPath }, "rpc response failed");
      res.destroy();
    });
  };
}
