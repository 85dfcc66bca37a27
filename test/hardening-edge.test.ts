/**
 * Hardening of the protocol edge (issue 10, items 4, 5, 7, 8, 9, 14) against a real Roster on a
 * real database: NUL characters, compressed bodies, unknown enum names, lone surrogates in
 * error texts, half-closed connections, and the shape of errors raised below the RPC layer.
 */
import assert from "node:assert/strict";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { startRoster, type RunningRoster } from "../src/app.js";
import { loadConfig } from "../src/config/load-config.js";
import { AddHumanUserRequestSchema, GetUserByIDRequestSchema, GetUserByIDResponseSchema } from "../src/gen/zitadel/user/v2/user_service_pb.js";
import { connectJsonH1, grpcJsClient, grpcWebConnectNode, type Outcome } from "./support/clients.js";
import { createWorld, rest, type World } from "./support/fixtures.js";
import { openInspector, type Inspector } from "./support/inspect.js";
import {
  connectErrorProblems,
  grpcFrame,
  grpcStatusOf,
  grpcStatusProblems,
  grpcWebStatusOf,
  h1Request,
  h2Request,
  H2,
  parseH1Responses,
  rawH2Request,
  rawSocket,
  restErrorProblems,
  type RawReply,
} from "./support/raw-protocols.js";
import { startTestRoster, type TestRoster } from "./support/roster.js";

/** A second Roster process on the test Roster's database, whose log lines the tests can read. */
let base: TestRoster;
let roster: RunningRoster;
let port: number;
let baseUrl: string;
let inspector: Inspector;
let world: World;
const logLines: Array<Record<string, unknown>> = [];

before(async () => {
  base = await startTestRoster();
  const logger = pino({ level: "info" }, { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) });
  roster = await startRoster(loadConfig({ ...base.env, PORT: "0" }), logger);
  port = roster.port;
  baseUrl = `http://127.0.0.1:${port}`;
  inspector = await openInspector(base.databaseUrl);
  world = await createWorld({ ...base, port, baseUrl });
});

after(async () => {
  await inspector?.close();
  await roster?.close();
  await base?.close();
});

const admin = () => `Bearer ${base.adminToken}`;
const path = (rpc: string) => `/zitadel.user.v2.UserService/${rpc}`;
/** Field 536870911 with wire type 7: no protobuf decoder accepts it. */
const MALFORMED = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]);
const NUL_REASON = "value must not contain NUL characters";

/** No lone surrogate (in a `u` regex a valid pair is one code point). */
function isWellFormed(s: string): boolean {
  return !/\p{Surrogate}/u.test(s);
}

function json(reply: RawReply): Record<string, unknown> {
  return JSON.parse(reply.body.toString("utf8")) as Record<string, unknown>;
}

async function requestLogLine(since: number, procedure: string): Promise<Record<string, unknown>> {
  for (;;) {
    const line = logLines.slice(since).find((l) => l.msg === "request" && l.procedure === procedure);
    if (line) return line;
    await new Promise((r) => setTimeout(r, 10));
  }
}

function assertInvalid(outcome: Outcome, message: string): void {
  assert.equal(outcome.code, grpc.status.INVALID_ARGUMENT, JSON.stringify(outcome));
  assert.equal(outcome.message, message);
  assert.deepEqual(outcome.details, []);
}

async function sequenceOf(userId: string): Promise<number> {
  const user = await inspector.user(userId);
  assert.ok(user);
  return user.sequence;
}

// ---------- item 4: NUL characters ----------

describe("a NUL character in any text is INVALID_ARGUMENT naming the field, before any SQL", () => {
  test("REST: a path id", async () => {
    const r = await rest({ baseUrl }, "GET", "/v2/users/%00", { token: base.adminToken });
    assert.equal(r.status, 400);
    assert.deepEqual(r.body, { code: 3, message: `invalid GetUserByIDRequest.UserId: ${NUL_REASON}` });
    const ok = await rest({ baseUrl }, "GET", `/v2/users/${world.ada.id}`, { token: base.adminToken });
    assert.equal(ok.status, 200);
  });

  test("Connect JSON: a nested profile name; nothing is written", async () => {
    const before = await sequenceOf(world.bob.id);
    const outcome = await connectJsonH1(baseUrl).call(
      "UpdateHumanUser",
      { userId: world.bob.id, profile: { givenName: "Bo\u0000b", familyName: "Builder" } },
      { token: base.adminToken },
    );
    assertInvalid(
      outcome,
      `invalid UpdateHumanUserRequest.Profile: embedded message failed validation | caused by: invalid SetHumanProfile.GivenName: ${NUL_REASON}`,
    );
    assert.equal(await sequenceOf(world.bob.id), before);
  });

  test("gRPC: a metadata key, and an organization id checked before the permission lookup", async () => {
    const grpcClient = grpcJsClient(port);
    const human = { profile: { givenName: "Nul", familyName: "Key" }, email: { email: "nul@example.com", isVerified: true } };
    const metadata = await grpcClient.call(
      "AddHumanUser",
      { ...human, username: "nul-key", metadata: [{ key: "a\u0000b", value: new Uint8Array([1]) }] },
      { token: base.adminToken },
    );
    assertInvalid(
      metadata,
      `invalid AddHumanUserRequest.Metadata[0]: embedded message failed validation | caused by: invalid SetMetadataEntry.Key: ${NUL_REASON}`,
    );
    const org = await grpcClient.call("AddHumanUser", { ...human, username: "nul-org", organization: { org: { case: "orgId", value: "\u0000" } } }, {
      token: world.olga.token,
    });
    assertInvalid(
      org,
      `invalid AddHumanUserRequest.Organization: embedded message failed validation | caused by: invalid Organization.OrgId: ${NUL_REASON}`,
    );
  });

  test("gRPC-web: a password-reset user id", async () => {
    const outcome = await grpcWebConnectNode(baseUrl).call("PasswordReset", { userId: "1\u0000", medium: { case: "returnCode", value: {} } }, { token: base.adminToken });
    assertInvalid(outcome, `invalid PasswordResetRequest.UserId: ${NUL_REASON}`);
  });

  test("a JWT whose subject holds a NUL is an invalid token (ROSTER-tok01)", async () => {
    const token = await base.tokenFor("2\u00003");
    const r = await rest({ baseUrl }, "GET", `/v2/users/${world.ada.id}`, { token });
    assert.equal(r.status, 401);
    assert.equal(r.body.message, "Token is invalid (ROSTER-tok01)");
    const g = await grpcJsClient(port).call("GetUserByID", { userId: world.ada.id }, { token });
    assert.equal(g.code, grpc.status.UNAUTHENTICATED);
    assert.deepEqual(g.details, [{ id: "ROSTER-tok01", message: "Token is invalid" }]);
  });

  test("authentication still comes first", async () => {
    const r = await rest({ baseUrl }, "GET", "/v2/users/%00");
    assert.equal(r.status, 401);
    assert.deepEqual(r.body, { code: 16, message: "auth header missing" });
  });
});

// ---------- item 5: malformed protobuf inside compressed bodies ----------

function getUserBytes(userId: string): Buffer {
  return Buffer.from(toBinary(GetUserByIDRequestSchema, create(GetUserByIDRequestSchema, { userId })));
}

function assertInvalidProtobuf(message: string | undefined): void {
  assert.match(message ?? "", /^invalid protobuf in request body: /);
}

describe("a compressed body that does not decode is INVALID_ARGUMENT on every protocol", () => {
  test("Connect binary with content-encoding gzip or br", async () => {
    for (const [encoding, body] of [["gzip", gzipSync(MALFORMED)], ["br", brotliCompressSync(MALFORMED)]] as const) {
      const r = await h1Request(port, {
        path: path("GetUserByID"),
        headers: { authorization: admin(), "content-type": "application/proto", "content-encoding": encoding },
        body,
      });
      assert.equal(r.status, 400, encoding);
      assert.equal(json(r).code, "invalid_argument");
      assertInvalidProtobuf(json(r).message as string);
      assert.deepEqual(connectErrorProblems(r.status, r.headers, r.body), []);
    }
  });

  test("Connect binary: a body that is not gzip, or gzip cut short", async () => {
    for (const body of [Buffer.from("not gzip at all"), gzipSync(getUserBytes(world.ada.id)).subarray(0, 12)]) {
      const r = await h1Request(port, {
        path: path("GetUserByID"),
        headers: { authorization: admin(), "content-type": "application/proto", "content-encoding": "gzip" },
        body,
      });
      assert.equal(r.status, 400);
      assert.equal(json(r).code, "invalid_argument");
      assert.deepEqual(connectErrorProblems(r.status, r.headers, r.body), []);
    }
  });

  test("gRPC with grpc-encoding gzip; a compressed frame without grpc-encoding", async () => {
    const gz = await h2Request(port, {
      path: path("GetUserByID"),
      headers: { authorization: admin(), "content-type": "application/grpc", "grpc-encoding": "gzip", te: "trailers" },
      body: grpcFrame(gzipSync(MALFORMED), 1),
    });
    const gzStatus = grpcStatusOf(gz);
    assert.equal(gzStatus.code, grpc.status.INVALID_ARGUMENT, JSON.stringify(gzStatus));
    assertInvalidProtobuf(gzStatus.message);
    assert.equal(gzStatus.detailsBin, undefined);

    const bare = await h2Request(port, {
      path: path("GetUserByID"),
      headers: { authorization: admin(), "content-type": "application/grpc", te: "trailers" },
      body: grpcFrame(getUserBytes(world.ada.id), 1),
    });
    const bareStatus = grpcStatusOf(bare);
    assert.equal(bareStatus.code, grpc.status.INVALID_ARGUMENT, JSON.stringify(bareStatus));
    assert.match(bareStatus.message ?? "", /compressed/);
  });

  test("gRPC-web with grpc-encoding gzip", async () => {
    const r = await h1Request(port, {
      path: path("GetUserByID"),
      headers: { authorization: admin(), "content-type": "application/grpc-web+proto", "grpc-encoding": "gzip", "x-grpc-web": "1" },
      body: grpcFrame(gzipSync(MALFORMED), 1),
    });
    const status = grpcWebStatusOf(r);
    assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
    assertInvalidProtobuf(status.message);
  });

  test("an encoding Roster does not support is UNIMPLEMENTED, as before, on Connect and gRPC", async () => {
    for (const type of ["application/proto", "application/json"]) {
      const r = await h1Request(port, {
        path: path("GetUserByID"),
        headers: { authorization: admin(), "content-type": type, "content-encoding": "snappy" },
        body: Buffer.from("{}"),
      });
      assert.equal(r.status, 501, type);
      assert.equal(json(r).code, "unimplemented");
    }
    const g = await h2Request(port, {
      path: path("GetUserByID"),
      headers: { authorization: admin(), "content-type": "application/grpc", "grpc-encoding": "snappy", te: "trailers" },
      body: grpcFrame(getUserBytes(world.ada.id), 1),
    });
    assert.equal(grpcStatusOf(g).code, grpc.status.UNIMPLEMENTED);
  });

  test("valid compressed requests are still served", async () => {
    const connect = await h1Request(port, {
      path: path("GetUserByID"),
      headers: { authorization: admin(), "content-type": "application/proto", "content-encoding": "gzip" },
      body: gzipSync(getUserBytes(world.ada.id)),
    });
    assert.equal(connect.status, 200);
    assert.equal(fromBinary(GetUserByIDResponseSchema, connect.body).user?.userId, world.ada.id);

    const g = await h2Request(port, {
      path: path("GetUserByID"),
      headers: { authorization: admin(), "content-type": "application/grpc", "grpc-encoding": "gzip", te: "trailers" },
      body: grpcFrame(gzipSync(getUserBytes(world.ada.id)), 1),
    });
    const status = grpcStatusOf(g);
    assert.equal(status.code, 0, JSON.stringify(status));
    assert.equal(status.messages.length, 1);
  });

  test("a gzip bomb is refused by the size limit, not decompressed without bound", async () => {
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x41));
    const r = await h1Request(port, {
      path: path("GetUserByID"),
      headers: { authorization: admin(), "content-type": "application/proto", "content-encoding": "gzip" },
      body: bomb,
    });
    assert.equal(r.status, 429);
    assert.equal(json(r).code, "resource_exhausted");
  });
});

// ---------- item 7: unknown enum names ----------

function grpcWebJsonBody(message: unknown): Buffer {
  return grpcFrame(Buffer.from(JSON.stringify(message)));
}

describe("an unknown enum name is INVALID_ARGUMENT on every protocol; unknown fields are ignored", () => {
  const bogusGender = () => ({ userId: world.nora.id, profile: { givenName: "Nora", familyName: "Nobody", gender: "GENDER_XYZ" } });
  const REASON = 'cannot decode enum zitadel.user.v2.Gender from JSON: "GENDER_XYZ"';

  test("Connect JSON: 400, nothing written, same text as REST", async () => {
    const before = await sequenceOf(world.nora.id);
    const connect = await h1Request(port, {
      path: path("UpdateHumanUser"),
      headers: { authorization: admin(), "content-type": "application/json" },
      body: Buffer.from(JSON.stringify(bogusGender())),
    });
    assert.equal(connect.status, 400);
    assert.equal(json(connect).code, "invalid_argument");
    assert.equal(json(connect).message, REASON);
    const { userId, ...body } = bogusGender();
    const r = await rest({ baseUrl }, "PUT", `/v2/users/human/${userId}`, { token: base.adminToken, body });
    assert.equal(r.status, 400);
    assert.equal(r.body.message, REASON);
    assert.equal(await sequenceOf(world.nora.id), before);
  });

  test("gRPC-web JSON and gRPC JSON: a bogus notificationType sends nothing", async () => {
    const request = { userId: world.nora.id, sendLink: { notificationType: "NOTIFICATION_TYPE_BOGUS" } };
    const before = (await inspector.notifications(world.nora.id)).length;
    const web = await h1Request(port, {
      path: path("PasswordReset"),
      headers: { authorization: admin(), "content-type": "application/grpc-web+json", "x-grpc-web": "1" },
      body: grpcWebJsonBody(request),
    });
    const webStatus = grpcWebStatusOf(web);
    assert.equal(webStatus.code, grpc.status.INVALID_ARGUMENT, JSON.stringify(webStatus));
    assert.equal(webStatus.message, 'cannot decode enum zitadel.user.v2.NotificationType from JSON: "NOTIFICATION_TYPE_BOGUS"');
    const g = await h2Request(port, {
      path: path("PasswordReset"),
      headers: { authorization: admin(), "content-type": "application/grpc+json", te: "trailers" },
      body: grpcWebJsonBody(request),
    });
    assert.equal(grpcStatusOf(g).code, grpc.status.INVALID_ARGUMENT);
    assert.equal((await inspector.notifications(world.nora.id)).length, before);
  });

  test("known enum names and unknown fields pass on Connect JSON and gRPC-web JSON", async () => {
    const request = { userId: world.nora.id, profile: { givenName: "Nora", familyName: "Nobody", gender: "GENDER_DIVERSE", bogus: 1 }, bogus: { deep: [1] } };
    const connect = await h1Request(port, {
      path: path("UpdateHumanUser"),
      headers: { authorization: admin(), "content-type": "application/json" },
      body: Buffer.from(JSON.stringify(request)),
    });
    assert.equal(connect.status, 200, connect.body.toString());
    const web = await h1Request(port, {
      path: path("GetUserByID"),
      headers: { authorization: admin(), "content-type": "application/grpc-web+json", "x-grpc-web": "1" },
      body: grpcWebJsonBody({ userId: world.nora.id, unknownField: "x" }),
    });
    const status = grpcWebStatusOf(web);
    assert.equal(status.code, 0, JSON.stringify(status));
    const user = JSON.parse(status.messages[0]!.toString()) as { user: { human: { profile: { gender: string } } } };
    assert.equal(user.user.human.profile.gender, "GENDER_DIVERSE");
  });

  test("gzip-compressed Connect JSON is held to the same rule", async () => {
    const r = await h1Request(port, {
      path: path("UpdateHumanUser"),
      headers: { authorization: admin(), "content-type": "application/json", "content-encoding": "gzip" },
      body: gzipSync(JSON.stringify(bogusGender())),
    });
    assert.equal(r.status, 400);
    assert.equal(json(r).message, REASON);
  });
});

// ---------- item 8: lone surrogates ----------

describe("error texts are well-formed UTF-8; a lone surrogate does not reset the stream", () => {
  /**
   * Not JSON: V8's parser names the unexpected character, here half of the emoji's surrogate
   * pair, and decoders echo that text in their error.
   */
  const notJson = '{"userId": \u{1F600}}';

  test("gRPC-web JSON: a status arrives, its message carries U+FFFD, the log shows it", async () => {
    const since = logLines.length;
    const r = await h1Request(port, {
      path: path("GetUserByID"),
      headers: { authorization: admin(), "content-type": "application/grpc-web+json", "x-grpc-web": "1" },
      body: grpcFrame(Buffer.from(notJson)),
    });
    assert.equal(r.failure, undefined);
    const status = grpcWebStatusOf(r);
    assert.equal(status.code, grpc.status.INVALID_ARGUMENT, JSON.stringify(status));
    assert.ok(status.message?.includes("\ufffd"), status.message);
    assert.deepEqual(grpcStatusProblems(status), []);
    const line = await requestLogLine(since, path("GetUserByID"));
    assert.equal(line.code, "invalid_argument");
  });

  test("gRPC JSON over h2, and an unknown enum name holding a lone surrogate", async () => {
    for (const body of [notJson, JSON.stringify({ userId: world.nora.id, profile: { givenName: "N", familyName: "N", gender: "GENDER_\ud800" } })]) {
      const since = logLines.length;
      const r = await h2Request(port, {
        path: path("UpdateHumanUser"),
        headers: { authorization: admin(), "content-type": "application/grpc+json", te: "trailers" },
        body: grpcFrame(Buffer.from(body)),
      });
      assert.equal(r.failure, undefined);
      const status = grpcStatusOf(r);
      assert.equal(status.code, grpc.status.INVALID_ARGUMENT, JSON.stringify(status));
      assert.deepEqual(grpcStatusProblems(status), []);
      assert.equal((await requestLogLine(since, path("UpdateHumanUser"))).code, "invalid_argument");
    }
  });

  test("Connect JSON and REST: the message holds U+FFFD instead of the lone surrogate", async () => {
    const connect = await h1Request(port, {
      path: path("GetUserByID"),
      headers: { authorization: admin(), "content-type": "application/json" },
      body: Buffer.from(notJson),
    });
    assert.equal(connect.status, 400);
    assert.ok(isWellFormed(json(connect).message as string));
    assert.ok((json(connect).message as string).includes("\ufffd"));
    const r = await rest({ baseUrl }, "PUT", `/v2/users/human/${world.ada.id}`, {
      token: base.adminToken,
      headers: { "content-type": "application/json" },
      rawBody: notJson,
    });
    assert.equal(r.status, 400);
    assert.ok(isWellFormed(r.body.message as string), r.body.message);
    assert.ok((r.body.message as string).includes("\ufffd"));
  });
});

// ---------- item 9: half-closed connections ----------

describe("a request followed by a client half-close is answered", () => {
  test("HTTP/1.1: one request, then two pipelined requests", async () => {
    const get = (id: string) => `GET /v2/users/${id} HTTP/1.1\r\nHost: x\r\nAuthorization: ${admin()}\r\n\r\n`;
    const one = await rawSocket(port, get(world.ada.id), { halfClose: true });
    assert.equal(one.timedOut, false);
    const [reply] = parseH1Responses(one.received);
    assert.equal(reply?.status, 200, one.received.toString("latin1").slice(0, 200));
    assert.equal((JSON.parse(reply!.body) as { user: { userId: string } }).user.userId, world.ada.id);

    const two = await rawSocket(port, get(world.ada.id) + get(world.bob.id), { halfClose: true });
    const replies = parseH1Responses(two.received);
    assert.deepEqual(replies.map((r) => r.status), [200, 200]);
    assert.equal((JSON.parse(replies[1]!.body) as { user: { userId: string } }).user.userId, world.bob.id);
  });

  test("HTTP/1.1: a POST with a body", async () => {
    const body = JSON.stringify({});
    const wire = `POST /v2/users/${world.ada.id}/password_reset HTTP/1.1\r\nHost: x\r\nAuthorization: ${admin()}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const { received } = await rawSocket(port, wire, { halfClose: true });
    const [reply] = parseH1Responses(received);
    assert.ok(reply, "a response arrived");
    assert.notEqual(reply.status, 0);
    assert.ok(reply.body.length > 0);
  });

  test("HTTP/2: the response to a request sent before the half-close", async () => {
    const { frames, timedOut } = await rawH2Request(
      port,
      [[":method", "GET"], [":scheme", "http"], [":path", `/v2/users/${world.ada.id}`], [":authority", "x"], ["authorization", admin()]],
      undefined,
      { halfClose: true },
    );
    assert.equal(timedOut, false);
    const stream = frames.filter((f) => f.streamId === 1);
    assert.ok(stream.some((f) => f.type === H2.HEADERS), "response headers arrived");
    const data = Buffer.concat(stream.filter((f) => f.type === H2.DATA).map((f) => f.payload)).toString("utf8");
    assert.equal((JSON.parse(data) as { user: { userId: string } }).user.userId, world.ada.id);
    assert.ok(stream.some((f) => (f.flags & H2.END_STREAM) !== 0), "the stream ended");
  });

  test("HTTP/2: a request whose body can no longer complete is cancelled and the connection closed", async () => {
    // far below the HTTP/2 idle timeout, which would close it eventually
    const { frames, timedOut } = await rawH2Request(
      port,
      [[":method", "POST"], [":scheme", "http"], [":path", path("GetUserByID")], [":authority", "x"], ["content-type", "application/grpc"], ["te", "trailers"], ["authorization", admin()]],
      Buffer.from([0, 0, 0, 0, 10]),
      { halfClose: true, endStream: false, timeoutMs: 20_000 },
    );
    assert.equal(timedOut, false, "the server closed the connection");
    assert.ok(frames.some((f) => f.type === H2.GOAWAY), "GOAWAY");
  });
});

// ---------- item 14: errors from below the RPC layer ----------

describe("errors raised below the RPC layer have the shape of errors.md", () => {
  test("Connect path, unsupported content type: 415 with a Connect error body", async () => {
    const r = await h1Request(port, { path: path("GetUserByID"), headers: { authorization: admin(), "content-type": "text/plain" }, body: Buffer.from("x") });
    assert.equal(r.status, 415);
    assert.deepEqual(connectErrorProblems(r.status, r.headers, r.body), []);
    assert.deepEqual(json(r), { code: "invalid_argument", message: "Unsupported Media Type" });
  });

  test("Connect path, wrong method: 405 with Allow and a Connect error body", async () => {
    for (const method of ["PUT", "GET", "DELETE"]) {
      const r = await h1Request(port, { method, path: path("GetUserByID"), headers: { authorization: admin(), "content-type": "application/json" } });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, "POST");
      assert.deepEqual(json(r), { code: "unimplemented", message: "Method Not Allowed" });
    }
  });

  test("gRPC with an unsupported codec: 415 with grpc-status", async () => {
    const r = await h2Request(port, { path: path("GetUserByID"), headers: { authorization: admin(), "content-type": "application/grpc+xml", te: "trailers" }, body: grpcFrame(getUserBytes("1")) });
    assert.equal(r.status, 415);
    const status = grpcStatusOf(r);
    assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(status.message, "Unsupported Media Type");
  });

  test("unknown procedure or service: Connect 404 body, gRPC and gRPC-web UNIMPLEMENTED status", async () => {
    for (const p of [path("NoSuchMethod"), "/zitadel.session.v2.SessionService/ListSessions"]) {
      const connect = await h1Request(port, { path: p, headers: { authorization: admin(), "content-type": "application/json" }, body: Buffer.from("{}") });
      assert.equal(connect.status, 404, p);
      assert.deepEqual(json(connect), { code: "unimplemented", message: "Not Found" });

      const g = await h2Request(port, { path: p, headers: { authorization: admin(), "content-type": "application/grpc", te: "trailers" }, body: grpcFrame(Buffer.alloc(0)) });
      assert.equal(g.status, 200, p);
      assert.deepEqual(grpcStatusOf(g).code, grpc.status.UNIMPLEMENTED, p);
      assert.equal(grpcStatusOf(g).message, "Not Found");

      const web = await h1Request(port, { path: p, headers: { authorization: admin(), "content-type": "application/grpc-web+proto", "x-grpc-web": "1" }, body: grpcFrame(Buffer.alloc(0)) });
      assert.equal(grpcWebStatusOf(web).code, grpc.status.UNIMPLEMENTED, p);
    }
  });

  test("Node's HTTP parser: 400 and 431 with a REST error body", async () => {
    const garbage = await rawSocket(port, "\x00\x01 nonsense\r\n\r\n");
    const [bad] = parseH1Responses(garbage.received);
    assert.equal(bad?.status, 400, garbage.received.toString("latin1"));
    assert.deepEqual(restErrorProblems(bad.status, bad.headers, Buffer.from(bad.body)), []);
    assert.deepEqual(JSON.parse(bad.body), { code: 3, message: "Bad Request" });

    const big = await rawSocket(port, `GET /v2/users/1 HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    const [tooLarge] = parseH1Responses(big.received);
    assert.equal(tooLarge?.status, 431);
    assert.deepEqual(JSON.parse(tooLarge.body), { code: 8, message: "Request Header Fields Too Large" });

    const ext = await rawSocket(port, `POST /v2/users HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;${"e".repeat(40_000)}\r\nx\r\n0\r\n\r\n`);
    const [extension] = parseH1Responses(ext.received);
    assert.equal(extension?.status, 413, ext.received.toString("latin1"));
    assert.deepEqual(JSON.parse(extension.body), { code: 8, message: "Payload Too Large" });
  });

  test("a body over the size limit: RESOURCE_EXHAUSTED in each protocol's shape", async () => {
    const huge = "x".repeat(1_100_000);
    const r = await rest({ baseUrl }, "PUT", `/v2/users/human/${world.ada.id}`, { token: base.adminToken, body: { username: huge } });
    assert.equal(r.status, 429);
    assert.equal(r.body.code, 8);
    const connect = await h1Request(port, { path: path("UpdateHumanUser"), headers: { authorization: admin(), "content-type": "application/json" }, body: Buffer.from(JSON.stringify({ userId: "1", username: huge })) });
    assert.equal(connect.status, 429);
    assert.deepEqual(connectErrorProblems(connect.status, connect.headers, connect.body), []);
    const big = Buffer.from(toBinary(AddHumanUserRequestSchema, create(AddHumanUserRequestSchema, { username: huge })));
    const g = await h2Request(port, { path: path("AddHumanUser"), headers: { authorization: admin(), "content-type": "application/grpc", te: "trailers" }, body: grpcFrame(big) });
    assert.equal(grpcStatusOf(g).code, grpc.status.RESOURCE_EXHAUSTED);
    assert.deepEqual(grpcStatusProblems(grpcStatusOf(g)), []);
  });

  test("the request log records the code of each of these answers", async () => {
    const since = logLines.length;
    await h1Request(port, { path: path("GetUserByID"), headers: { authorization: admin(), "content-type": "text/plain" }, body: Buffer.from("x") });
    assert.equal((await requestLogLine(since, path("GetUserByID"))).code, "invalid_argument");
    const again = logLines.length;
    await h2Request(port, { path: path("NoSuchMethod"), headers: { "content-type": "application/grpc", te: "trailers" }, body: grpcFrame(Buffer.alloc(0)) });
    assert.equal((await requestLogLine(again, path("NoSuchMethod"))).code, "unimplemented");
  });

  test("the request log records statuses connect sends before any interceptor runs", async () => {
    const huge = Buffer.from(toBinary(AddHumanUserRequestSchema, create(AddHumanUserRequestSchema, { username: "x".repeat(1_100_000) })));
    const cases: Array<[string, () => Promise<RawReply>, string]> = [
      ["gRPC-web over the size limit", () => h1Request(port, { path: path("AddHumanUser"), headers: { authorization: admin(), "content-type": "application/grpc-web+proto" }, body: grpcFrame(huge) }), "resource_exhausted"],
      ["gRPC without a message", () => h2Request(port, { path: path("AddHumanUser"), headers: { authorization: admin(), "content-type": "application/grpc", te: "trailers" }, body: Buffer.alloc(0) }), "unimplemented"],
      ["Connect in an unknown encoding", () => h1Request(port, { path: path("AddHumanUser"), headers: { authorization: admin(), "content-type": "application/json", "content-encoding": "snappy" }, body: Buffer.from("{}") }), "unimplemented"],
    ];
    for (const [what, call, code] of cases) {
      const since = logLines.length;
      await call();
      assert.equal((await requestLogLine(since, path("AddHumanUser"))).code, code, what);
    }
  });
});
