/**
 * The protocol edge through real sockets: gRPC (grpc-js), Connect (JSON and binary, h2 and
 * HTTP/1.1), gRPC-web and REST, against a fake UserService.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { create, fromBinary, toBinary, type DescMessage, type DescMethodUnary, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type HandlerContext, type ServiceImpl, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import pino from "pino";
import type { Config } from "../src/config/config.js";
import { DomainError, Errors } from "../src/domain/errors.js";
import type { Principal } from "../src/domain/principal.js";
import { ErrorDetailSchema } from "../src/gen/zitadel/message_pb.js";
import { OrganizationService } from "../src/gen/zitadel/org/v2/org_service_pb.js";
import {
  UserService,
  type GetUserByIDRequest,
  type UpdateHumanUserRequest,
} from "../src/gen/zitadel/user/v2/user_service_pb.js";
import { startServer, type RunningServer } from "../src/server/server.js";
import { principalOf } from "../src/services/request-context.js";
import { decodeGrpcStatus } from "./support/edge-grpc-status.js";

const ALLOWED_ORIGIN = "https://app.example";
const GOOD = "Bearer good";

function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    port: 0,
    host: "127.0.0.1",
    databaseUrl: undefined,
    dataDir: "/tmp/roster-edge-test",
    logLevel: "info",
    corsOrigins: [],
    jwt: { issuer: undefined, audience: undefined, jwksUrl: undefined, jwksFile: undefined, clockSkewSeconds: 0 },
    firstAdminPatFile: "/tmp/roster-edge-test/pat",
    masterKeyBase64: undefined,
    bcryptCost: 4,
    maxRequestBytes: 64 * 1024,
    codes: {
      email: { length: 6, expirySeconds: 600 },
      phone: { length: 6, expirySeconds: 600 },
      passwordReset: { length: 6, expirySeconds: 600 },
    },
    defaultUrlTemplates: { emailVerification: "", passwordReset: "" },
    passwordPolicy: { minLength: 8, hasLowercase: true, hasUppercase: true, hasNumber: true, hasSymbol: true },
    ...overrides,
  };
}

async function authenticate(h: { authorization: string | null; orgId: string | null }): Promise<Principal> {
  if (h.authorization === null) throw Errors.authHeaderMissing();
  if (h.authorization !== GOOD) throw Errors.tokenInvalid();
  if (h.orgId !== null && h.orgId !== "org-1") throw Errors.orgNotExisting();
  return { userId: "caller-1", orgId: "org-1", memberships: [] };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
const lockEntered = deferred();
const lockGate = deferred();

/** Echoes what reached it, so the tests can see what each transport delivered. */
const fakeUserService: Partial<ServiceImpl<typeof UserService>> = {
  async updateHumanUser(req: UpdateHumanUserRequest, ctx: HandlerContext) {
    if (req.username === "boom") throw new Error("kaboom: simulated database outage");
    if (req.username === "stale") throw Errors.sequenceMismatch();
    const sequence = BigInt([...(req.username ?? "")].length);
    ctx.responseHeader.set("etag", `"${sequence}"`);
    return {
      details: { sequence, resourceOwner: req.userId },
      emailCode: principalOf(ctx).userId,
      phoneCode: req.profile?.givenName,
    };
  },
  async lockUser(req) {
    lockEntered.resolve();
    await lockGate.promise;
    return { details: { sequence: 1n, resourceOwner: req.userId } };
  },
  async getUserByID(req: GetUserByIDRequest) {
    throw new DomainError("NotFound", "QUERY-Dfbg2", `User could not be found`, `Errors.User.NotFound:${req.userId}`);
  },
};

const logLines: Array<Record<string, unknown>> = [];
const logger = pino(
  { level: "info" },
  {
    write(line: string) {
      logLines.push(JSON.parse(line) as Record<string, unknown>);
    },
  },
);

let server: RunningServer;
let plain: RunningServer;
let base: string;

before(async () => {
  server = await startServer({
    config: testConfig({ corsOrigins: [ALLOWED_ORIGIN] }),
    logger,
    services: [
      { service: UserService, impl: fakeUserService },
      { service: OrganizationService, impl: {} },
    ],
    authenticate,
    limits: { firstByteTimeoutMs: 300, headersTimeoutMs: 400, timeoutCheckIntervalMs: 100, closeGraceMs: 2000 },
  });
  base = `http://127.0.0.1:${server.port}`;
  plain = await startServer({
    config: testConfig(),
    logger,
    services: [{ service: UserService, impl: fakeUserService }],
    authenticate,
  });
});

after(async () => {
  await server.close();
  await plain.close();
});

// ---------- clients ----------

interface GrpcResult<O extends DescMessage> {
  response?: MessageShape<O>;
  error?: grpc.ServiceError;
  headers?: grpc.Metadata;
}

function grpcCall<I extends DescMessage, O extends DescMessage>(
  method: DescMethodUnary<I, O>,
  input: MessageInitShape<I>,
  metadata: Record<string, string> = { authorization: GOOD },
): Promise<GrpcResult<O>> {
  const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise((resolve) => {
    const result: GrpcResult<O> = {};
    const call = client.makeUnaryRequest(
      `/${method.parent.typeName}/${method.name}`,
      (m: MessageShape<I>) => Buffer.from(toBinary(method.input, m)),
      (b: Buffer) => fromBinary(method.output, b),
      create(method.input, input),
      md,
      (error, response) => {
        client.close();
        resolve({ ...result, error: error ?? undefined, response });
      },
    );
    call.on("metadata", (headers) => (result.headers = headers));
  });
}

function connectClient(transport: Transport) {
  return createClient(UserService, transport);
}

const transports: Array<[string, () => Transport]> = [
  ["connect json h2", () => createConnectTransport({ baseUrl: base, httpVersion: "2" })],
  ["connect binary h2", () => createConnectTransport({ baseUrl: base, httpVersion: "2", useBinaryFormat: true })],
  ["connect json http/1.1", () => createConnectTransport({ baseUrl: base, httpVersion: "1.1" })],
  ["connect binary http/1.1", () => createConnectTransport({ baseUrl: base, httpVersion: "1.1", useBinaryFormat: true })],
  ["grpc-web http/1.1", () => createGrpcWebTransport({ baseUrl: base, httpVersion: "1.1" })],
  ["grpc-web h2", () => createGrpcWebTransport({ baseUrl: base, httpVersion: "2" })],
];

async function rest(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: GOOD, "content-type": "application/json", ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

async function expectConnectError(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  assert.fail("expected the call to fail");
}

// ---------- success on every transport ----------

describe("success", () => {
  test("gRPC (grpc-js): response, etag header, principal in context", async () => {
    const r = await grpcCall(UserService.method.updateHumanUser, { userId: "u1", username: "abcd" });
    assert.equal(r.error, undefined);
    assert.equal(r.response?.details?.sequence, 4n);
    assert.equal(r.response?.details?.resourceOwner, "u1");
    assert.equal(r.response?.emailCode, "caller-1");
    assert.deepEqual(r.headers?.get("etag"), ['"4"']);
  });

  for (const [name, make] of transports) {
    test(`${name}: response and etag header`, async () => {
      let etag: string | null = null;
      const res = await connectClient(make()).updateHumanUser(
        { userId: "u2", username: "abc", profile: { givenName: "Ann", familyName: "Lee" } },
        { headers: { authorization: GOOD }, onHeader: (h) => (etag = h.get("etag")) },
      );
      assert.equal(res.details?.sequence, 3n);
      assert.equal(res.details?.resourceOwner, "u2");
      assert.equal(res.phoneCode, "Ann");
      assert.equal(etag, '"3"');
    });
  }

  test("REST: 200 JSON without defaults, ETag header", async () => {
    const r = await rest("PUT", "/v2/users/human/u3", JSON.stringify({ username: "abcde" }));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "application/json");
    assert.equal(r.headers.get("etag"), '"5"');
    assert.deepEqual(r.json, { details: { sequence: "5", resourceOwner: "u3" }, emailCode: "caller-1" });
  });
});

// ---------- error shapes ----------

describe("error shape", () => {
  test("gRPC: status, grpc-message, grpc-status-details-bin with one ErrorDetail", async () => {
    const r = await grpcCall(UserService.method.getUserByID, { userId: "x" });
    assert.equal(r.error?.code, grpc.status.NOT_FOUND);
    assert.equal(decodeURIComponent(r.error!.details), "User could not be found (QUERY-Dfbg2)");
    const bin = r.error!.metadata.get("grpc-status-details-bin");
    assert.equal(bin.length, 1);
    const status = decodeGrpcStatus(bin[0] as Buffer);
    assert.equal(status.code, 5);
    assert.equal(status.message, "User could not be found (QUERY-Dfbg2)");
    assert.equal(status.details.length, 1);
    assert.equal(status.details[0].typeUrl, "type.googleapis.com/zitadel.v1.ErrorDetail");
    assert.equal(status.details[0].errorDetail?.id, "QUERY-Dfbg2");
    assert.equal(status.details[0].errorDetail?.message, "User could not be found");
  });

  for (const [name, make] of transports) {
    test(`${name}: code, message and ErrorDetail`, async () => {
      const err = await expectConnectError(
        connectClient(make()).getUserByID({ userId: "x" }, { headers: { authorization: GOOD } }),
      );
      assert.equal(err.code, Code.NotFound);
      assert.equal(err.rawMessage, "User could not be found (QUERY-Dfbg2)");
      const details = err.findDetails(ErrorDetailSchema);
      assert.equal(details.length, 1);
      assert.equal(details[0].id, "QUERY-Dfbg2");
      assert.equal(details[0].message, "User could not be found");
    });
  }

  test("Connect JSON body on the wire", async () => {
    const res = await fetch(`${base}/zitadel.user.v2.UserService/GetUserByID`, {
      method: "POST",
      headers: { authorization: GOOD, "content-type": "application/json" },
      body: JSON.stringify({ userId: "x" }),
    });
    assert.equal(res.status, 404);
    const body = (await res.json()) as { code: string; message: string; details: Array<{ type: string; value: string }> };
    assert.equal(body.code, "not_found");
    assert.equal(body.message, "User could not be found (QUERY-Dfbg2)");
    assert.equal(body.details.length, 1);
    assert.equal(body.details[0].type, "zitadel.v1.ErrorDetail");
    const detail = fromBinary(ErrorDetailSchema, Buffer.from(body.details[0].value, "base64"));
    assert.deepEqual([detail.id, detail.message], ["QUERY-Dfbg2", "User could not be found"]);
  });

  test("REST body exactly as errors.md §4; GET /v2/users/human is GetUserByID", async () => {
    const r = await rest("GET", "/v2/users/human");
    assert.equal(r.status, 404);
    assert.equal(r.headers.get("content-type"), "application/json");
    assert.equal(r.headers.get("etag"), null);
    assert.deepEqual(r.json, {
      code: 5,
      message: "User could not be found (QUERY-Dfbg2)",
      details: [{ "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id: "QUERY-Dfbg2", message: "User could not be found" }],
    });
  });

  test("missing authorization: UNAUTHENTICATED without id or details", async () => {
    const r = await rest("GET", "/v2/users/u1", undefined, { authorization: "" });
    // an empty header is refused too; the missing header is the one without an id
    assert.equal(r.status, 401);
    const res = await fetch(`${base}/v2/users/u1`);
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { code: 16, message: "auth header missing" });
    const g = await grpcCall(UserService.method.getUserByID, { userId: "u1" }, {});
    assert.equal(g.error?.code, grpc.status.UNAUTHENTICATED);
    assert.equal(g.error?.details, "auth header missing");
  });

  test("x-zitadel-orgid naming no organization: PERMISSION_DENIED AUTH-Bs7Ds", async () => {
    const r = await rest("PUT", "/v2/users/human/u1", "{}", { "x-zitadel-orgid": "nope" });
    assert.equal(r.status, 403);
    assert.equal((r.json as { message: string }).message, "Organisation doesn't exist (AUTH-Bs7Ds)");
  });

  test("if-match mismatch: 412 on REST, FAILED_PRECONDITION elsewhere", async () => {
    const r = await rest("PUT", "/v2/users/human/u1", JSON.stringify({ username: "stale" }), { "if-match": '"1"' });
    assert.equal(r.status, 412);
    assert.deepEqual(r.json, {
      code: 9,
      message: "User has been changed since the given sequence (ROSTER-seq01)",
      details: [
        {
          "@type": "type.googleapis.com/zitadel.v1.ErrorDetail",
          id: "ROSTER-seq01",
          message: "User has been changed since the given sequence",
        },
      ],
    });
    const res = await fetch(`${base}/zitadel.user.v2.UserService/UpdateHumanUser`, {
      method: "POST",
      headers: { authorization: GOOD, "content-type": "application/json" },
      body: JSON.stringify({ userId: "u1", username: "stale" }),
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { code: string }).code, "failed_precondition");
    const g = await grpcCall(UserService.method.updateHumanUser, { userId: "u1", username: "stale" });
    assert.equal(g.error?.code, grpc.status.FAILED_PRECONDITION);
  });

  test("a method without implementation answers UNIMPLEMENTED", async () => {
    const r = await rest("DELETE", "/v2/users/u1");
    assert.equal(r.status, 501);
    assert.equal((r.json as { code: number }).code, 12);
    const g = await grpcCall(UserService.method.deleteUser, { userId: "u1" });
    assert.equal(g.error?.code, grpc.status.UNIMPLEMENTED);
  });

  test("a non-domain error is INTERNAL ROSTER-int01, logged, and the server keeps serving", async () => {
    const r = await rest("PUT", "/v2/users/human/u1", JSON.stringify({ username: "boom" }));
    assert.equal(r.status, 500);
    assert.deepEqual(r.json, {
      code: 13,
      message: "An internal error occurred (ROSTER-int01)",
      details: [{ "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id: "ROSTER-int01", message: "An internal error occurred" }],
    });
    assert.ok(!r.text.includes("kaboom"));
    const g = await grpcCall(UserService.method.updateHumanUser, { userId: "u1", username: "boom" });
    assert.equal(g.error?.code, grpc.status.INTERNAL);
    assert.equal(g.error?.details, "An internal error occurred (ROSTER-int01)");
    const logged = logLines.find((l) => l.level === 50 && JSON.stringify(l).includes("kaboom"));
    assert.ok(logged, "the cause is logged at error level");
    const again = await rest("PUT", "/v2/users/human/u1", JSON.stringify({ username: "ok" }));
    assert.equal(again.status, 200);
  });
});

// ---------- field violations ----------

describe("field violations", () => {
  test("top-level field", async () => {
    const r = await rest("PUT", "/v2/users/human/u1", JSON.stringify({ username: "" }));
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, {
      code: 3,
      message: "invalid UpdateHumanUserRequest.Username: value length must be between 1 and 200 runes, inclusive",
    });
  });

  test("nested field, on gRPC", async () => {
    const g = await grpcCall(UserService.method.updateHumanUser, {
      userId: "u1",
      profile: { givenName: "", familyName: "Lee" },
    });
    assert.equal(g.error?.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(
      decodeURIComponent(g.error!.details),
      "invalid UpdateHumanUserRequest.Profile: embedded message failed validation | caused by: invalid SetHumanProfile.GivenName: value length must be between 1 and 200 runes, inclusive",
    );
    assert.equal(g.error!.metadata.get("grpc-status-details-bin").length, 0);
  });

  test("max length only", async () => {
    const r = await rest(
      "PUT",
      "/v2/users/human/u1",
      JSON.stringify({ profile: { givenName: "A", familyName: "B", preferredLanguage: "x".repeat(11) } }),
    );
    assert.equal(
      (r.json as { message: string }).message,
      "invalid UpdateHumanUserRequest.Profile: embedded message failed validation | caused by: invalid SetHumanProfile.PreferredLanguage: value length must be at most 10 runes",
    );
  });

  test("repeated field with required oneof", async () => {
    const err = await expectConnectError(
      connectClient(createConnectTransport({ baseUrl: base, httpVersion: "1.1" })).listUsers(
        { queries: [{}] },
        { headers: { authorization: GOOD } },
      ),
    );
    assert.equal(err.code, Code.InvalidArgument);
    assert.equal(
      err.rawMessage,
      "invalid ListUsersRequest.Queries[0]: embedded message failed validation | caused by: invalid SearchQuery.Query: value is required",
    );
    assert.equal(err.details.length, 0);
  });

  test("enum defined only, inside a oneof member of a list element", async () => {
    const r = await rest("POST", "/v2/users", JSON.stringify({ queries: [{ stateQuery: { state: 99 } }] }));
    assert.equal(r.status, 400);
    assert.equal(
      (r.json as { message: string }).message,
      "invalid ListUsersRequest.Queries[0]: embedded message failed validation | caused by: invalid SearchQuery.StateQuery: embedded message failed validation | caused by: invalid StateQuery.State: value must be one of the defined enum values",
    );
  });

  test("bool const true", async () => {
    const r = await rest("PUT", "/v2/users/human/u1", JSON.stringify({ phone: { phone: "", isVerified: false } }));
    assert.equal(
      (r.json as { message: string }).message,
      "invalid UpdateHumanUserRequest.Phone: embedded message failed validation | caused by: invalid SetHumanPhone.IsVerified: value must equal true",
    );
  });

  test("email rule in code, wherever SetHumanEmail is nested", async () => {
    const r = await rest("PUT", "/v2/users/human/u1", JSON.stringify({ email: { email: "not an address" } }));
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, {
      code: 3,
      message:
        "invalid UpdateHumanUserRequest.Email: embedded message failed validation | caused by: invalid SetHumanEmail.Email: value must be a valid email address",
    });
    const org = await rest(
      "POST",
      "/v2/organizations",
      JSON.stringify({
        name: "Acme",
        admins: [
          {
            human: {
              profile: { givenName: "A", familyName: "B" },
              email: { email: "broken@" },
            },
          },
        ],
      }),
    );
    assert.equal(
      (org.json as { message: string }).message,
      "invalid AddOrganizationRequest.Admins[0]: embedded message failed validation | caused by: invalid AddOrganizationRequest_Admin.Human: embedded message failed validation | caused by: invalid AddHumanUserRequest.Email: embedded message failed validation | caused by: invalid SetHumanEmail.Email: value must be a valid email address",
    );
  });

  test("a valid email passes to the handler", async () => {
    const r = await rest("PUT", "/v2/users/human/u1", JSON.stringify({ email: { email: "minnie@example.com" } }));
    assert.equal(r.status, 200);
  });
});

// ---------- REST decoding and routing ----------

describe("REST gateway", () => {
  test("malformed JSON, wrong type, unknown enum name: 400 without details", async () => {
    for (const body of ["{", '{"username": 5}', '{"profile": {"givenName": "A", "familyName": "B", "gender": "GENDER_NOPE"}}', "[]"]) {
      const r = await rest("PUT", "/v2/users/human/u1", body);
      assert.equal(r.status, 400, body);
      const json = r.json as { code: number; message: string; details?: unknown };
      assert.equal(json.code, 3);
      assert.equal(typeof json.message, "string");
      assert.equal(json.details, undefined);
    }
  });

  test("unknown route: 404", async () => {
    const r = await rest("GET", "/v2/nothing/here");
    assert.equal(r.status, 404);
    assert.deepEqual(r.json, { code: 5, message: "Not Found" });
  });

  test("known path, other method: 405 with Allow", async () => {
    const r = await rest("PUT", "/v2/users/123", "{}");
    assert.equal(r.status, 405);
    assert.equal(r.headers.get("allow"), "GET, DELETE");
    assert.deepEqual(r.json, { code: 12, message: "Method Not Allowed" });
  });

  test("path parameter overrides the body; percent-decoded", async () => {
    const r = await rest("PUT", "/v2/users/human/a%20b", JSON.stringify({ userId: "zzz", user_id: "yyy", username: "x" }));
    assert.equal(r.status, 200);
    assert.equal((r.json as { details: { resourceOwner: string } }).details.resourceOwner, "a b");
  });

  test("unknown fields ignored, proto names accepted, empty body is the empty message", async () => {
    const r = await rest(
      "PUT",
      "/v2/users/human/u1",
      JSON.stringify({ bogus: 1, user_name: "q", profile: { given_name: "Zoe", family_name: "Q", nope: true } }),
    );
    assert.equal(r.status, 200);
    assert.equal((r.json as { phoneCode: string }).phoneCode, "Zoe");
    const empty = await rest("PUT", "/v2/users/human/u1", "");
    assert.equal(empty.status, 200);
    assert.equal(empty.headers.get("etag"), '"0"');
  });

  test("REST over h2c", async () => {
    const session = http2.connect(base);
    try {
      const req = session.request({ ":method": "GET", ":path": "/v2/users/someone", authorization: GOOD });
      let status = 0;
      let text = "";
      req.on("response", (h) => (status = Number(h[":status"])));
      req.setEncoding("utf8");
      req.on("data", (d: string) => (text += d));
      await new Promise<void>((resolve, reject) => {
        req.once("end", () => resolve());
        req.once("error", reject);
      });
      assert.equal(status, 404);
      assert.equal((JSON.parse(text) as { message: string }).message, "User could not be found (QUERY-Dfbg2)");
    } finally {
      session.close();
    }
  });

  test("unknown procedure: Connect 404, gRPC UNIMPLEMENTED", async () => {
    const res = await fetch(`${base}/zitadel.user.v2.UserService/NoSuchMethod`, {
      method: "POST",
      headers: { authorization: GOOD, "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(res.status, 404);
    const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      client.makeUnaryRequest(
        "/zitadel.user.v2.UserService/NoSuchMethod",
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        (e) => resolve(e),
      ),
    );
    client.close();
    assert.equal(err?.code, grpc.status.UNIMPLEMENTED);
  });

  test("Connect JSON ignores unknown fields too", async () => {
    const res = await fetch(`${base}/zitadel.user.v2.UserService/UpdateHumanUser`, {
      method: "POST",
      headers: { authorization: GOOD, "content-type": "application/json" },
      body: JSON.stringify({ userId: "u1", username: "ab", bogus: true }),
    });
    assert.equal(res.status, 200);
  });

  test("a body over the size limit is refused", async () => {
    const r = await rest("PUT", "/v2/users/human/u1", JSON.stringify({ username: "x".repeat(70 * 1024) }));
    assert.equal(r.status, 429);
    assert.equal((r.json as { code: number }).code, 8);
  });
});

// ---------- CORS ----------

describe("CORS", () => {
  test("preflight for an allowed origin", async () => {
    const res = await fetch(`${base}/v2/users/human/u1`, {
      method: "OPTIONS",
      headers: { origin: ALLOWED_ORIGIN, "access-control-request-method": "PUT", "access-control-request-headers": "if-match" },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), ALLOWED_ORIGIN);
    assert.equal(res.headers.get("access-control-allow-methods"), "GET, POST, PUT, DELETE");
    const allowed = res.headers.get("access-control-allow-headers")!.split(", ");
    for (const h of ["authorization", "x-zitadel-orgid", "if-match", "content-type", "connect-protocol-version", "x-grpc-web"]) {
      assert.ok(allowed.includes(h), h);
    }
  });

  test("actual request from an allowed origin exposes etag", async () => {
    const r = await rest("PUT", "/v2/users/human/u1", JSON.stringify({ username: "ab" }), { origin: ALLOWED_ORIGIN });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("access-control-allow-origin"), ALLOWED_ORIGIN);
    assert.ok(r.headers.get("access-control-expose-headers")!.includes("etag"));
  });

  test("disallowed origin: PERMISSION_DENIED AUTH-DZG21 in each protocol's form", async () => {
    const evil = "https://evil.example";
    const r = await rest("PUT", "/v2/users/human/u1", JSON.stringify({ username: "ab" }), { origin: evil });
    assert.equal(r.status, 403);
    assert.equal((r.json as { message: string }).message, 'This "Origin" is not allowed (AUTH-DZG21)');
    assert.equal(r.headers.get("access-control-allow-origin"), null);
    const err = await expectConnectError(
      connectClient(createConnectTransport({ baseUrl: base, httpVersion: "1.1" })).updateHumanUser(
        { userId: "u1" },
        { headers: { authorization: GOOD, origin: evil } },
      ),
    );
    assert.equal(err.code, Code.PermissionDenied);
    assert.equal(err.findDetails(ErrorDetailSchema)[0]?.id, "AUTH-DZG21");
    const pre = await fetch(`${base}/v2/users/human/u1`, {
      method: "OPTIONS",
      headers: { origin: evil, "access-control-request-method": "PUT" },
    });
    assert.equal(pre.status, 403);
    assert.equal(pre.headers.get("access-control-allow-origin"), null);
  });

  test("without a configured list: no CORS headers, no origin check", async () => {
    const res = await fetch(`http://127.0.0.1:${plain.port}/v2/users/human/u1`, {
      method: "PUT",
      headers: { authorization: GOOD, origin: "https://anything.example" },
      body: "{}",
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("access-control-allow-origin"), null);
  });
});

// ---------- connections ----------

describe("connections", () => {
  test("an HTTP/1.1 socket that never sends is closed", { timeout: 10_000 }, async () => {
    const socket = net.connect(server.port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.once("close", () => resolve());
    });
  });

  test("a socket that stops in the middle of its headers is closed", { timeout: 10_000 }, async () => {
    const socket = net.connect(server.port, "127.0.0.1", () => socket.write("GET /v2/users/u1 HTTP/1.1\r\nHost: x\r\n"));
    let received = "";
    socket.on("data", (d) => (received += d.toString()));
    await new Promise<void>((resolve) => socket.once("close", () => resolve()));
    assert.match(received, /^HTTP\/1\.1 408/);
  });

  test("one log line per request, without headers or bodies", async () => {
    const before = logLines.length;
    await rest("PUT", "/v2/users/human/logged", JSON.stringify({ username: "secret-name" }));
    await new Promise((r) => setTimeout(r, 50));
    const lines = logLines.slice(before).filter((l) => l.msg === "request");
    assert.equal(lines.length, 1);
    assert.equal(lines[0].protocol, "rest");
    assert.equal(lines[0].procedure, "/zitadel.user.v2.UserService/UpdateHumanUser");
    assert.equal(lines[0].code, "ok");
    assert.equal(typeof lines[0].durationMs, "number");
    const text = JSON.stringify(logLines.slice(before));
    assert.ok(!text.includes("good") && !text.includes("secret-name"));
    const g = logLines.length;
    await grpcCall(UserService.method.getUserByID, { userId: "x" });
    await new Promise((r) => setTimeout(r, 50));
    const grpcLine = logLines.slice(g).find((l) => l.msg === "request");
    assert.equal(grpcLine?.protocol, "grpc");
    assert.equal(grpcLine?.code, "not_found");
  });

  test("garbage bytes get a 400 and the server keeps serving", { timeout: 10_000 }, async () => {
    const socket = net.connect(server.port, "127.0.0.1", () => socket.write("\x00\x01\x02 nonsense\r\n\r\n"));
    let received = "";
    socket.on("data", (d) => (received += d.toString()));
    await new Promise<void>((resolve) => socket.once("close", () => resolve()));
    assert.match(received, /^HTTP\/1\.1 400/);
    assert.equal((await rest("PUT", "/v2/users/human/u1", "{}")).status, 200);
  });

  test("close() lets in-flight requests finish and stops accepting", async () => {
    const s = await startServer({
      config: testConfig(),
      logger,
      services: [{ service: UserService, impl: fakeUserService }],
      authenticate,
    });
    const url = `http://127.0.0.1:${s.port}/v2/users/u1/lock`;
    const inFlight = fetch(url, { method: "POST", headers: { authorization: GOOD }, body: "{}" });
    await lockEntered.promise;
    const closed = s.close();
    lockGate.resolve();
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { details: { sequence: "1", resourceOwner: "u1" } });
    await closed;
    await assert.rejects(fetch(url, { method: "POST", headers: { authorization: GOOD }, body: "{}" }));
  });
});
