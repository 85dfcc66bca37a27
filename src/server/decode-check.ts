/**
 * Every request body is decoded once here, in front of connect's handler, because connect
 * reports some decoding failures wrongly and all of them before any interceptor runs (so
 * outside the error mapping and the request log):
 * - malformed protobuf is INTERNAL for connect, INVALID_ARGUMENT for us (errors.md §7), also
 *   inside a gzip or brotli body, and a compressed gRPC frame without `grpc-encoding`;
 * - connect's JSON codec either ignores unknown enum names along with unknown fields or refuses
 *   both; the rule of json-decode.ts (ignore unknown fields, refuse unknown enum names) applies
 *   to JSON bodies on every protocol.
 * A body that does not decode is replaced by the empty message and the failure travels in the
 * context values, where the decoding interceptor turns it into INVALID_ARGUMENT in the
 * protocol's own error form. A body that decodes reaches connect in a form that connect decodes
 * to the same message: binary as it came (Connect) or uncompressed (gRPC frames), JSON pruned of
 * unknown fields.
 */
import { fromBinary, type DescMessage, type JsonValue } from "@bufbuild/protobuf";
import { createContextValues } from "@connectrpc/connect";
import type { UniversalHandler, UniversalHandlerFn, UniversalServerRequest } from "@connectrpc/connect/protocol";
import { parseContentType as parseConnectContentType } from "@connectrpc/connect/protocol-connect";
import { parseContentType as parseGrpcContentType } from "@connectrpc/connect/protocol-grpc";
import { parseContentType as parseGrpcWebContentType } from "@connectrpc/connect/protocol-grpc-web";
import { promisify } from "node:util";
import { brotliDecompress, gunzip, type ZlibOptions, type BrotliOptions } from "node:zlib";
import { decodeFailureKey } from "./interceptors/decoding.js";
import { messageFromJson, parseJsonBody } from "./json-decode.js";

const ENVELOPE_HEADER_BYTES = 5;
/** Frame flag bit of a compressed message. */
const FLAG_COMPRESSED = 0x01;

type Codec = "binary" | "json";
/** The request's compression: none, one we decompress, or one connect will refuse. */
type Encoding = "none" | "gzip" | "br" | "unsupported";

interface BodyKind {
  /** Connect unary: the body is the message. gRPC and gRPC-web: 5-byte-prefixed frames. */
  framing: "message" | "envelopes";
  codec: Codec;
  encoding: Encoding;
}

type ByteStreamRequest = Omit<UniversalServerRequest, "body"> & { body: AsyncIterable<Uint8Array> };

function hasByteStream(req: UniversalServerRequest): req is ByteStreamRequest {
  const body = req.body as unknown;
  return typeof body === "object" && body !== null && Symbol.asyncIterator in body;
}

function encodingOf(value: string | null): Encoding {
  if (value === null || value === "" || value === "identity") return "none";
  if (value === "gzip" || value === "br") return value;
  return "unsupported";
}

/** How connect would read the body, decided with connect's own content-type parsers. */
function bodyKindOf(req: UniversalServerRequest): BodyKind | undefined {
  if (req.method !== "POST") return undefined;
  const type = req.header.get("content-type") ?? "";
  const grpc = parseGrpcContentType(type);
  const grpcWeb = parseGrpcWebContentType(type);
  if (grpc || (grpcWeb && !grpcWeb.text)) {
    const binary = (grpc ?? grpcWeb)!.binary;
    return { framing: "envelopes", codec: binary ? "binary" : "json", encoding: encodingOf(req.header.get("grpc-encoding")) };
  }
  const connect = parseConnectContentType(type);
  if (connect && !connect.stream) {
    return { framing: "message", codec: connect.binary ? "binary" : "json", encoding: encodingOf(req.header.get("content-encoding")) };
  }
  return undefined;
}

const gunzipAsync = promisify<Buffer | Uint8Array, ZlibOptions, Buffer>(gunzip);
const brotliAsync = promisify<Buffer | Uint8Array, BrotliOptions, Buffer>(brotliDecompress);

/** Decompressed bytes; "too large" beyond `maxBytes` (connect's size limit answers those). */
async function decompress(encoding: "gzip" | "br", bytes: Uint8Array, maxBytes: number): Promise<Uint8Array | "too large"> {
  try {
    return encoding === "gzip" ? await gunzipAsync(bytes, { maxOutputLength: maxBytes }) : await brotliAsync(bytes, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") return "too large";
    throw new DecodeFailure(`request body is not valid ${encoding}: ${(err as Error).message}`);
  }
}

/** A body that is not a request message; its message is the client's error message. */
class DecodeFailure extends Error {}

/** Decodes one message; returns what connect should get to decode the same message. */
function checkMessage(schema: DescMessage, codec: Codec, bytes: Uint8Array): Uint8Array | JsonValue {
  if (codec === "binary") {
    try {
      fromBinary(schema, bytes);
    } catch (err) {
      throw new DecodeFailure(`invalid protobuf in request body: ${err instanceof Error ? err.message : String(err)}`);
    }
    return bytes;
  }
  try {
    const json = parseJsonBody(bytes, "error");
    messageFromJson(schema, json);
    return json;
  } catch (err) {
    throw new DecodeFailure(err instanceof Error ? err.message : String(err));
  }
}

/** The outcome for a complete body. */
type Checked =
  | { kind: "pass" }
  | { kind: "replace"; body: Uint8Array | JsonValue }
  | { kind: "fail"; message: string };

async function checkUnary(schema: DescMessage, kind: BodyKind, bytes: Uint8Array, maxBytes: number): Promise<Checked> {
  // connect refuses an encoding it does not know (UNIMPLEMENTED) before it reads the body
  if (kind.encoding === "unsupported") return { kind: "pass" };
  let plain = bytes;
  if (kind.encoding === "gzip" || kind.encoding === "br") {
    const out = await decompress(kind.encoding, bytes, maxBytes);
    if (out === "too large") return { kind: "pass" };
    plain = out;
  }
  const checked = checkMessage(schema, kind.codec, plain);
  // JSON goes on as the pruned value: connect decodes a parsed body with a strict fromJson
  return kind.codec === "json" ? { kind: "replace", body: checked } : { kind: "pass" };
}

function frame(flags: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(ENVELOPE_HEADER_BYTES + data.byteLength);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, data.byteLength);
  out.set(data, ENVELOPE_HEADER_BYTES);
  return out;
}

/** Checks every complete frame; a frame cut short is connect's to report. */
async function checkEnvelopes(schema: DescMessage, kind: BodyKind, bytes: Uint8Array, maxBytes: number): Promise<Checked> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames: Uint8Array[] = [];
  let pos = 0;
  while (pos + ENVELOPE_HEADER_BYTES <= bytes.length) {
    const flags = bytes[pos]!;
    const start = pos + ENVELOPE_HEADER_BYTES;
    const end = start + view.getUint32(pos + 1);
    if (end > bytes.length) return { kind: "pass" };
    let data = bytes.subarray(start, end);
    if ((flags & FLAG_COMPRESSED) !== 0) {
      if (kind.encoding === "none") throw new DecodeFailure("request frame is compressed, but the request names no grpc-encoding");
      if (kind.encoding === "unsupported") return { kind: "pass" };
      const out = await decompress(kind.encoding, data, maxBytes);
      if (out === "too large") return { kind: "pass" };
      data = out;
    }
    const checked = checkMessage(schema, kind.codec, data);
    const plain = kind.codec === "json" ? new TextEncoder().encode(JSON.stringify(checked)) : data;
    frames.push(frame(flags & ~FLAG_COMPRESSED, plain));
    pos = end;
  }
  if (pos !== bytes.length) return { kind: "pass" };
  return { kind: "replace", body: concat(frames, frames.reduce((n, f) => n + f.byteLength, 0)) };
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

/** The empty message in the request's framing and codec, uncompressed. */
function emptyBody(kind: BodyKind): Uint8Array {
  const message = kind.codec === "json" ? new TextEncoder().encode("{}") : new Uint8Array(0);
  return kind.framing === "message" ? message : frame(0, message);
}

/**
 * Wraps a connect handler so that request bodies are decoded (and JSON pruned) before connect
 * sees them. Bodies over `maxMessageBytes` (compressed or not) are not buffered: connect's own
 * size limit answers them.
 */
export function withDecodeCheck(handler: UniversalHandler, maxMessageBytes: number): UniversalHandler {
  const schema = handler.method.input;
  const checked: UniversalHandlerFn = async (req) => {
    const kind = bodyKindOf(req);
    if (kind === undefined || !hasByteStream(req)) return handler(req);
    const limit = kind.framing === "message" ? maxMessageBytes : maxMessageBytes + ENVELOPE_HEADER_BYTES;
    const prefix = await readPrefix(req.body, limit);
    if (!prefix.complete || prefix.failure) return handler({ ...req, body: replay(prefix) });

    const bytes = concat(prefix.chunks, prefix.size);
    let outcome: Checked;
    try {
      outcome =
        kind.framing === "message"
          ? await checkUnary(schema, kind, bytes, maxMessageBytes)
          : await checkEnvelopes(schema, kind, bytes, maxMessageBytes);
    } catch (err) {
      if (!(err instanceof DecodeFailure)) throw err;
      outcome = { kind: "fail", message: err.message };
    }
    switch (outcome.kind) {
      case "pass":
        return handler({ ...req, body: once(bytes) });
      case "replace": {
        const header = new Headers(req.header);
        header.delete("content-length");
        const body = outcome.body instanceof Uint8Array ? once(outcome.body) : outcome.body;
        return handler({ ...req, header, body });
      }
      case "fail": {
        const contextValues = req.contextValues ?? createContextValues();
        contextValues.set(decodeFailureKey, outcome.message);
        const header = new Headers(req.header);
        header.delete("content-length");
        // the empty message stands in uncompressed
        header.delete("content-encoding");
        return handler({ ...req, header, contextValues, body: once(emptyBody(kind)) });
      }
    }
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
