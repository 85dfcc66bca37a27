/**
 * Errors on RPC paths that connect answers with a bare HTTP status (unknown procedure 404,
 * wrong method 405, unsupported content type 415, HTTP/1.1 for a bidi stream 505) get the error
 * form of the protocol the request speaks (errors.md §4), decided by its content type:
 * gRPC and gRPC-web a trailers-only response with `grpc-status` and `grpc-message`, everything
 * else a Connect error body. The texts are the HTTP reason phrases, as for the REST gateway's
 * routing errors (errors.md §8).
 */
import { Code } from "@connectrpc/connect";
import { codeName, requestLogOf, type NodeRequest, type NodeResponse } from "./interceptors/logging.js";
import { isGrpcWebText } from "./grpc-web-text.js";

export interface RpcEdgeError {
  /** HTTP status for Connect; gRPC and gRPC-web get 200 for an unknown procedure (their status says it). */
  status: number;
  code: Code;
  message: string;
  headers?: Record<string, string>;
}

export const rpcEdgeErrors = {
  notFound: { status: 404, code: Code.Unimplemented, message: "Not Found" },
  methodNotAllowed: (allow: string): RpcEdgeError => ({ status: 405, code: Code.Unimplemented, message: "Method Not Allowed", headers: { allow } }),
  unsupportedMediaType: { status: 415, code: Code.InvalidArgument, message: "Unsupported Media Type" },
  httpVersionNotSupported: { status: 505, code: Code.Unimplemented, message: "HTTP Version Not Supported" },
} satisfies Record<string, RpcEdgeError | ((allow: string) => RpcEdgeError)>;

type Family = "grpc" | "grpc-web" | "connect";

function familyOf(req: NodeRequest): Family {
  const type = String(req.headers["content-type"] ?? "").toLowerCase();
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  if (type.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/** Writes `err` in the form of the request's protocol and records its code for the request log. */
export function answerRpcEdgeError(req: NodeRequest, res: NodeResponse, err: RpcEdgeError): void {
  const record = requestLogOf(req);
  if (record) record.code = codeName(err.code);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const family = familyOf(req);
  if (family === "connect") {
    const body = JSON.stringify({ code: codeName(err.code), message: err.message });
    res.writeHead(err.status, { ...err.headers, "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) });
    res.end(body);
    return;
  }
  // trailers-only: the status travels in the headers of an empty response. Over HTTP/2 the
  // headers must leave with END_STREAM (gRPC clients read them as trailers only then), which
  // end() does when nothing was sent before; writeHead() would send them on their own.
  res.statusCode = err.status === 404 ? 200 : err.status;
  for (const [name, value] of Object.entries(err.headers ?? {})) res.setHeader(name, value);
  res.setHeader(
    "content-type",
    family === "grpc" ? "application/grpc" : isGrpcWebText(req) ? "application/grpc-web-text+proto" : "application/grpc-web+proto",
  );
  res.setHeader("grpc-status", String(err.code));
  res.setHeader("grpc-message", encodeURIComponent(err.message));
  res.end();
}
