/**
 * Clients for every protocol Roster speaks, built from independent stacks so that wire
 * compatibility is proven rather than assumed:
 * - @grpc/grpc-js with ZITADEL's published descriptors (@zitadel/proto), not our src/gen;
 * - ZITADEL's own TypeScript client (@zitadel/client), over gRPC and gRPC-web;
 * - connect-node (Connect JSON/binary, HTTP/1.1 and h2, gRPC-web) with our generated UserService;
 * - plain fetch on the REST gateway.
 * Every call ends in one `Outcome`, so that a test can state one expectation for all protocols.
 */
import { create, fromBinary, toBinary, toJson, type DescMessage, type DescMethodUnary, type DescService, type JsonObject } from "@bufbuild/protobuf";
import { ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { createServerTransport } from "@zitadel/client/node";
import { createUserServiceClient } from "@zitadel/client/v2";
import { createClientTransport } from "@zitadel/client/web";
import { ErrorDetailSchema as ZitadelErrorDetailSchema, type ErrorDetail as ZitadelErrorDetail } from "@zitadel/proto/zitadel/message_pb.js";
import { decodeGrpcStatus } from "./grpc-status.js";
import { UserService as ZitadelUserService } from "@zitadel/proto/zitadel/user/v2/user_service_pb.js";
import { ErrorDetailSchema } from "../../src/gen/zitadel/message_pb.js";
import { UserService } from "../../src/gen/zitadel/user/v2/user_service_pb.js";

export const ERROR_DETAIL_TYPE_URL = "type.googleapis.com/zitadel.v1.ErrorDetail";

export interface ErrorDetailLite {
  id: string;
  message: string;
}

/** The result of one unary call, whatever the protocol. */
export interface Outcome {
  /** gRPC status code; 0 on success. */
  code: number;
  /** The error message as sent (grpc-message, Connect `message`, REST `message`); "" on success. */
  message: string;
  /** zitadel.v1.ErrorDetail entries carried by the error. */
  details: ErrorDetailLite[];
  /** Any detail whose type is not ErrorDetail (should never happen). */
  otherDetailTypes: string[];
  /** `etag` response header (gRPC: response header metadata). */
  etag: string | null;
  /** The response message as protobuf JSON (camelCase, uint64 as string), on success. */
  json?: JsonObject;
  /** The response message as the client decoded it (bigint for uint64 on binary clients). */
  raw?: unknown;
  /** HTTP status (REST and Connect/gRPC-web only where observable). */
  httpStatus?: number;
}

export interface CallOptions {
  /** Bearer token; absent → no Authorization header at all. */
  token?: string;
  headers?: Record<string, string>;
}

/** A method, named by its RPC name (`UpdateHumanUser`), called with a protobuf init shape. */
export interface ProtocolClient {
  name: string;
  call(rpc: string, request: Record<string, unknown>, opts?: CallOptions): Promise<Outcome>;
}

function methodOf(service: DescService, rpc: string): DescMethodUnary {
  const method = service.methods.find((m) => m.name === rpc);
  if (!method || method.methodKind !== "unary") throw new Error(`${service.typeName} has no unary method ${rpc}`);
  return method as DescMethodUnary;
}

function headersOf(opts: CallOptions): Record<string, string> {
  const h: Record<string, string> = { ...opts.headers };
  if (opts.token !== undefined) h.authorization = `Bearer ${opts.token}`;
  return h;
}

// ---------- google.rpc.Status ----------

/** Decodes `grpc-status-details-bin`, with ErrorDetails decoded by @zitadel/proto's schema. */
export function decodeStatusDetailsBin(bytes: Uint8Array) {
  const status = decodeGrpcStatus<ZitadelErrorDetail>(bytes, ZitadelErrorDetailSchema);
  return {
    code: status.code,
    message: status.message,
    details: status.details.map((d) => ({
      typeUrl: d.typeUrl,
      errorDetail: d.detail && { id: d.detail.id, message: d.detail.message },
    })),
  };
}

/** grpc-js may show grpc-message percent-encoded (stack-notes); both encodings are the same text. */
export function decodeGrpcMessage(message: string): string {
  try {
    return decodeURIComponent(message);
  } catch {
    return message;
  }
}

// ---------- @grpc/grpc-js with @zitadel/proto descriptors ----------

export interface GrpcJsResult {
  response?: unknown;
  error?: grpc.ServiceError;
  headers?: grpc.Metadata;
}

/** One unary call through grpc-js, serialized with the descriptors of `method` (h2c, insecure). */
export function grpcJsUnary(
  port: number,
  method: DescMethodUnary,
  request: Record<string, unknown>,
  metadata: Record<string, string>,
): Promise<GrpcJsResult> {
  const definition: grpc.ServiceDefinition = {
    [method.name]: {
      path: `/${method.parent.typeName}/${method.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (m: unknown) => Buffer.from(toBinary(method.input, m as never)),
      requestDeserialize: (b: Buffer) => fromBinary(method.input, b),
      responseSerialize: (m: unknown) => Buffer.from(toBinary(method.output, m as never)),
      responseDeserialize: (b: Buffer) => fromBinary(method.output, b),
    },
  };
  const Client = grpc.makeGenericClientConstructor(definition, method.parent.typeName);
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise((resolve) => {
    const result: GrpcJsResult = {};
    const fn = (client as unknown as Record<string, Function>)[method.name].bind(client) as (
      req: unknown,
      md: grpc.Metadata,
      cb: (err: grpc.ServiceError | null, res: unknown) => void,
    ) => grpc.ClientUnaryCall;
    const call = fn(create(method.input, request as never), md, (error, response) => {
      client.close();
      resolve({ ...result, error: error ?? undefined, response });
    });
    call.on("metadata", (headers: grpc.Metadata) => (result.headers = headers));
  });
}

function outcomeOfGrpcJs(method: DescMethodUnary, r: GrpcJsResult): Outcome {
  const etag = r.headers?.get("etag")[0];
  if (!r.error) {
    return {
      code: 0,
      message: "",
      details: [],
      otherDetailTypes: [],
      etag: etag === undefined ? null : String(etag),
      json: toJson(method.output, r.response as never) as JsonObject,
      raw: r.response,
    };
  }
  const bin = r.error.metadata.get("grpc-status-details-bin")[0];
  const status = bin ? decodeStatusDetailsBin(bin as Buffer) : undefined;
  if (status && (status.code !== r.error.code || decodeGrpcMessage(status.message) !== decodeGrpcMessage(r.error.details))) {
    throw new Error(`grpc-status-details-bin disagrees with the status: ${JSON.stringify(status)} vs ${r.error.code} ${r.error.details}`);
  }
  return {
    code: r.error.code,
    message: decodeGrpcMessage(r.error.details),
    details: (status?.details ?? []).flatMap((d) => (d.errorDetail ? [d.errorDetail] : [])),
    otherDetailTypes: (status?.details ?? []).filter((d) => !d.errorDetail).map((d) => d.typeUrl),
    etag: etag === undefined ? null : String(etag),
  };
}

/** grpc-js speaking ZITADEL's published descriptors: any RPC ZITADEL has, Roster implements it or not. */
export function grpcJsClient(port: number): ProtocolClient {
  return {
    name: "grpc-js (@zitadel/proto)",
    async call(rpc, request, opts = {}) {
      const method = methodOf(ZitadelUserService, rpc);
      return outcomeOfGrpcJs(method, await grpcJsUnary(port, method, request, headersOf(opts)));
    },
  };
}

// ---------- connect clients (ZITADEL's and ours) ----------

type AnyClient = Record<string, (req: unknown, opts?: unknown) => Promise<unknown>>;

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

async function connectOutcome(
  service: DescService,
  client: AnyClient,
  rpc: string,
  request: Record<string, unknown>,
  headers: Record<string, string>,
  detailSchema: DescMessage,
): Promise<Outcome> {
  const method = methodOf(service, rpc);
  let etag: string | null = null;
  try {
    const response = await client[lowerFirst(rpc)](request, {
      headers,
      onHeader: (h: Headers) => (etag = h.get("etag")),
    });
    return {
      code: 0,
      message: "",
      details: [],
      otherDetailTypes: [],
      etag,
      json: toJson(method.output, response as never) as JsonObject,
      raw: response,
    };
  } catch (err) {
    if (!(err instanceof ConnectError)) throw err;
    const details = err.findDetails(detailSchema) as unknown as Array<{ id: string; message: string }>;
    const other = err.details.flatMap((d) => {
      const type = "desc" in d ? d.desc.typeName : d.type;
      return type === detailSchema.typeName ? [] : [type];
    });
    return {
      code: err.code,
      message: err.rawMessage,
      details: details.map((d) => ({ id: d.id, message: d.message })),
      otherDetailTypes: other,
      etag: err.metadata.get("etag") ?? etag,
    };
  }
}

/** A client of our generated UserService over any connect transport. */
export function connectClient(name: string, transport: Transport): ProtocolClient {
  const client = createClient(UserService, transport) as unknown as AnyClient;
  return {
    name,
    call: (rpc, request, opts = {}) => connectOutcome(UserService, client, rpc, request, headersOf(opts), ErrorDetailSchema),
  };
}

export function connectJsonH1(baseUrl: string): ProtocolClient {
  return connectClient("Connect JSON (HTTP/1.1)", createConnectTransport({ baseUrl, httpVersion: "1.1" }));
}

export function connectBinaryH2(baseUrl: string): ProtocolClient {
  return connectClient("Connect binary (h2)", createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }));
}

export function grpcWebConnectNode(baseUrl: string): ProtocolClient {
  return connectClient("gRPC-web binary (connect-node)", createGrpcWebTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }));
}

/** gRPC-web with the JSON codec (`application/grpc-web+json`) over HTTP/1.1, as a browser would send it. */
export function grpcWebJsonH1(baseUrl: string): ProtocolClient {
  return connectClient("gRPC-web JSON (HTTP/1.1)", createGrpcWebTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false }));
}

/**
 * ZITADEL's own client. Its transports always add `Authorization: Bearer <token>`, so a call
 * without token goes through the same generated client on a bare transport of the same kind.
 */
function zitadelClient(name: string, transportFor: (token: string | undefined) => Transport): ProtocolClient {
  return {
    name,
    call(rpc, request, opts = {}) {
      const client = createUserServiceClient(transportFor(opts.token)) as unknown as AnyClient;
      return connectOutcome(ZitadelUserService, client, rpc, request, { ...opts.headers }, ZitadelErrorDetailSchema);
    },
  };
}

export function zitadelGrpc(baseUrl: string): ProtocolClient {
  return zitadelClient("@zitadel/client gRPC", (token) =>
    token === undefined ? createGrpcTransport({ baseUrl }) : createServerTransport(token, { baseUrl }),
  );
}

export function zitadelGrpcWeb(baseUrl: string): ProtocolClient {
  // @zitadel/client/web wraps connect-web's gRPC-web transport, which uses the global fetch.
  return zitadelClient("@zitadel/client gRPC-web", (token) =>
    token === undefined
      ? createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })
      : createClientTransport(token, { baseUrl } as Parameters<typeof createClientTransport>[1]),
  );
}

// ---------- REST ----------

interface RestRoute {
  method: string;
  path: (req: Record<string, unknown>) => string;
  /** The request goes as the JSON body (body "*"). */
  body: boolean;
}

const REST_ROUTES: Record<string, RestRoute> = {
  UpdateHumanUser: { method: "PUT", path: (r) => `/v2/users/human/${encodeURIComponent(String(r.userId))}`, body: true },
  GetUserByID: { method: "GET", path: (r) => `/v2/users/${encodeURIComponent(String(r.userId))}`, body: false },
  DeleteUser: { method: "DELETE", path: (r) => `/v2/users/${encodeURIComponent(String(r.userId))}`, body: false },
  ListUsers: { method: "POST", path: () => "/v2/users", body: true },
  AddHumanUser: { method: "POST", path: () => "/v2/users/human", body: true },
  PasswordReset: { method: "POST", path: (r) => `/v2/users/${encodeURIComponent(String(r.userId))}/password_reset`, body: true },
  SetPassword: { method: "POST", path: (r) => `/v2/users/${encodeURIComponent(String(r.userId))}/password`, body: true },
  SetEmail: { method: "POST", path: (r) => `/v2/users/${encodeURIComponent(String(r.userId))}/email`, body: true },
  ResendEmailCode: { method: "POST", path: (r) => `/v2/users/${encodeURIComponent(String(r.userId))}/email/resend`, body: true },
  SendEmailCode: { method: "POST", path: (r) => `/v2/users/${encodeURIComponent(String(r.userId))}/email/send`, body: true },
  VerifyEmail: { method: "POST", path: (r) => `/v2/users/${encodeURIComponent(String(r.userId))}/email/verify`, body: true },
  SetPhone: { method: "POST", path: (r) => `/v2/users/${encodeURIComponent(String(r.userId))}/phone`, body: true },
  RemovePhone: { method: "DELETE", path: (r) => `/v2/users/${encodeURIComponent(String(r.userId))}/phone`, body: true },
  ResendPhoneCode: { method: "POST", path: (r) => `/v2/users/${encodeURIComponent(String(r.userId))}/phone/resend`, body: true },
  VerifyPhone: { method: "POST", path: (r) => `/v2/users/${encodeURIComponent(String(r.userId))}/phone/verify`, body: true },
  DeactivateUser: { method: "POST", path: (r) => `/v2/users/${encodeURIComponent(String(r.userId))}/deactivate`, body: true },
  ReactivateUser: { method: "POST", path: (r) => `/v2/users/${encodeURIComponent(String(r.userId))}/reactivate`, body: true },
  LockUser: { method: "POST", path: (r) => `/v2/users/${encodeURIComponent(String(r.userId))}/lock`, body: true },
  UnlockUser: { method: "POST", path: (r) => `/v2/users/${encodeURIComponent(String(r.userId))}/unlock`, body: true },
};

/** REST through fetch; the body is the request as protobuf JSON, produced by ZITADEL's schema. */
export function restClient(baseUrl: string): ProtocolClient {
  return {
    name: "REST (fetch)",
    async call(rpc, request, opts = {}) {
      const route = REST_ROUTES[rpc];
      if (!route) throw new Error(`no REST route known for ${rpc}`);
      const method = methodOf(ZitadelUserService, rpc);
      const headers = headersOf(opts);
      let body: string | undefined;
      if (route.body) {
        body = JSON.stringify(toJson(method.input, create(method.input, request as never)));
        headers["content-type"] = "application/json";
      }
      const res = await fetch(baseUrl + route.path(request), { method: route.method, headers, body });
      const text = await res.text();
      const json = text ? (JSON.parse(text) as JsonObject) : {};
      if (res.status === 200) {
        return { code: 0, message: "", details: [], otherDetailTypes: [], etag: res.headers.get("etag"), json, raw: json, httpStatus: 200 };
      }
      const details = (json.details ?? []) as Array<{ "@type": string; id: string; message: string }>;
      return {
        code: json.code as number,
        message: json.message as string,
        details: details.filter((d) => d["@type"] === ERROR_DETAIL_TYPE_URL).map((d) => ({ id: d.id, message: d.message })),
        otherDetailTypes: details.filter((d) => d["@type"] !== ERROR_DETAIL_TYPE_URL).map((d) => d["@type"]),
        etag: res.headers.get("etag"),
        raw: json,
        httpStatus: res.status,
      };
    },
  };
}

/** Every protocol, each through its own client stack; `make` takes the port and base URL. */
export const PROTOCOLS: ReadonlyArray<{ name: string; make(port: number, baseUrl: string): ProtocolClient }> = [
  { name: "grpc-js (@zitadel/proto)", make: (port) => grpcJsClient(port) },
  { name: "@zitadel/client gRPC", make: (_, baseUrl) => zitadelGrpc(baseUrl) },
  { name: "@zitadel/client gRPC-web", make: (_, baseUrl) => zitadelGrpcWeb(baseUrl) },
  { name: "Connect JSON (HTTP/1.1)", make: (_, baseUrl) => connectJsonH1(baseUrl) },
  { name: "Connect binary (h2)", make: (_, baseUrl) => connectBinaryH2(baseUrl) },
  { name: "gRPC-web binary (connect-node)", make: (_, baseUrl) => grpcWebConnectNode(baseUrl) },
  { name: "gRPC-web JSON (HTTP/1.1)", make: (_, baseUrl) => grpcWebJsonH1(baseUrl) },
  { name: "REST (fetch)", make: (_, baseUrl) => restClient(baseUrl) },
];

export function allProtocols(port: number, baseUrl: string): ProtocolClient[] {
  return PROTOCOLS.map((p) => p.make(port, baseUrl));
}

/** JSON for assertion messages; bigint-safe. */
export function show(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));
}
