/**
 * Malformed protobuf must answer INVALID_ARGUMENT (errors.md §7), but connect reports a binary
 * parse failure as INTERNAL, and before any interceptor runs. So binary request bodies are
 * decoded once here, in front of connect's handler: a body that does not decode is replaced by
 * the empty message and the failure travels in the context values, where the decoding
 * interceptor turns it into INVALID_ARGUMENT in the protocol's own error form.
 */
import { fromBinary, type DescMessage } from "@bufbuild/protobuf";
import { createContextValues } from "@connectrpc/connect";
import type { UniversalHandler, UniversalHandlerFn, UniversalServerRequest } from "@connectrpc/connect/protocol";
import { decodeFailureKey } from "./interceptors/decoding.js";

/** Connect unary with the binary codec: the body is the message. */
const CONNECT_BINARY = /^application\/proto$/i;
/** gRPC and binary gRPC-web: the body is a sequence of 5-byte-prefixed frames. */
const ENVELOPED = /^application\/grpc(?:-web)?(?:\+proto)?$/i;
const ENVELOPE_HEADER_BYTES = 5;
/** Frame flag of an uncompressed message; a compressed frame is left to connect. */
const FLAG_UNCOMPRESSED = 0;

type BodyFormat = "message" | "envelopes";

type ByteStreamRequest = Omit<UniversalServerRequest, "body"> & { body: AsyncIterable<Uint8Array> };

function hasByteStream(req: UniversalServerRequest): req is ByteStreamRequest {
  const body = req.body as unknown;
  return typeof body === "object" && body !== null && Symbol.asyncIterator in body;
}

function bodyFormatOf(req: UniversalServerRequest): BodyFormat | undefined {
  if (req.method !== "POST") return undefined;
  const type = req.header.get("content-type") ?? "";
  if (ENVELOPED.test(type)) return "envelopes";
  const encoding = req.header.get("content-encoding");
  if (CONNECT_BINARY.test(type) && (encoding === null || encoding === "identity")) return "message";
  return undefined;
}

/** Why `bytes` is not a `schema` message, or undefined when it is one. */
function decodeProblem(schema: DescMessage, bytes: Uint8Array): string | undefined {
  try {
    fromBinary(schema, bytes);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Checks every complete uncompressed frame; a frame cut short is connect's to report. */
function envelopeProblem(schema: DescMessage, bytes: Uint8Array): string | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let pos = 0; pos + ENVELOPE_HEADER_BYTES <= bytes.length; ) {
    const flags = bytes[pos]!;
    const start = pos + ENVELOPE_HEADER_BYTES;
    const end = start + view.getUint32(pos + 1);
    if (end > bytes.length) return undefined;
    if (flags === FLAG_UNCOMPRESSED) {
      const problem = decodeProblem(schema, bytes.subarray(start, end));
      if (problem !== undefined) return problem;
    }
    pos = end;
  }
  return undefined;
}

/** The start of a body: up to just past `limit` bytes, or all of it, or up to a read error. */
interface BodyPrefix {
  chunks: Uint8Array[];
  size: number;
  /** The body ended (or failed) within the prefix. */
  complete: boolean;
  failure?: { error: unknown };
  rest: AsyncIterator<Uint8Array>;
}

async function readPrefix(body: AsyncIterable<Uint8Array>, limit: number): Promise<BodyPrefix> {
  const rest = body[Symbol.asyncIterator]();
  const prefix: BodyPrefix = { chunks: [], size: 0, complete: false, rest };
  try {
    while (prefix.size <= limit) {
      const next = await rest.next();
      if (next.done) return { ...prefix, complete: true };
      prefix.chunks.push(next.value);
      prefix.size += next.value.byteLength;
    }
  } catch (error) {
    return { ...prefix, complete: true, failure: { error } };
  }
  return prefix;
}

/** The body as connect would have read it: the prefix, then the rest or the read error. */
async function* replay(prefix: BodyPrefix): AsyncGenerator<Uint8Array> {
  yield* prefix.chunks;
  if (prefix.failure) throw prefix.failure.error;
  if (!prefix.complete) yield* { [Symbol.asyncIterator]: () => prefix.rest };
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return all;
}

/** The empty message in the request's framing. */
function emptyBody(format: BodyFormat): Uint8Array {
  return format === "message" ? new Uint8Array(0) : new Uint8Array(ENVELOPE_HEADER_BYTES);
}

/**
 * Wraps a connect handler so that a binary request body that is not valid protobuf reaches the
 * interceptors as a decode failure. Bodies over `maxMessageBytes` are not buffered: connect's
 * own size limit answers them.
 */
export function withDecodeCheck(handler: UniversalHandler, maxMessageBytes: number): UniversalHandler {
  const schema = handler.method.input;
  const checked: UniversalHandlerFn = async (req) => {
    const format = bodyFormatOf(req);
    if (format === undefined || !hasByteStream(req)) return handler(req);
    const limit = format === "message" ? maxMessageBytes : maxMessageBytes + ENVELOPE_HEADER_BYTES;
    const prefix = await readPrefix(req.body, limit);
    if (!prefix.complete || prefix.failure) return handler({ ...req, body: replay(prefix) });

    const bytes = concat(prefix.chunks, prefix.size);
    const problem = format === "message" ? decodeProblem(schema, bytes) : envelopeProblem(schema, bytes);
    if (problem === undefined) return handler({ ...req, body: once(bytes) });

    const contextValues = req.contextValues ?? createContextValues();
    contextValues.set(decodeFailureKey, problem);
    const header = new Headers(req.header);
    header.delete("content-length");
    return handler({ ...req, header, contextValues, body: once(emptyBody(format)) });
  };
  return Object.assign(checked, {
    protocolNames: handler.protocolNames,
    supportedContentType: handler.supportedContentType,
    allowedMethods: handler.allowedMethods,
    requestPath: handler.requestPath,
    service: handler.service,
    method: handler.method,
  });
}
