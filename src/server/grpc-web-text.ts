/**
 * gRPC-web text mode (`application/grpc-web-text[+proto]`, contract.md §2): the gRPC-web framing
 * in base64, as sent by browser clients in text mode. connect-node serves only the binary
 * framing, so text requests are decoded here, handed to the same router as
 * `application/grpc-web+proto`, and the binary response (data frames and trailer frame) is
 * encoded back to base64.
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
import { codeName, requestLogOf, type NodeRequest, type NodeResponse } from "./interceptors/logging.js";

const TEXT_TYPE = /^application\/grpc-web-text(\+proto)?$/;
const BINARY_REQUEST_TYPE = "application/grpc-web+proto";
const TEXT_RESPONSE_TYPE = "application/grpc-web-text+proto";

export function isGrpcWebText(req: NodeRequest): boolean {
  const type = String(req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  return TEXT_TYPE.test(type);
}

const ALPHABET = /^[A-Za-z0-9+/=]*$/;
/** Whole groups of four characters; padding only at the end of a group. */
const GROUPS = /^(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)*$/;
/** A run of groups ending with at most one padded group. */
const SEGMENT = /(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)?/g;

function invalidBase64(): ConnectError {
  return new ConnectError("invalid grpc-web-text request body: not base64", Code.InvalidArgument);
}

/**
 * Decodes base64 that arrives in arbitrary chunks. Clients may pad each chunk, so padding can
 * occur in the middle of the text; Node's decoder stops at the first padding, hence segments.
 */
export class Base64ChunkDecoder {
  private pending = "";

  push(chunk: string): Uint8Array {
    const text = this.pending + chunk.replace(/\s+/g, "");
    if (!ALPHABET.test(text)) throw invalidBase64();
    const complete = text.length - (text.length % 4);
    this.pending = text.slice(complete);
    return decodeGroups(text.slice(0, complete));
  }

  /** Throws when the text ended inside a group. */
  end(): void {
    if (this.pending.length > 0) throw invalidBase64();
  }
}

function decodeGroups(groups: string): Uint8Array {
  if (groups.length === 0) return new Uint8Array(0);
  if (!GROUPS.test(groups)) throw invalidBase64();
  const segments = groups.match(SEGMENT)!.filter((s) => s.length > 0);
  if (segments.length === 1) return Buffer.from(segments[0]!, "base64");
  return Buffer.concat(segments.map((s) => Buffer.from(s, "base64")));
}

/**
 * The request body, decoded as it arrives; connect-node's readMaxBytes bounds what it keeps.
 * A body that is not base64 fails before any interceptor runs, so its code is recorded here.
 */
async function* decodedBody(req: NodeRequest): AsyncGenerator<Uint8Array> {
  const decoder = new Base64ChunkDecoder();
  try {
    for await (const chunk of req as AsyncIterable<Buffer | string>) {
      const bytes = decoder.push(typeof chunk === "string" ? chunk : chunk.toString("latin1"));
      if (bytes.length > 0) yield bytes;
    }
    decoder.end();
  } catch (err) {
    const record = requestLogOf(req);
    if (record && err instanceof ConnectError) record.code ??= codeName(err.code);
    throw err;
  }
}

/** Encodes the response in one base64 text: whole 3-byte groups per chunk, padding only at the end. */
async function* encodedBody(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of body) {
    const bytes = rest.length === 0 ? Buffer.from(chunk) : Buffer.concat([rest, chunk]);
    const whole = bytes.length - (bytes.length % 3);
    rest = bytes.subarray(whole);
    if (whole > 0) yield Buffer.from(bytes.subarray(0, whole).toString("base64"), "latin1");
  }
  if (rest.length > 0) yield Buffer.from(rest.toString("base64"), "latin1");
}

export interface GrpcWebTextOptions {
  router: ConnectRouterOptions;
  routes: (router: ConnectRouter) => void;
  contextValues: (req: NodeRequest) => ContextValues;
  logger: Logger;
}

export type NodeHandler = (req: NodeRequest, res: NodeResponse) => void;

/**
 * Serves text-mode requests for the router's procedures; any other request (and a text request
 * for an unknown procedure) goes to `next`.
 */
export function createGrpcWebTextHandler(opts: GrpcWebTextOptions, next: NodeHandler): NodeHandler {
  const router = createConnectRouter({ acceptCompression: [compressionGzip, compressionBrotli], ...opts.router });
  opts.routes(router);
  const handlers = new Map<string, UniversalHandler>(router.handlers.map((h) => [h.requestPath, h]));

  return (req, res) => {
    const handler = isGrpcWebText(req) ? handlers.get((req.url ?? "").split("?", 1)[0]!) : undefined;
    if (!handler) {
      next(req, res);
      return;
    }
    const uReq = universalRequestFromNodeRequest(req, res, undefined, opts.contextValues(req));
    uReq.header.set("content-type", BINARY_REQUEST_TYPE);
    handler({ ...uReq, body: decodedBody(req) })
      .then((uRes) => {
        const header = new Headers(uRes.header);
        header.set("content-type", TEXT_RESPONSE_TYPE);
        header.delete("content-length");
        return universalResponseToNodeResponse(
          { ...uRes, header, body: uRes.body === undefined ? undefined : encodedBody(uRes.body) },
          res,
        );
      })
      .catch((reason: unknown) => {
        if (ConnectError.from(reason).code === Code.Aborted) return;
        opts.logger.error({ err: reason, procedure: handler.requestPath }, "grpc-web-text response failed");
        res.destroy();
      });
  };
}
