/**
 * A bounded, reproducible fuzzer of the four protocols (REST, Connect JSON and binary, gRPC-web,
 * gRPC). It mutates valid requests of the implemented RPCs (random bytes, truncation, wrong JSON
 * types, huge numbers, NULs, lone surrogates, deep nesting, unknown fields, bogus enum names,
 * broken framing and compression, odd headers) and checks every answer: it arrives within a
 * bound, it is no 5xx and no INTERNAL/UNKNOWN, and an error has its protocol's shape.
 *
 * Request i draws from its own PRNG seeded with (seed, i), so one failing request can be
 * replayed alone: `npm run fuzz -- --seed S --only i`.
 */
import { fromJson, toBinary, type DescMessage, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { AddOrganizationRequestSchema } from "../../src/gen/zitadel/org/v2/org_service_pb.js";
import {
  AddHumanUserRequestSchema,
  GetUserByIDRequestSchema,
  PasswordResetRequestSchema,
  SetPasswordRequestSchema,
  UpdateHumanUserRequestSchema,
} from "../../src/gen/zitadel/user/v2/user_service_pb.js";
import {
  connectErrorProblems,
  grpcFrame,
  grpcStatusOf,
  grpcStatusProblems,
  grpcWebStatusOf,
  h1Request,
  h2Request,
  restErrorProblems,
  type RawReply,
} from "./raw-protocols.js";

// ---------- PRNG ----------

/** mulberry32: small, fast, good enough to pick mutations; the same seed gives the same run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  constructor(readonly next: () => number) {}
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

/** The seed of request `index` of a run. */
function requestSeed(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
}

// ---------- the corpus: valid requests of the implemented RPCs ----------

export interface FuzzTarget {
  port: number;
  adminToken: string;
  /** A token of a user without roles (permission errors on most RPCs). */
  userToken: string;
  userIds: { ada: string; bob: string; nora: string };
  orgId: string;
}

interface Rpc {
  service: string;
  name: string;
  schema: DescMessage;
  rest: { method: string; path: (json: JsonObject) => string };
  seed: (rng: Rng, t: FuzzTarget) => JsonObject;
}

const unique = (rng: Rng) => `${Date.now().toString(36)}${rng.int(1e9).toString(36)}`;
/** Percent-encodes a path segment; a lone surrogate goes as its (invalid) 3-byte UTF-8 form. */
function pathSegment(text: string): string {
  return text.replace(/\p{Surrogate}|[^\p{Surrogate}]+/gu, (part) => {
    if (!/^\p{Surrogate}$/u.test(part)) return encodeURIComponent(part);
    const c = part.charCodeAt(0);
    return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join("");
  });
}
const idPath = (prefix: string, suffix = "") => (json: JsonObject) => `${prefix}${pathSegment(String(json.userId ?? ""))}${suffix}`;

function human(rng: Rng, t: FuzzTarget): JsonObject {
  const u = unique(rng);
  return {
    username: `fz-${u}`,
    organization: { orgId: t.orgId },
    profile: { givenName: "Fuzz", familyName: "Tester", nickName: "fz", gender: "GENDER_DIVERSE", preferredLanguage: "en" },
    email: rng.chance(0.5) ? { email: `fz-${u}@example.com`, isVerified: true } : { email: `fz-${u}@example.com`, sendCode: { urlTemplate: "https://app.example/v?c={{.Code}}" } },
    phone: { phone: "+41795550123", returnCode: {} },
    metadata: [{ key: "team", value: "Ymx1ZQ" }],
    password: { password: "Fuzz-Passw0rd!", changeRequired: false },
  };
}

const RPCS: Rpc[] = [
  {
    service: "zitadel.user.v2.UserService",
    name: "GetUserByID",
    schema: GetUserByIDRequestSchema,
    rest: { method: "GET", path: idPath("/v2/users/") },
    seed: (rng, t) => ({ userId: rng.pick([t.userIds.ada, t.userIds.bob, "399999999999999999"]) }),
  },
  {
    service: "zitadel.user.v2.UserService",
    name: "UpdateHumanUser",
    schema: UpdateHumanUserRequestSchema,
    rest: { method: "PUT", path: idPath("/v2/users/human/") },
    seed: (rng, t) => ({
      userId: t.userIds.bob,
      profile: { givenName: "Bob", familyName: "Builder", displayName: "Bob B.", gender: "GENDER_MALE" },
      email: { email: `bob-${unique(rng)}@example.com`, returnCode: {} },
      phone: { phone: "+41795550199", isVerified: true },
    }),
  },
  {
    service: "zitadel.user.v2.UserService",
    name: "AddHumanUser",
    schema: AddHumanUserRequestSchema,
    rest: { method: "POST", path: () => "/v2/users/human" },
    seed: (rng, t) => human(rng, t),
  },
  {
    service: "zitadel.user.v2.UserService",
    name: "PasswordReset",
    schema: PasswordResetRequestSchema,
    rest: { method: "POST", path: idPath("/v2/users/", "/password_reset") },
    seed: (rng, t): JsonObject =>
      rng.chance(0.5)
        ? { userId: t.userIds.nora, sendLink: { notificationType: "NOTIFICATION_TYPE_Email", urlTemplate: "https://app.example/r?c={{.Code}}" } }
        : { userId: t.userIds.nora, returnCode: {} },
  },
  {
    service: "zitadel.user.v2.UserService",
    name: "SetPassword",
    schema: SetPasswordRequestSchema,
    rest: { method: "POST", path: idPath("/v2/users/", "/password") },
    seed: (rng, t) => ({ userId: t.userIds.nora, newPassword: { password: `Fuzz-${unique(rng)}-9!`, changeRequired: false }, currentPassword: "not-her-password" }),
  },
  {
    service: "zitadel.org.v2.OrganizationService",
    name: "AddOrganization",
    schema: AddOrganizationRequestSchema,
    rest: { method: "POST", path: () => "/v2/organizations" },
    seed: (rng, t) => {
      const { organization: _org, ...admin } = human(rng, t);
      return { name: `Fuzz ${unique(rng)}`, admins: [{ human: admin, roles: ["ORG_OWNER"] }] };
    },
  },
];

/** Fails fast when a seed is not a valid message of its RPC (the corpus must start valid). */
export function checkCorpus(t: FuzzTarget): void {
  const rng = new Rng(prng(1));
  for (const rpc of RPCS) fromJson(rpc.schema, rpc.seed(rng, t));
}

// ---------- mutations ----------

const NASTY_STRINGS = [
  "",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "x\udfff",
  "\u{1F600}".repeat(50),
  "\u202e\u0301",
  "%00%ff",
  "' OR 1=1 --",
  "x".repeat(5000),
  "GENDER_XYZ",
  "NOTIFICATION_TYPE_BOGUS",
  "{{.Code}}",
  "http://[::1",
  "-1",
  "1e309",
];
const NASTY_VALUES: JsonValue[] = [
  null,
  true,
  0,
  -1,
  1e308,
  -1e308,
  2 ** 64,
  9007199254740993,
  0.5,
  [],
  {},
  [null, 1, "x"],
  { "@type": "type.googleapis.com/x" },
  "99999999999999999999999999",
];

type Path = Array<string | number>;

/** Every position in the value down to the depth of the schema (not into deep nesting added before). */
function leaves(value: JsonValue, path: Path = [], out: Path[] = []): Path[] {
  out.push(path);
  if (path.length >= 8) return out;
  if (Array.isArray(value)) value.forEach((v, i) => leaves(v, [...path, i], out));
  else if (value !== null && typeof value === "object") for (const [k, v] of Object.entries(value)) leaves(v, [...path, k], out);
  return out;
}

function getAt(root: JsonValue, path: Path): JsonValue {
  let v = root;
  for (const p of path) v = (v as Record<string | number, JsonValue>)[p]!;
  return v;
}

function setAt(root: JsonValue, path: Path, value: JsonValue | undefined): JsonValue {
  if (path.length === 0) return value ?? null;
  const parent = getAt(root, path.slice(0, -1)) as Record<string | number, JsonValue> | JsonValue[];
  const key = path[path.length - 1]!;
  if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete (parent as Record<string, JsonValue>)[key as string];
  } else (parent as Record<string | number, JsonValue>)[key] = value;
  return root;
}

function deepNesting(rng: Rng): JsonValue {
  const depth = rng.pick([50, 500, 2000]);
  let v: JsonValue = "bottom";
  for (let i = 0; i < depth; i++) v = rng.chance(0.5) ? [v] : { n: v };
  return v;
}

/** One change to the request as JSON; returns its description. */
function mutateJson(rng: Rng, root: JsonObject): { root: JsonValue; what: string } {
  const paths = leaves(root);
  const path = rng.pick(paths);
  const where = path.join(".") || "<root>";
  const current = getAt(root, path);
  switch (rng.int(9)) {
    case 0:
      return { root: setAt(root, path, rng.pick(NASTY_STRINGS)), what: `string at ${where}` };
    case 1:
      return { root: setAt(root, path, structuredClone(rng.pick(NASTY_VALUES))), what: `value at ${where}` };
    case 2:
      return { root: setAt(root, path, undefined), what: `remove ${where}` };
    case 3: {
      const target = current !== null && typeof current === "object" && !Array.isArray(current) ? path : [];
      const obj = getAt(root, target) as JsonObject;
      obj[`fuzz_${rng.int(1000)}`] = rng.chance(0.3) ? deepNesting(rng) : rng.pick(NASTY_VALUES);
      return { root, what: `unknown field in ${target.join(".") || "<root>"}` };
    }
    case 4:
      if (typeof current === "string" && /^[A-Z]+_[A-Za-z_]+$/.test(current)) {
        return { root: setAt(root, path, `${current.split("_")[0]}_BOGUS${rng.int(100)}`), what: `bogus enum at ${where}` };
      }
      return { root: setAt(root, path, typeof current === "string" ? `${current}\u0000` : "\u0000"), what: `NUL at ${where}` };
    case 5:
      return { root: setAt(root, path, deepNesting(rng)), what: `deep nesting at ${where}` };
    case 6:
      if (Array.isArray(current) && current.length > 0) {
        // a few more elements, never a flood (metadata counts are bounded by another fix)
        return { root: setAt(root, path, [...current, ...current.slice(0, 2)]), what: `grow list ${where}` };
      }
      return { root: setAt(root, path, [current ?? null]), what: `wrap in list ${where}` };
    case 7: {
      // both members of a oneof
      const obj = getAt(root, path.slice(0, -1));
      if (obj && typeof obj === "object" && !Array.isArray(obj)) {
        Object.assign(obj, rng.pick([{ returnCode: {}, sendCode: {} }, { isVerified: true, returnCode: {} }, { currentPassword: "x", verificationCode: "y" }]));
      }
      return { root, what: `two oneof members near ${where}` };
    }
    default:
      return { root: setAt(root, path, typeof current === "string" ? current + "\ud83d" : "\ud83d"), what: `lone surrogate at ${where}` };
  }
}

/** One change to serialized bytes. */
function mutateBytes(rng: Rng, bytes: Buffer): { bytes: Buffer; what: string } {
  if (bytes.length === 0) return { bytes: rng.bytes(1 + rng.int(16)), what: "random bytes" };
  switch (rng.int(7)) {
    case 0:
      return { bytes: bytes.subarray(0, rng.int(bytes.length)), what: "truncated" };
    case 1: {
      const out = Buffer.from(bytes);
      for (let i = 0, n = 1 + rng.int(4); i < n; i++) out[rng.int(out.length)] = rng.int(256);
      return { bytes: out, what: "bytes flipped" };
    }
    case 2: {
      const at = rng.int(bytes.length + 1);
      return { bytes: Buffer.concat([bytes.subarray(0, at), rng.bytes(1 + rng.int(8)), bytes.subarray(at)]), what: "bytes inserted" };
    }
    case 3:
      return { bytes: rng.bytes(rng.int(64)), what: "random body" };
    case 4:
      return { bytes: Buffer.concat([bytes, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])]), what: "illegal tag appended" };
    case 5:
      return { bytes: Buffer.concat([bytes, Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])]), what: "overlong varint appended" };
    default:
      return { bytes: Buffer.concat([bytes, Buffer.from([0xed, 0xa0, 0x80, 0xc3, 0x28, 0xff])]), what: "invalid UTF-8 appended" };
  }
}

// ---------- protocols ----------

type Family = "rest" | "connect" | "grpc" | "grpc-web";
export type Protocol = "rest" | "connect-json" | "connect-binary" | "grpc-web" | "grpc";
export const FUZZ_PROTOCOLS: Protocol[] = ["rest", "connect-json", "connect-binary", "grpc-web", "grpc"];

interface Planned {
  protocol: Protocol;
  rpc: string;
  http2: boolean;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** How the request differs from a valid one. */
  mutations: string[];
}

function familyOfContentType(type: string): Family {
  const t = type.toLowerCase();
  if (t.startsWith("application/grpc-web")) return "grpc-web";
  if (t.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/** Binary bytes of a JSON value when it still is a valid message, else of the seed. */
function binaryOf(schema: DescMessage, json: JsonValue, seed: JsonObject): { bytes: Buffer; valid: boolean } {
  try {
    return { bytes: Buffer.from(toBinary(schema, fromJson(schema, json))), valid: true };
  } catch {
    return { bytes: Buffer.from(toBinary(schema, fromJson(schema, seed))), valid: false };
  }
}

const PRINTABLE_JUNK = ["x", "Bearer", "Bearer ", "Bearer roster_pat_nope", "Basic YTpi", "Bearer a.b.c"];

/** Builds request `index` of a run. */
export function planRequest(seed: number, index: number, t: FuzzTarget, protocol?: Protocol): Planned {
  const rng = new Rng(prng(requestSeed(seed, index)));
  const rpc = rng.pick(RPCS);
  const chosen = protocol ?? rng.pick(FUZZ_PROTOCOLS);
  const seedJson = rpc.seed(rng, t);
  const mutations: string[] = [];

  // 1. the message, as JSON
  let json: JsonValue = structuredClone(seedJson);
  const structural = rng.chance(0.55);
  if (structural) {
    for (let i = 0, n = 1 + rng.int(3); i < n; i++) {
      const m = mutateJson(rng, (typeof json === "object" && json !== null && !Array.isArray(json) ? json : {}) as JsonObject);
      json = m.root;
      mutations.push(m.what);
    }
  }

  // 2. headers
  const headers: Record<string, string> = { authorization: `Bearer ${t.adminToken}` };
  if (rng.chance(0.12)) {
    const which = rng.int(5);
    if (which === 0) delete headers.authorization;
    else if (which === 1) headers.authorization = rng.pick(PRINTABLE_JUNK);
    else if (which === 2) headers.authorization = `Bearer ${t.userToken}`;
    else if (which === 3) headers["x-zitadel-orgid"] = rng.pick(["nope", t.orgId, "1".repeat(300), "instance"]);
    else headers["if-match"] = rng.pick(['"1"', "W/x", '"99999999999999999999"', "*"]);
    mutations.push(`header ${which}`);
  }

  const rpcPath = `/${rpc.service}/${rpc.name}`;
  const byteMutation = !structural && rng.chance(0.45);
  const mutateBody = (bytes: Buffer): Buffer => {
    if (!byteMutation) return bytes;
    const m = mutateBytes(rng, bytes);
    mutations.push(m.what);
    return m.bytes;
  };
  const jsonText = (): Buffer => Buffer.from(JSON.stringify(json));

  let planned: Planned;
  switch (chosen) {
    case "rest": {
      const body = rpc.rest.method === "GET" ? undefined : mutateBody(jsonText());
      let path = rpc.rest.path(typeof json === "object" && json !== null && !Array.isArray(json) ? (json as JsonObject) : seedJson);
      if (rng.chance(0.05)) {
        path = path.replace(/\/v2\/users\/[^/]*/, `/v2/users/${rng.pick(["%00", "%ZZ", "%ED%A0%80", "%F0%9F%98%80", "..", "a%2Fb"])}`);
        mutations.push("path id");
      }
      planned = { protocol: chosen, rpc: rpc.name, http2: rng.chance(0.3), method: rpc.rest.method, path, headers: { ...headers, "content-type": "application/json" }, body, mutations };
      break;
    }
    case "connect-json": {
      const encoded = mutateBody(jsonText());
      const gzip = rng.chance(0.08);
      if (gzip) mutations.push("gzip");
      planned = {
        protocol: chosen,
        rpc: rpc.name,
        http2: rng.chance(0.5),
        method: "POST",
        path: rpcPath,
        headers: { ...headers, "content-type": "application/json", ...(gzip ? { "content-encoding": "gzip" } : {}) },
        body: gzip ? gzipSync(encoded) : encoded,
        mutations,
      };
      break;
    }
    case "connect-binary": {
      const { bytes, valid } = binaryOf(rpc.schema, json, seedJson);
      if (!valid) mutations.push("(JSON mutation not representable, seed bytes)");
      const encoded = mutateBody(bytes);
      const gzip = rng.chance(0.1);
      const lieAboutGzip = gzip && rng.chance(0.3);
      if (gzip) mutations.push(lieAboutGzip ? "content-encoding gzip, plain body" : "gzip");
      planned = {
        protocol: chosen,
        rpc: rpc.name,
        http2: rng.chance(0.5),
        method: "POST",
        path: rpcPath,
        headers: { ...headers, "content-type": "application/proto", ...(gzip ? { "content-encoding": "gzip" } : {}) },
        body: gzip && !lieAboutGzip ? gzipSync(encoded) : encoded,
        mutations,
      };
      break;
    }
    case "grpc-web":
    case "grpc": {
      const jsonCodec = rng.chance(0.25);
      const message = jsonCodec ? mutateBody(jsonText()) : mutateBody(binaryOf(rpc.schema, json, seedJson).bytes);
      let flags = 0;
      let payload = message;
      const extra: Record<string, string> = {};
      const framing = rng.chance(0.15) ? rng.int(5) : -1;
      if (framing === 0) {
        flags = 1;
        payload = gzipSync(message);
        extra["grpc-encoding"] = "gzip";
        mutations.push("gzip frame");
      } else if (framing === 1) {
        flags = 1;
        mutations.push("compressed flag without grpc-encoding");
      } else if (framing === 2) {
        flags = 1;
        extra["grpc-encoding"] = "gzip";
        mutations.push("compressed flag, body not gzip");
      }
      let body = grpcFrame(payload, flags);
      if (framing === 3) {
        body = body.subarray(0, Math.max(1, rng.int(body.length)));
        mutations.push("frame cut short");
      } else if (framing === 4) {
        body = Buffer.concat([body, grpcFrame(message)]);
        mutations.push("two frames");
      }
      if (rng.chance(0.04)) {
        extra["grpc-timeout"] = rng.pick(["1n", "garbage", "99999999999H", "0m"]);
        mutations.push(`grpc-timeout ${extra["grpc-timeout"]}`);
      }
      const web = chosen === "grpc-web";
      let contentType = web ? (jsonCodec ? "application/grpc-web+json" : "application/grpc-web+proto") : jsonCodec ? "application/grpc+json" : "application/grpc";
      if (rng.chance(0.04)) {
        contentType = rng.pick(["application/grpc+xml", "text/plain", "application/grpc-web+thrift", "application/json"]);
        mutations.push(`content-type ${contentType}`);
      }
      planned = {
        protocol: chosen,
        rpc: rpc.name,
        http2: web ? rng.chance(0.3) : true,
        method: "POST",
        path: rpcPath,
        headers: { ...headers, ...extra, "content-type": contentType, ...(web ? { "x-grpc-web": "1" } : { te: "trailers" }) },
        body,
        mutations,
      };
      break;
    }
  }
  if (rng.chance(0.02) && planned.protocol !== "rest") {
    planned.method = rng.pick(["GET", "PUT", "DELETE"]);
    planned.mutations.push(`method ${planned.method}`);
  }
  return planned;
}

// ---------- checking an answer ----------

const BAD_GRPC_CODES = new Set([2, 13]);

/** What is wrong with the answer to `p`; empty when it is fine. */
export function problemsOf(p: Planned, reply: RawReply): string[] {
  if (reply.failure) return [`no complete answer: ${reply.failure}`];
  const problems: string[] = [];
  if (reply.status >= 500) problems.push(`HTTP ${reply.status}`);
  const family: Family = p.protocol === "rest" ? "rest" : familyOfContentType(p.headers["content-type"] ?? "");
  switch (family) {
    case "rest":
      if (reply.status !== 200) {
        problems.push(...restErrorProblems(reply.status, reply.headers, reply.body));
        const code = safeJson(reply.body)?.code;
        if (BAD_GRPC_CODES.has(code as number)) problems.push(`code ${String(code)}`);
      }
      break;
    case "connect":
      if (reply.status !== 200) {
        problems.push(...connectErrorProblems(reply.status, reply.headers, reply.body));
        const code = safeJson(reply.body)?.code;
        if (code === "internal" || code === "unknown") problems.push(`code ${String(code)}`);
      }
      break;
    case "grpc":
    case "grpc-web": {
      const status = family === "grpc" ? grpcStatusOf(reply) : grpcWebStatusOf(reply);
      problems.push(...grpcStatusProblems(status));
      if (status.code !== undefined && BAD_GRPC_CODES.has(status.code)) problems.push(`grpc-status ${status.code}: ${status.message}`);
      break;
    }
  }
  return problems;
}

function safeJson(body: Buffer): Record<string, unknown> | undefined {
  try {
    return JSON.parse(body.toString("utf8")) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

// ---------- running ----------

export interface FuzzFailure {
  index: number;
  protocol: Protocol;
  rpc: string;
  mutations: string[];
  problems: string[];
  status: number;
  body: string;
}

export interface FuzzRun {
  seed: number;
  requests: number;
  failures: FuzzFailure[];
  /** Answers per protocol and outcome (HTTP status, or grpc-status for gRPC(-web)). */
  outcomes: Record<string, number>;
}

export interface FuzzOptions {
  seed: number;
  requests: number;
  concurrency?: number;
  /** Bound on each request; an answer later than this is a hang. */
  timeoutMs?: number;
  /** Replay only these request indexes. */
  only?: number[];
  onProgress?: (done: number) => void;
}

/** One HTTP/2 session per worker, reconnected when the server closed it. */
class SessionPool {
  private session: http2.ClientHttp2Session | undefined;
  constructor(private readonly port: number) {}
  get(): http2.ClientHttp2Session {
    if (!this.session || this.session.closed || this.session.destroyed) {
      this.session = http2.connect(`http://127.0.0.1:${this.port}`);
      this.session.on("error", () => undefined);
    }
    return this.session;
  }
  close(): void {
    this.session?.destroy();
  }
}

async function send(port: number, p: Planned, timeoutMs: number, sessions: SessionPool): Promise<RawReply> {
  const request = { method: p.method, path: p.path, headers: p.headers, body: p.body, timeoutMs };
  try {
    return p.http2 ? await h2Request(port, request, sessions.get()) : await h1Request(port, request);
  } catch (err) {
    return { status: 0, headers: {}, body: Buffer.alloc(0), trailers: {}, failure: `client error: ${(err as Error).message}` };
  }
}

function outcomeKey(p: Planned, reply: RawReply): string {
  if (reply.failure) return `${p.protocol} failure`;
  if (p.protocol === "grpc" || p.protocol === "grpc-web") {
    const s = p.protocol === "grpc" ? grpcStatusOf(reply) : grpcWebStatusOf(reply);
    return `${p.protocol} grpc-status ${s.code ?? "none"}`;
  }
  return `${p.protocol} HTTP ${reply.status}`;
}

export async function runFuzz(target: FuzzTarget, opts: FuzzOptions): Promise<FuzzRun> {
  checkCorpus(target);
  const concurrency = opts.concurrency ?? 12;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const indexes = opts.only ?? Array.from({ length: opts.requests }, (_, i) => i);
  const failures: FuzzFailure[] = [];
  const outcomes: Record<string, number> = {};
  let next = 0;
  let done = 0;
  const worker = async () => {
    const sessions = new SessionPool(target.port);
    try {
      await work(sessions);
    } finally {
      sessions.close();
    }
  };
  const work = async (sessions: SessionPool) => {
    while (next < indexes.length) {
      const index = indexes[next++]!;
      const protocol = FUZZ_PROTOCOLS[index % FUZZ_PROTOCOLS.length]!;
      let p: Planned;
      try {
        // every protocol gets its share, in turn
        p = planRequest(opts.seed, index, target, protocol);
      } catch (err) {
        failures.push({ index, protocol, rpc: "?", mutations: [], problems: [`the fuzzer could not build the request: ${(err as Error).stack}`], status: 0, body: "" });
        opts.onProgress?.(++done);
        continue;
      }
      const reply = await send(target.port, p, timeoutMs, sessions);
      const key = outcomeKey(p, reply);
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      const problems = problemsOf(p, reply);
      if (problems.length > 0) {
        failures.push({ index, protocol: p.protocol, rpc: p.rpc, mutations: p.mutations, problems, status: reply.status, body: reply.body.toString("latin1").slice(0, 300) });
      }
      opts.onProgress?.(++done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  failures.sort((a, b) => a.index - b.index);
  return { seed: opts.seed, requests: indexes.length, failures, outcomes };
}

/** A failure as one line a person can act on. */
export function describeFailure(seed: number, f: FuzzFailure): string {
  return `request ${f.index} (replay: npm run fuzz -- --seed ${seed} --only ${f.index}): ${f.protocol} ${f.rpc} [${f.mutations.join("; ") || "unmutated"}] → HTTP ${f.status}: ${f.problems.join("; ")} ${JSON.stringify(f.body)}`;
}

