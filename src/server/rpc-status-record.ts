/**
 * The request log must show the status the client received. Errors that connect raises before
 * any interceptor runs (size limits, compression, framing) travel only in the gRPC trailers,
 * the gRPC-web trailer frame or the Connect error body, where the HTTP layer cannot see them;
 * this reads the status from the response as it is sent and records it when no interceptor did.
 */
import { Code } from "@connectrpc/connect";
import { codeFromString } from "@connectrpc/connect/protocol-connect";
import type { UniversalHandler, UniversalHandlerFn, UniversalServerResponse } from "@connectrpc/connect/protocol";
import { codeName, requestLogOfContext, type RequestLog } from "./interceptors/logging.js";

const TRAILER_FLAG = 0x80;
const HEADER_BYTES = 5;

function record(log: RequestLog, status: string | null | undefined): void {
  if (log.code !== undefined || status === null || status === undefined) return;
  const code = Number(status);
  log.code = Number.isInteger(code) ? codeName(code as Code) : "unknown";
}

/** Follows gRPC-web frames across chunks and returns the trailer frame's grpc-status, once seen. */
class TrailerFrameScanner {
  private header = new Uint8Array(HEADER_BYTES);
  private headerFill = 0;
  private remaining = 0;
  private trailer: Uint8Array[] | undefined;
  private done: Uint8Array[] | undefined;

  push(chunk: Uint8Array): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.remaining === 0 && this.headerFill < HEADER_BYTES) {
        const n = Math.min(HEADER_BYTES - this.headerFill, chunk.length - pos);
        this.header.set(chunk.subarray(pos, pos + n), this.headerFill);
        this.headerFill += n;
        pos += n;
        if (this.headerFill < HEADER_BYTES) return;
        this.remaining = new DataView(this.header.buffer).getUint32(1);
        this.trailer = (this.header[0]! & TRAILER_FLAG) !== 0 ? [] : undefined;
        if (this.remaining === 0) this.finishFrame();
        continue;
      }
      const n = Math.min(this.remaining, chunk.length - pos);
      this.trailer?.push(chunk.subarray(pos, pos + n));
      this.remaining -= n;
      pos += n;
      if (this.remaining === 0) this.finishFrame();
    }
  }

  private finishFrame(): void {
    if (this.trailer) this.done = this.trailer;
    this.trailer = undefined;
    this.headerFill = 0;
  }

  status(): string | undefined {
    if (!this.done) return undefined;
    const text = Buffer.concat(this.done).toString("latin1");
    return /^grpc-status:\s*(\d+)\s*$/im.exec(text)?.[1];
  }
}

type Kind = "grpc" | "grpc-web" | "connect-error";

/** The `code` of a Connect error body, as a gRPC status number. */
function connectErrorCode(chunks: Uint8Array[]): string | undefined {
  try {
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { code?: unknown };
    const code = typeof body.code === "string" ? codeFromString(body.code) : undefined;
    return code === undefined ? undefined : String(code);
  } catch {
    return undefined;
  }
}

async function* observed(uRes: UniversalServerResponse, log: RequestLog, kind: Kind): AsyncGenerator<Uint8Array> {
  const scanner = kind === "grpc-web" ? new TrailerFrameScanner() : undefined;
  const errorBody: Uint8Array[] = [];
  for await (const chunk of uRes.body as AsyncIterable<Uint8Array>) {
    scanner?.push(chunk);
    if (kind === "connect-error") errorBody.push(chunk);
    yield chunk;
  }
  if (kind === "grpc-web") record(log, scanner!.status());
  else if (kind === "grpc") record(log, uRes.trailer?.get("grpc-status"));
  // a compressed error body is left to the HTTP status the log falls back to
  else if (!uRes.header?.has("content-encoding")) record(log, connectErrorCode(errorBody));
}

export function withStatusRecord(handler: UniversalHandler): UniversalHandler {
  const wrapped: UniversalHandlerFn = async (req) => {
    const uRes = await handler(req);
    const log = requestLogOfContext(req.contextValues);
    if (!log) return uRes;
    // trailers-only responses carry the status in their headers
    const inHeaders = uRes.header?.get("grpc-status");
    if (inHeaders !== null && inHeaders !== undefined) {
      record(log, inHeaders);
      return uRes;
    }
    const type = uRes.header?.get("content-type") ?? "";
    const kind: Kind | undefined = type.startsWith("application/grpc-web")
      ? "grpc-web"
      : type.startsWith("application/grpc")
        ? "grpc"
        : (uRes.status ?? 200) !== 200 && type.startsWith("application/json")
          ? "connect-error"
          : undefined;
    if (kind === undefined || uRes.body === undefined || typeof (uRes.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] !== "function") {
      return uRes;
    }
    return { ...uRes, body: observed(uRes, log, kind) };
  };
  return Object.assign(wrapped, {
    protocolNames: handler.protocolNames,
    supportedContentType: handler.supportedContentType,
    allowedMethods: handler.allowedMethods,
    requestPath: handler.requestPath,
    service: handler.service,
    method: handler.method,
  });
}
