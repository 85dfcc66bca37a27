/**
 * gRPC-web text mode (`application/grpc-web-text[+proto]`, contract.md §2): the gRPC-web framing
 * in base64, as sent by browser clients in text mode. connect-node serves only the binary
 * framing, so text requests are decoded here, handed to the procedure's handler as
 * `application/grpc-web+proto`, and the binary response is encoded back to base64.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalHandlerFn, UniversalServerRequest } from "@connectrpc/connect/protocol";
import { universalResponseToNodeResponse } from "@connectrpc/connect-node";
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

/**
 * Serves a text-mode request with the procedure's handler: the request goes in as
 * `application/grpc-web+proto`, and the binary response (data frames and trailer frame) comes
 * back as one base64 text.
 */
export async function serveGrpcWebText(
  handler: UniversalHandlerFn,
  uReq: UniversalServerRequest,
  req: NodeRequest,
  res: NodeResponse,
): Promise<void> {
  const header = new Headers(uReq.header);
  header.set("content-type", BINARY_REQUEST_TYPE);
  const uRes = await handler({ ...uReq, header, body: decodedBody(req) });
  const resHeader = new Headers(uRes.header);
  resHeader.set("content-type", TEXT_RESPONSE_TYPE);
  resHeader.delete("content-length");
  await universalResponseToNodeResponse(
    { ...uRes, header: resHeader, body: uRes.body === undefined ? undefined : encodedBody(uRes.body) },
    res,
  );
}
