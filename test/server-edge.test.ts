/**
 * The protocol edge through real sockets: gRPC (grpc-js), Connect (JSON and binary, h2 and
 * HTTP/1.1), gRPC-web and REST, against a fake UserService.
 */
import assert from "node:assert/strict";
import http from "node:http";
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
import { ErrorDetailSchema, type ErrorDetail } from "../src/gen/zitadel/message_pb.js";
import { OrganizationService } from "../src/gen/zitadel/org/v2/org_service_pb.js";
import {
  GetUserByIDRequestSchema,
  UpdateHumanUserRequestSchema,
  UpdateHumanUserResponseSchema,
  UserService,
  type GetUserByIDRequest,
  type UpdateHumanUserRequest,
} from "../src/gen/zitadel/user/v2/user_service_pb.js";
import { handOffToHttp1 } from "../src/server/listener.js";
import { startServer, type RunningServer } from "../src/server/server.js";
import { principalOf } from "../src/services/request-context.js";
import { decodeGrpcStatus } from "./support/grpc-status.js";

const ALLOWED_ORIGIN = "https://app.example";
const GOOD = "Bearer good";

function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    port: 0,
    host: "127.0.0.1",
    databaseUrl: undefined,
    database: { connectTimeoutMs: 5000, statementTimeoutMs: 10000, idleInTransactionTimeoutMs: 10000, startupTimeoutMs: 0 },
    dataDir: "/tmp/roster-edge-test",
    logLevel: "info",
    corsOrigins: [],
    jwt: { issuer: undefined, audience: undefined, jwksUrl: undefined, jwksFile: undefined, clockSkewSeconds: 0 },
    firstAdminPatFile: "/tmp/roster-edge-test/pat",
    masterKeyBase64: undefined,
    bcryptCost: 4,
    bcryptMaxImportCost: 14,
    maxRequestBytes: 64 * 1024,
    maxConnections: 1024,
    shutdownGraceSeconds: 25,
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
    const status = decodeGrpcStatus<ErrorDetail>(bin[0] as Buffer, ErrorDetailSchema);
    assert.equal(status.code, 5);
    assert.equal(status.message, "User could not be found (QUERY-Dfbg2)");
    assert.equal(status.details.length, 1);
    assert.equal(status.details[0].typeUrl, "type.googleapis.com/zitadel.v1.ErrorDetail");
    assert.equal(status.details[0].detail?.id, "QUERY-Dfbg2");
    assert.equal(status.details[0].detail?.message, "User could not be found");
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

  test("the email rule takes its place in field order: after earlier fields, before later ones", async () => {
    const emailViolation =
      "invalid UpdateHumanUserRequest.Email: embedded message failed validation | caused by: invalid SetHumanEmail.Email: value must be a valid email address";
    const later = await rest("PUT", "/v2/users/human/u1", JSON.stringify({ email: { email: "not an address" }, phone: { phone: "1".repeat(201) } }));
    assert.equal((later.json as { message: string }).message, emailViolation);
    const nested = await rest("PUT", "/v2/users/human/u1", JSON.stringify({ email: { email: "not an address", sendCode: { urlTemplate: "" } } }));
    assert.equal((nested.json as { message: string }).message, emailViolation);
    const earlier = await rest("PUT", "/v2/users/human/u1", JSON.stringify({ username: "", email: { email: "not an address" } }));
    assert.equal((earlier.json as { message: string }).message, "invalid UpdateHumanUserRequest.Username: value length must be between 1 and 200 runes, inclusive");
    const tooLong = await rest("PUT", "/v2/users/human/u1", JSON.stringify({ email: { email: "a".repeat(201) } }));
    assert.equal(
      (tooLong.json as { message: string }).message,
      "invalid UpdateHumanUserRequest.Email: embedded message failed validation | caused by: invalid SetHumanEmail.Email: value length must be between 1 and 200 runes, inclusive",
    );
    const admins = await rest(
      "POST",
      "/v2/organizations",
      JSON.stringify({
        name: "Acme",
        admins: [
          { human: { profile: { givenName: "A", familyName: "B" }, email: { email: "broken@" } } },
          { human: { profile: { givenName: "", familyName: "B" }, email: { email: "c@example.com" } } },
        ],
      }),
    );
    assert.match((admins.json as { message: string }).message, /^invalid AddOrganizationRequest\.Admins\[0\]: .*SetHumanEmail\.Email: value must be a valid email address$/);
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

// ---------- gRPC-web text mode ----------

interface TextReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  messages: Buffer[];
  /** The trailer frame's entries, or the response headers for a trailers-only response. */
  trailer: Map<string, string>;
}

function grpcWebFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

function parseTextReply(status: number, headers: http.IncomingHttpHeaders, text: string): TextReply {
  assert.match(text, /^[A-Za-z0-9+/]*={0,2}$/, "the response body is one base64 text");
  return { status, headers, text, ...parseFrames(headers, Buffer.from(text, "base64")) };
}

/** The data frames and the status of a gRPC-web response body. */
function parseFrames(headers: http.IncomingHttpHeaders, bytes: Buffer): { messages: Buffer[]; trailer: Map<string, string> } {
  const messages: Buffer[] = [];
  let trailer: Map<string, string> | undefined;
  for (let pos = 0; pos < bytes.length; ) {
    const flags = bytes[pos]!;
    const length = bytes.readUInt32BE(pos + 1);
    const data = bytes.subarray(pos + 5, pos + 5 + length);
    pos += 5 + length;
    if ((flags & 0x80) === 0) {
      assert.equal(trailer, undefined, "no data frame after the trailer frame");
      messages.push(data);
      continue;
    }
    trailer = new Map();
    for (const line of data.toString("latin1").split("\r\n").filter((l) => l !== "")) {
      const colon = line.indexOf(":");
      trailer.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
  }
  if (!trailer) {
    trailer = new Map();
    for (const name of ["grpc-status", "grpc-message", "grpc-status-details-bin"]) {
      const value = headers[name];
      if (typeof value === "string") trailer.set(name, value);
    }
  }
  return { messages, trailer };
}

/** A text-mode call over HTTP/1.1; each body part is written (and base64-padded) separately. */
function grpcWebTextCall(
  method: string,
  parts: Buffer[],
  headers: Record<string, string> = {},
  encode: (part: Buffer) => string = (part) => part.toString("base64"),
): Promise<TextReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: server.port,
        method: "POST",
        path: `/zitadel.user.v2.UserService/${method}`,
        headers: { "content-type": "application/grpc-web-text", "x-grpc-web": "1", authorization: GOOD, ...headers },
      },
      (res) => {
        let text = "";
        res.setEncoding("latin1");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => {
          try {
            resolve(parseTextReply(res.statusCode ?? 0, res.headers, text));
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on("error", reject);
    void (async () => {
      for (const part of parts) {
        req.write(encode(part));
        // let each part leave as its own chunk
        await new Promise((r) => setTimeout(r, 5));
      }
      req.end();
    })();
  });
}

describe("gRPC-web text mode", () => {
  test("base64 request in separately padded chunks; base64 data and trailer frames, etag, CORS, log line", async () => {
    const frame = grpcWebFrame(toBinary(UpdateHumanUserRequestSchema, create(UpdateHumanUserRequestSchema, { userId: "u7", username: "abcdefg" })));
    // split so that each part's base64 carries padding in the middle of the text
    const parts = [frame.subarray(0, 4), frame.subarray(4, 9), frame.subarray(9)];
    const before = logLines.length;
    const r = await grpcWebTextCall("UpdateHumanUser", parts, { origin: ALLOWED_ORIGIN });
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/grpc-web-text+proto");
    assert.equal(r.headers.etag, '"7"');
    assert.equal(r.headers["access-control-allow-origin"], ALLOWED_ORIGIN);
    assert.equal(r.messages.length, 1);
    const res = fromBinary(UpdateHumanUserResponseSchema, r.messages[0]!);
    assert.equal(res.details?.sequence, 7n);
    assert.equal(res.details?.resourceOwner, "u7");
    assert.equal(res.emailCode, "caller-1");
    assert.equal(r.trailer.get("grpc-status"), "0");
    await new Promise((resolve) => setTimeout(resolve, 50));
    const line = logLines.slice(before).find((l) => l.msg === "request");
    assert.equal(line?.protocol, "grpc-web");
    assert.equal(line?.procedure, "/zitadel.user.v2.UserService/UpdateHumanUser");
    assert.equal(line?.code, "ok");
  });

  test("an error: grpc-status, grpc-message and ErrorDetail in the base64 trailer frame", async () => {
    const frame = grpcWebFrame(toBinary(GetUserByIDRequestSchema, create(GetUserByIDRequestSchema, { userId: "x" })));
    const r = await grpcWebTextCall("GetUserByID", [frame], { "content-type": "application/grpc-web-text+proto" });
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/grpc-web-text+proto");
    assert.equal(r.headers.etag, undefined);
    assert.equal(r.messages.length, 0);
    assert.equal(r.trailer.get("grpc-status"), "5");
    assert.equal(decodeURIComponent(r.trailer.get("grpc-message")!), "User could not be found (QUERY-Dfbg2)");
    const status = decodeGrpcStatus<ErrorDetail>(Buffer.from(r.trailer.get("grpc-status-details-bin")!, "base64"), ErrorDetailSchema);
    assert.equal(status.code, 5);
    assert.equal(status.details.length, 1);
    assert.equal(status.details[0]!.detail?.id, "QUERY-Dfbg2");
  });

  test("a refused token: UNAUTHENTICATED", async () => {
    const frame = grpcWebFrame(toBinary(GetUserByIDRequestSchema, create(GetUserByIDRequestSchema, { userId: "x" })));
    const r = await grpcWebTextCall("GetUserByID", [frame], { authorization: "Bearer bad" });
    assert.equal(r.trailer.get("grpc-status"), "16");
    assert.equal(decodeURIComponent(r.trailer.get("grpc-message")!), "Token is invalid (ROSTER-tok01)");
  });

  test("a body that is not base64: INVALID_ARGUMENT, and the handler is not reached", async () => {
    const before = logLines.length;
    const r = await grpcWebTextCall("UpdateHumanUser", [Buffer.from("not base64!")], {}, (part) => part.toString("latin1"));
    assert.equal(r.trailer.get("grpc-status"), "3");
    await new Promise((resolve) => setTimeout(resolve, 50));
    const line = logLines.slice(before).find((l) => l.msg === "request");
    assert.equal(line?.protocol, "grpc-web");
    assert.equal(line?.code, "invalid_argument");
  });

  test("a message over the size limit: RESOURCE_EXHAUSTED", async () => {
    const frame = grpcWebFrame(
      toBinary(UpdateHumanUserRequestSchema, create(UpdateHumanUserRequestSchema, { userId: "u1", username: "x".repeat(70 * 1024) })),
    );
    const r = await grpcWebTextCall("UpdateHumanUser", [frame]);
    assert.equal(r.trailer.get("grpc-status"), "8");
  });

  test("the binary gRPC-web framing is not mistaken for text", async () => {
    const err = await expectConnectError(
      connectClient(createGrpcWebTransport({ baseUrl: base, httpVersion: "1.1" })).getUserByID(
        { userId: "x" },
        { headers: { authorization: GOOD } },
      ),
    );
    assert.equal(err.code, Code.NotFound);
  });
});

// ---------- malformed protobuf (errors.md §7) ----------

/** Field 536870911 with wire type 7: no protobuf decoder accepts it. */
const MALFORMED = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]);
/** `user_id` (field 1) holding a byte that is not UTF-8. */
const BAD_UTF8 = Buffer.from([0x0a, 0x01, 0xff]);
const UPDATE_PATH = "/zitadel.user.v2.UserService/UpdateHumanUser";

function updateBytes(userId: string, username: string): Buffer {
  return Buffer.from(toBinary(UpdateHumanUserRequestSchema, create(UpdateHumanUserRequestSchema, { userId, username })));
}

interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A POST over HTTP/1.1 whose body leaves in two writes, so that it arrives in pieces. */
function rawPost(path: string, contentType: string, body: Buffer, headers: Record<string, string> = { authorization: GOOD }): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port: server.port, method: "POST", path, headers: { "content-type": contentType, ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on("error", reject);
    const half = Math.floor(body.length / 2);
    req.write(body.subarray(0, half));
    setTimeout(() => req.end(body.subarray(half)), 5);
  });
}

/** A gRPC call whose request bytes are sent as they are. */
function grpcRaw(path: string, body: Buffer, metadata: Record<string, string> = { authorization: GOOD }): Promise<{ error?: grpc.ServiceError; response?: Buffer }> {
  const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      md,
      (error, response) => {
        client.close();
        resolve({ error: error ?? undefined, response });
      },
    );
  });
}

/** The log line of the first request logged after `before` for `procedure`. */
async function requestLogLine(before: number, procedure: string): Promise<Record<string, unknown>> {
  for (;;) {
    const line = logLines.slice(before).find((l) => l.msg === "request" && l.procedure === procedure);
    if (line) return line;
    await new Promise((r) => setTimeout(r, 10));
  }
}

function assertInvalidProtobufMessage(message: string | undefined): void {
  assert.match(message ?? "", /^invalid protobuf in request body: /);
}

describe("malformed protobuf: INVALID_ARGUMENT on every protocol", () => {
  test("Connect binary: 400 invalid_argument without id or details, logged as invalid_argument", async () => {
    const before = logLines.length;
    const r = await rawPost(UPDATE_PATH, "application/proto", MALFORMED);
    assert.equal(r.status, 400);
    assert.equal(r.headers["content-type"], "application/json");
    const body = JSON.parse(r.body.toString("utf8")) as { code: string; message: string; details?: unknown };
    assert.equal(body.code, "invalid_argument");
    assertInvalidProtobufMessage(body.message);
    assert.match(body.message, /illegal tag/);
    assert.equal(body.details, undefined);
    const line = await requestLogLine(before, UPDATE_PATH);
    assert.equal(line.protocol, "connect");
    assert.equal(line.code, "invalid_argument");
    assert.equal(line.status, 400);
  });

  test("Connect binary: a valid message still reaches the handler", async () => {
    const r = await rawPost(UPDATE_PATH, "application/proto", updateBytes("u9", "abcdef"));
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/proto");
    const res = fromBinary(UpdateHumanUserResponseSchema, r.body);
    assert.equal(res.details?.sequence, 6n);
    assert.equal(res.details?.resourceOwner, "u9");
  });

  test("Connect binary: invalid UTF-8 in a string field", async () => {
    const r = await rawPost(UPDATE_PATH, "application/proto", BAD_UTF8);
    assert.equal(r.status, 400);
    const body = JSON.parse(r.body.toString("utf8")) as { code: string; message: string };
    assert.equal(body.code, "invalid_argument");
    assertInvalidProtobufMessage(body.message);
  });

  test("decoding comes before authentication and the origin check", async () => {
    const r = await rawPost(UPDATE_PATH, "application/proto", MALFORMED, { origin: "https://evil.example" });
    assert.equal(r.status, 400);
    assert.equal((JSON.parse(r.body.toString("utf8")) as { code: string }).code, "invalid_argument");
  });

  test("gRPC (grpc-js): INVALID_ARGUMENT without details, logged; a valid message still works", async () => {
    const before = logLines.length;
    const bad = await grpcRaw(UPDATE_PATH, MALFORMED);
    assert.equal(bad.error?.code, grpc.status.INVALID_ARGUMENT);
    assertInvalidProtobufMessage(decodeURIComponent(bad.error!.details));
    assert.equal(bad.error!.metadata.get("grpc-status-details-bin").length, 0);
    const line = await requestLogLine(before, UPDATE_PATH);
    assert.equal(line.protocol, "grpc");
    assert.equal(line.code, "invalid_argument");

    const good = await grpcRaw(UPDATE_PATH, updateBytes("u10", "abc"));
    assert.equal(good.error, undefined);
    assert.equal(fromBinary(UpdateHumanUserResponseSchema, good.response!).details?.resourceOwner, "u10");
  });

  test("gRPC-web binary: grpc-status 3 in the trailer frame; a valid message still works", async () => {
    for (const type of ["application/grpc-web+proto", "application/grpc-web"]) {
      const bad = await rawPost(UPDATE_PATH, type, grpcWebFrame(MALFORMED), { authorization: GOOD, "x-grpc-web": "1" });
      assert.equal(bad.status, 200);
      const badReply = parseFrames(bad.headers, bad.body);
      assert.equal(badReply.messages.length, 0);
      assert.equal(badReply.trailer.get("grpc-status"), "3", type);
      assertInvalidProtobufMessage(decodeURIComponent(badReply.trailer.get("grpc-message")!));
      assert.equal(badReply.trailer.get("grpc-status-details-bin"), undefined);

      const good = await rawPost(UPDATE_PATH, type, grpcWebFrame(updateBytes("u11", "ab")), { authorization: GOOD, "x-grpc-web": "1" });
      const goodReply = parseFrames(good.headers, good.body);
      assert.equal(goodReply.trailer.get("grpc-status"), "0");
      assert.equal(fromBinary(UpdateHumanUserResponseSchema, goodReply.messages[0]!).details?.resourceOwner, "u11");
    }
  });

  test("gRPC-web text: grpc-status 3, logged as invalid_argument", async () => {
    const before = logLines.length;
    const frame = grpcWebFrame(MALFORMED);
    const r = await grpcWebTextCall("UpdateHumanUser", [frame.subarray(0, 3), frame.subarray(3)]);
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/grpc-web-text+proto");
    assert.equal(r.trailer.get("grpc-status"), "3");
    assertInvalidProtobufMessage(decodeURIComponent(r.trailer.get("grpc-message")!));
    const line = await requestLogLine(before, UPDATE_PATH);
    assert.equal(line.protocol, "grpc-web");
    assert.equal(line.code, "invalid_argument");
  });

  test("a body over the size limit is still refused by the size limit", async () => {
    const big = updateBytes("u1", "x".repeat(70 * 1024));
    const json = await rawPost(UPDATE_PATH, "application/json", Buffer.from(JSON.stringify({ userId: "u1", username: "x".repeat(70 * 1024) })));
    assert.equal(json.status, 429);
    const connect = await rawPost(UPDATE_PATH, "application/proto", big);
    assert.equal(connect.status, 429);
    assert.equal((JSON.parse(connect.body.toString("utf8")) as { code: string }).code, "resource_exhausted");
    const web = await rawPost(UPDATE_PATH, "application/grpc-web+proto", grpcWebFrame(big), { authorization: GOOD, "x-grpc-web": "1" });
    assert.equal(parseFrames(web.headers, web.body).trailer.get("grpc-status"), "8");
  });

  test("unknown procedure with a binary body: Connect 404, gRPC UNIMPLEMENTED", async () => {
    const connect = await rawPost("/zitadel.user.v2.UserService/NoSuchMethod", "application/proto", MALFORMED);
    assert.equal(connect.status, 404);
    const g = await grpcRaw("/zitadel.user.v2.UserService/NoSuchMethod", MALFORMED);
    assert.equal(g.error?.code, grpc.status.UNIMPLEMENTED);
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

  test("HTTP/1.1 hand-off: the peeked bytes are parsed before the event loop reads on", async () => {
    // http.Server parses from the native handle; bytes left in the stream buffer would wait for
    // a later tick, and a read arriving in between would overtake them.
    const h1 = http.createServer((req, res) => res.end(`served ${req.url}`));
    const parsedAtHandOff: string[][] = [];
    const tcp = net.createServer((socket) => {
      socket.once("data", (chunk: Buffer) => {
        const urls: string[] = [];
        h1.on("request", (req: http.IncomingMessage) => urls.push(req.url ?? ""));
        handOffToHttp1(h1, socket, chunk);
        parsedAtHandOff.push([...urls]);
      });
    });
    await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", () => resolve()));
    const client = net.connect((tcp.address() as net.AddressInfo).port, "127.0.0.1");
    try {
      let received = "";
      client.on("data", (d: Buffer) => (received += d.toString("latin1")));
      const until = async (pattern: RegExp) => {
        while (!pattern.test(received)) await new Promise((r) => setTimeout(r, 5));
      };
      client.write("GET /first HTTP/1.1\r\nHost: x\r\n\r\n");
      await until(/served \/first/);
      assert.deepEqual(parsedAtHandOff, [["/first"]], "the first request was parsed during the hand-off");
      // later bytes arrive through the native handle, after the peeked ones
      client.write("GET /sec");
      await new Promise((r) => setTimeout(r, 20));
      client.write("ond HTTP/1.1\r\nHost: x\r\n\r\n");
      await until(/served \/second/);
    } finally {
      client.destroy();
      h1.closeAllConnections();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    }
  });

  test("HTTP/1.1 over raw sockets: pieces with gaps, pipelining, bodies over several reads, many connections", { timeout: 60_000 }, async () => {
    const request = (id: string, padding: number) => {
      const body = JSON.stringify({ username: id, pad: "x".repeat(padding) });
      return `PUT /v2/users/human/${id} HTTP/1.1\r\nHost: x\r\nAuthorization: ${GOOD}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    };
    const connection = (n: number): Promise<string> =>
      new Promise((resolve, reject) => {
        const ids = [`p${n}a`, `p${n}bb`];
        // the first of each pair is small, the second spans several reads
        const wire = Buffer.from(request(ids[0]!, 10) + request(ids[1]!, 40_000));
        const socket = net.connect(server.port, "127.0.0.1");
        let received = "";
        socket.on("data", (d: Buffer) => {
          received += d.toString("latin1");
          if ((received.match(/HTTP\/1\.1 /g) ?? []).length === 2 && received.includes(`"resourceOwner":"${ids[1]}"`)) {
            socket.destroy();
            resolve(received);
          }
        });
        socket.on("error", reject);
        socket.on("close", () => resolve(received));
        socket.on("connect", async () => {
          // first bytes in pieces (some shorter than the HTTP/2 preface), then the rest at once
          let offset = 0;
          for (const size of [1, 2, 5, 17, 40, 300]) {
            socket.write(wire.subarray(offset, offset + size));
            offset += size;
            await new Promise((r) => (n % 2 === 0 ? setImmediate(r) : setTimeout(r, 1)));
          }
          socket.write(wire.subarray(offset));
        });
      });
    const replies = await Promise.all(Array.from({ length: 60 }, (_, n) => connection(n)));
    for (const [n, reply] of replies.entries()) {
      const statuses = reply.match(/HTTP\/1\.1 \d+/g) ?? [];
      assert.deepEqual(statuses, ["HTTP/1.1 200", "HTTP/1.1 200"], `connection ${n}: ${reply.slice(0, 80)}`);
      assert.ok(reply.includes(`"resourceOwner":"p${n}a"`) && reply.includes(`"resourceOwner":"p${n}bb"`), `connection ${n}`);
    }
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
