/**
 * Requests as bytes on the wire, for tests that must send what no well-behaved client sends
 * (compressed frames without an encoding, unknown enum names in JSON frames, half-closed
 * sockets), and checks that an answer has the error shape of each protocol (errors.md §4).
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { decodeGrpcStatus } from "./grpc-status.js";
import { ErrorDetailSchema, type ErrorDetail } from "../../src/gen/zitadel/message_pb.js";

export const ERROR_DETAIL_TYPE = "zitadel.v1.ErrorDetail";

/** One gRPC / gRPC-web frame: flags, 4-byte length, message. */
export function grpcFrame(message: Uint8Array, flags = 0): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame[0] = flags;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

export type HeaderMap = Record<string, string | string[] | undefined>;

/** What came back for one request; `failure` says why nothing (complete) came back. */
export interface RawReply {
  status: number;
  headers: HeaderMap;
  body: Buffer;
  /** HTTP/2 trailers. */
  trailers: HeaderMap;
  /** "timeout", "reset <code>", or a socket error; undefined when the response was complete. */
  failure?: string;
}

function firstValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** A request over HTTP/1.1 with the body sent as given (no framing added). */
export function h1Request(
  port: number,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer; timeoutMs?: number },
): Promise<RawReply> {
  return new Promise((resolve) => {
    const timeoutMs = opts.timeoutMs ?? 15_000;
    let settled = false;
    const done = (reply: RawReply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(reply);
    };
    // a body always goes with its length (Node sends GET and DELETE bodies unframed otherwise)
    const headers = opts.body === undefined ? opts.headers : { ...opts.headers, "content-length": String(opts.body.length) };
    const req = http.request(
      { host: "127.0.0.1", port, method: opts.method ?? "POST", path: opts.path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), trailers: {} }));
        res.on("error", (err) => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), trailers: {}, failure: err.message }));
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      done({ status: 0, headers: {}, body: Buffer.alloc(0), trailers: {}, failure: "timeout" });
    }, timeoutMs);
    req.on("error", (err) => done({ status: 0, headers: {}, body: Buffer.alloc(0), trailers: {}, failure: err.message }));
    req.end(opts.body);
  });
}

/** One request on its own HTTP/2 (h2c) session, or on `session` when given (left open). */
export function h2Request(
  port: number,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer; timeoutMs?: number },
  shared?: http2.ClientHttp2Session,
): Promise<RawReply> {
  return new Promise((resolve) => {
    const timeoutMs = opts.timeoutMs ?? 15_000;
    const session = shared ?? http2.connect(`http://127.0.0.1:${port}`);
    let settled = false;
    const reply: RawReply = { status: 0, headers: {}, body: Buffer.alloc(0), trailers: {} };
    const chunks: Buffer[] = [];
    const onSessionError = (err: Error) => done(err.message);
    const done = (failure?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.off("error", onSessionError);
      reply.body = Buffer.concat(chunks);
      if (failure !== undefined) reply.failure = failure;
      if (!shared) session.destroy();
      else if (!stream.closed) stream.close();
      resolve(reply);
    };
    const timer = setTimeout(() => done("timeout"), timeoutMs);
    session.on("error", onSessionError);
    // endStream: false, or Node ends GET and DELETE streams before their body
    const stream = session.request({ ":method": opts.method ?? "POST", ":path": opts.path, ...opts.headers }, { endStream: false });
    stream.on("response", (h) => {
      reply.status = Number(h[":status"]);
      reply.headers = h as HeaderMap;
    });
    stream.on("trailers", (t) => (reply.trailers = t as HeaderMap));
    stream.on("data", (d: Buffer) => chunks.push(d));
    stream.on("end", () => done());
    stream.on("error", (err) => done(err.message));
    stream.on("close", () => done(stream.rstCode ? `reset ${stream.rstCode}` : undefined));
    stream.end(opts.body);
  });
}

/** Writes `bytes` to a fresh TCP connection (optionally half-closing it) and returns all that comes back. */
export function rawSocket(port: number, bytes: Buffer | string, opts: { halfClose?: boolean; timeoutMs?: number } = {}): Promise<{ received: Buffer; timedOut: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, opts.timeoutMs ?? 15_000);
    socket.on("connect", () => {
      socket.write(bytes);
      if (opts.halfClose) socket.end();
    });
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ received: Buffer.concat(chunks), timedOut });
    });
  });
}

/** Splits HTTP/1.1 responses read from a raw socket (Content-Length bodies only). */
export function parseH1Responses(bytes: Buffer): Array<{ status: number; headers: Record<string, string>; body: string }> {
  const out: Array<{ status: number; headers: Record<string, string>; body: string }> = [];
  let text = bytes.toString("latin1");
  while (text.length > 0) {
    const end = text.indexOf("\r\n\r\n");
    if (end < 0) break;
    const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers["content-length"] ?? 0);
    const body = Buffer.from(text.slice(end + 4, end + 4 + length), "latin1").toString("utf8");
    out.push({ status: Number(statusLine!.split(" ")[1]), headers, body });
    text = text.slice(end + 4 + length);
  }
  return out;
}

// ---------- HTTP/2 by hand (for half-closing a connection) ----------

function hpackInteger(value: number, prefixBits: number, firstByte = 0): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByte | value];
  const out = [firstByte | max];
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

/** A header block of literal fields without indexing (no Huffman): always valid HPACK. */
export function hpackBlock(headers: Array<[string, string]>): Buffer {
  const bytes: number[] = [];
  for (const [name, value] of headers) {
    const n = Buffer.from(name, "utf8");
    const v = Buffer.from(value, "utf8");
    bytes.push(0x00, ...hpackInteger(n.length, 7), ...n, ...hpackInteger(v.length, 7), ...v);
  }
  return Buffer.from(bytes);
}

export function h2Frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

export const H2 = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, GOAWAY: 7, END_STREAM: 0x1, END_HEADERS: 0x4, ACK: 0x1 } as const;
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export interface H2Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/**
 * One request on stream 1 over a hand-written HTTP/2 connection, then (optionally) a TCP
 * half-close; returns the frames the server sent until it closed the connection.
 */
export function rawH2Request(
  port: number,
  headers: Array<[string, string]>,
  body: Buffer | undefined,
  opts: { halfClose?: boolean; timeoutMs?: number; /** false: the request body stays open */ endStream?: boolean } = {},
): Promise<{ frames: H2Frame[]; timedOut: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const frames: H2Frame[] = [];
    let buffer = Buffer.alloc(0);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, opts.timeoutMs ?? 15_000);
    socket.on("connect", () => {
      const out = [PREFACE, h2Frame(H2.SETTINGS, 0, 0)];
      out.push(h2Frame(H2.HEADERS, H2.END_HEADERS | (body ? 0 : H2.END_STREAM), 1, hpackBlock(headers)));
      if (body) out.push(h2Frame(H2.DATA, opts.endStream === false ? 0 : H2.END_STREAM, 1, body));
      socket.write(Buffer.concat(out));
      if (opts.halfClose) socket.end();
    });
    socket.on("data", (d: Buffer) => {
      buffer = Buffer.concat([buffer, d]);
      while (buffer.length >= 9) {
        const length = buffer.readUIntBE(0, 3);
        if (buffer.length < 9 + length) break;
        const frame = { type: buffer[3]!, flags: buffer[4]!, streamId: buffer.readUInt32BE(5) & 0x7fffffff, payload: buffer.subarray(9, 9 + length) };
        frames.push(frame);
        buffer = buffer.subarray(9 + length);
        // a half-closed client can no longer acknowledge settings; the server must answer anyway
        if (!opts.halfClose && frame.type === H2.SETTINGS && (frame.flags & H2.ACK) === 0 && socket.writable) {
          socket.write(h2Frame(H2.SETTINGS, H2.ACK, 0));
        }
        if (frame.streamId === 1 && (frame.flags & H2.END_STREAM) !== 0 && !opts.halfClose) socket.end();
      }
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ frames, timedOut });
    });
  });
}

// ---------- gRPC and gRPC-web status ----------

export interface GrpcStatus {
  /** grpc-status as sent; undefined when none arrived. */
  code?: number;
  /** grpc-message percent-decoded. */
  message?: string;
  /** The raw grpc-message value. */
  rawMessage?: string;
  detailsBin?: string;
  /** Message frames of the body (gRPC-web: before the trailer frame). */
  messages: Buffer[];
  /** Where the status came from. */
  source?: "trailers" | "headers" | "trailer-frame";
}

/** The status of a gRPC response: its trailers, or the headers of a trailers-only response. */
export function grpcStatusOf(reply: RawReply): GrpcStatus {
  const messages = splitFrames(reply.body).filter((f) => (f.flags & 0x80) === 0).map((f) => f.data);
  for (const [source, map] of [["trailers", reply.trailers], ["headers", reply.headers]] as const) {
    const code = firstValue(map["grpc-status"]);
    if (code === undefined) continue;
    const raw = firstValue(map["grpc-message"]);
    return { code: Number(code), rawMessage: raw, message: raw === undefined ? undefined : percentDecode(raw), detailsBin: firstValue(map["grpc-status-details-bin"]), messages, source };
  }
  return { messages };
}

/** The status of a gRPC-web response: the trailer frame of the body, or the headers when trailers-only. */
export function grpcWebStatusOf(reply: RawReply): GrpcStatus {
  const frames = splitFrames(reply.body);
  const messages = frames.filter((f) => (f.flags & 0x80) === 0).map((f) => f.data);
  const trailer = frames.find((f) => (f.flags & 0x80) !== 0);
  if (trailer) {
    const map: Record<string, string> = {};
    for (const line of trailer.data.toString("latin1").split("\r\n").filter((l) => l !== "")) {
      const colon = line.indexOf(":");
      map[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const raw = map["grpc-message"];
    return {
      code: map["grpc-status"] === undefined ? undefined : Number(map["grpc-status"]),
      rawMessage: raw,
      message: raw === undefined ? undefined : percentDecode(raw),
      detailsBin: map["grpc-status-details-bin"],
      messages,
      source: "trailer-frame",
    };
  }
  const status = grpcStatusOf({ ...reply, body: Buffer.alloc(0) });
  return { ...status, messages };
}

export function splitFrames(bytes: Buffer): Array<{ flags: number; data: Buffer }> {
  const out: Array<{ flags: number; data: Buffer }> = [];
  for (let pos = 0; pos + 5 <= bytes.length; ) {
    const length = bytes.readUInt32BE(pos + 1);
    out.push({ flags: bytes[pos]!, data: bytes.subarray(pos + 5, pos + 5 + length) });
    pos += 5 + length;
  }
  return out;
}

/** grpc-message is percent-encoded UTF-8 (errors.md §4); a malformed encoding is reported as such. */
export function percentDecode(value: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25 && /^[0-9A-Fa-f]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(c);
    }
  }
  return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(bytes));
}

// ---------- error shapes (errors.md §4) ----------

const CONNECT_CODES = [
  "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found", "already_exists", "permission_denied",
  "resource_exhausted", "failed_precondition", "aborted", "out_of_range", "unimplemented", "internal", "unavailable",
  "data_loss", "unauthenticated",
];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isWellFormed(s: string): boolean {
  return !/\p{Surrogate}/u.test(s);
}

/** Problems with a REST error response (`{"code": <int>, "message": …, "details": [ErrorDetail]}`). */
export function restErrorProblems(status: number, headers: HeaderMap, body: Buffer): string[] {
  const problems: string[] = [];
  if (!String(firstValue(headers["content-type"]) ?? "").startsWith("application/json")) problems.push(`content-type ${String(headers["content-type"])}`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    return [...problems, `body is not JSON: ${JSON.stringify(body.toString("latin1").slice(0, 80))}`];
  }
  if (!isObject(json)) return [...problems, "body is not an object"];
  if (!Number.isInteger(json.code) || (json.code as number) < 1 || (json.code as number) > 16) problems.push(`code ${JSON.stringify(json.code)}`);
  if (typeof json.message !== "string" || json.message === "" || !isWellFormed(json.message)) problems.push(`message ${JSON.stringify(json.message)}`);
  if (json.details !== undefined) {
    const details = json.details;
    if (!Array.isArray(details) || details.length !== 1) problems.push("details is not one entry");
    else {
      const d = details[0] as Record<string, unknown>;
      if (d["@type"] !== `type.googleapis.com/${ERROR_DETAIL_TYPE}` || typeof d.id !== "string" || typeof d.message !== "string") {
        problems.push(`detail ${JSON.stringify(d)}`);
      } else if (json.message !== `${d.message} (${d.id})`) problems.push("message is not '<text> (<id>)'");
    }
  }
  for (const key of Object.keys(json)) if (!["code", "message", "details"].includes(key)) problems.push(`unexpected key ${key}`);
  if (status < 400) problems.push(`status ${status}`);
  return problems;
}

/** Problems with a Connect unary error response (`{"code": "<name>", "message": …, "details": [{type, value, debug}]}`). */
export function connectErrorProblems(status: number, headers: HeaderMap, body: Buffer): string[] {
  const problems: string[] = [];
  if (!String(firstValue(headers["content-type"]) ?? "").startsWith("application/json")) problems.push(`content-type ${String(headers["content-type"])}`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    return [...problems, `body is not JSON: ${JSON.stringify(body.toString("latin1").slice(0, 80))}`];
  }
  if (!isObject(json)) return [...problems, "body is not an object"];
  if (typeof json.code !== "string" || !CONNECT_CODES.includes(json.code)) problems.push(`code ${JSON.stringify(json.code)}`);
  if (typeof json.message !== "string" || json.message === "" || !isWellFormed(json.message)) problems.push(`message ${JSON.stringify(json.message)}`);
  if (json.details !== undefined) {
    const details = json.details;
    if (!Array.isArray(details) || details.length !== 1) problems.push("details is not one entry");
    else {
      const d = details[0] as Record<string, unknown>;
      if (d.type !== ERROR_DETAIL_TYPE || typeof d.value !== "string") problems.push(`detail ${JSON.stringify(d)}`);
    }
  }
  if (status < 400) problems.push(`status ${status}`);
  return problems;
}

/** Problems with a gRPC status: a code 1–16, a well-formed message, details-bin agreeing with both. */
export function grpcStatusProblems(s: GrpcStatus): string[] {
  const problems: string[] = [];
  if (s.code === undefined) return ["no grpc-status"];
  if (!Number.isInteger(s.code) || s.code < 0 || s.code > 16) problems.push(`grpc-status ${s.code}`);
  if (s.code === 0) return problems;
  let message: string | undefined;
  try {
    message = s.rawMessage === undefined ? undefined : percentDecode(s.rawMessage);
  } catch {
    problems.push(`grpc-message is not percent-encoded UTF-8: ${s.rawMessage}`);
  }
  if (message === undefined || message === "") problems.push("no grpc-message");
  if (s.detailsBin !== undefined) {
    try {
      const status = decodeGrpcStatus<ErrorDetail>(Buffer.from(s.detailsBin, "base64"), ErrorDetailSchema);
      if (status.code !== s.code) problems.push(`details-bin code ${status.code} vs ${s.code}`);
      if (message !== undefined && status.message !== message) problems.push("details-bin message differs");
      if (status.details.length !== 1 || !status.details[0]!.detail) problems.push("details-bin has not one ErrorDetail");
    } catch (err) {
      problems.push(`details-bin does not decode: ${(err as Error).message}`);
    }
  }
  return problems;
}
