/**
 * Every protocol end to end against a real Roster on a real database: gRPC through grpc-js with
 * ZITADEL's published descriptors, ZITADEL's own TypeScript client (gRPC and gRPC-web), Connect
 * (JSON over HTTP/1.1, binary over h2), gRPC-web through connect-node, and REST through fetch.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { ErrorDetailSchema } from "@zitadel/proto/zitadel/message_pb.js";
import { UserService as ZitadelUserService } from "@zitadel/proto/zitadel/user/v2/user_service_pb.js";
import {
  allProtocols,
  connectClient,
  decodeGrpcMessage,
  decodeStatusDetailsBin,
  ERROR_DETAIL_TYPE_URL,
  grpcJsClient,
  grpcJsUnary,
  PROTOCOLS,
  restClient,
  show,
  zitadelGrpc,
  type Outcome,
  type ProtocolClient,
} from "./support/clients.js";
import { UserService as RosterUserService } from "../src/gen/zitadel/user/v2/user_service_pb.js";
import { ADA_PASSWORD, createWorld, rest, type World } from "./support/fixtures.js";
import { openInspector, type Inspector } from "./support/inspect.js";
import { startTestRoster, type TestRoster } from "./support/roster.js";

const UNKNOWN_USER = "399999999999999999";
const NOT_FOUND = { id: "COMMAND-ugjs0upun6", message: "User could not be found" };
const DENIED = { id: "AUTHZ-HKJD33", message: "No matching permissions found" };
const GIVEN_NAME_VIOLATION =
  "invalid UpdateHumanUserRequest.Profile: embedded message failed validation | caused by: " +
  "invalid SetHumanProfile.GivenName: value length must be between 1 and 200 runes, inclusive";

let roster: TestRoster;
let inspector: Inspector;
let protocols: ProtocolClient[];
/** A world for tests that only read or are refused (nothing of it changes). */
let shared: World;

before(async () => {
  roster = await startTestRoster();
  inspector = await openInspector(roster.databaseUrl);
  protocols = allProtocols(roster.port, roster.baseUrl);
  shared = await createWorld(roster);
});

after(async () => {
  await inspector?.close();
  await roster?.close();
});

async function sequenceOf(userId: string): Promise<number> {
  const user = await inspector.user(userId);
  assert.ok(user, `user ${userId} exists`);
  return user.sequence;
}

function assertTypedError(o: Outcome, code: number, detail: { id: string; message: string }, httpStatus?: number): void {
  assert.equal(o.code, code, `code; got ${show(o)}`);
  assert.equal(o.message, `${detail.message} (${detail.id})`);
  assert.deepEqual(o.details, [detail], "exactly one ErrorDetail with id and text");
  assert.deepEqual(o.otherDetailTypes, []);
  assert.equal(o.etag, null, "error responses carry no ETag");
  if (httpStatus !== undefined && o.httpStatus !== undefined) assert.equal(o.httpStatus, httpStatus);
}

function assertPlainError(o: Outcome, code: number, message: string, httpStatus?: number): void {
  assert.equal(o.code, code, `code; got ${show(o)}`);
  assert.equal(o.message, message);
  assert.deepEqual(o.details, [], "no ErrorDetail");
  assert.deepEqual(o.otherDetailTypes, []);
  if (httpStatus !== undefined && o.httpStatus !== undefined) assert.equal(o.httpStatus, httpStatus);
}

const isRest = (p: ProtocolClient) => p.name.startsWith("REST");

// ---------- success ----------

describe("UpdateHumanUser then GetUserByID on every protocol", () => {
  PROTOCOLS.forEach(({ name }, index) => {
    test(name, async () => {
      const p = protocols[index];
      const w = await createWorld(roster);
      const before = await sequenceOf(w.ada.id);
      const givenName = `Augusta ${index}`;
      const email = `ada-${index}-${w.tag}@king.example`;

      const upd = await p.call(
        "UpdateHumanUser",
        {
          userId: w.ada.id,
          profile: { givenName, familyName: "King" },
          email: { email, verification: { case: "returnCode", value: {} } },
        },
        { token: w.olga.token },
      );
      assert.equal(upd.code, 0, `${p.name}: ${show(upd)}`);
      const details = (upd.raw as { details: { sequence: unknown } }).details;
      if (isRest(p)) assert.equal(typeof details.sequence, "string", "uint64 is a JSON string on REST");
      else assert.equal(typeof details.sequence, "bigint", "uint64 decodes as bigint");
      const sequence = Number(String(details.sequence));
      assert.ok(sequence > before, `sequence advanced from ${before} to ${sequence}`);
      assert.equal(sequence, await sequenceOf(w.ada.id), "details.sequence is the stored current sequence");
      assert.equal(upd.etag, `"${sequence}"`);
      assert.match(String(upd.json?.emailCode), /^[A-Z0-9]{6}$/);
      assert.equal((upd.json?.details as { resourceOwner: string }).resourceOwner, w.acme);

      const got = await p.call("GetUserByID", { userId: w.ada.id }, { token: w.olga.token });
      assert.equal(got.code, 0, show(got));
      const user = got.json?.user as { userId: string; human: { profile: Record<string, string>; email: { email: string; isVerified?: boolean } } };
      assert.equal(user.userId, w.ada.id);
      assert.equal(user.human.profile.givenName, givenName);
      assert.equal(user.human.profile.familyName, "King");
      assert.equal(user.human.profile.displayName, "Ada Lovelace", "display name kept");
      assert.equal(user.human.email.email, email);
      assert.equal(user.human.email.isVerified, undefined, "a changed address is unverified");
      assert.equal(got.etag, `"${sequence}"`);
      assert.equal((got.json?.details as { sequence: string }).sequence, String(sequence));
    });
  });
});

// ---------- errors ----------

describe("error shapes on every protocol", () => {
  test("NOT_FOUND for an unknown user: code, message, exactly one ErrorDetail", async () => {
    for (const p of protocols) {
      const o = await p.call(
        "UpdateHumanUser",
        { userId: UNKNOWN_USER, profile: { givenName: "X", familyName: "Y" } },
        { token: shared.olga.token },
      );
      assertTypedError(o, 5, NOT_FOUND, 404);
      if (isRest(p)) {
        assert.deepEqual(o.raw, {
          code: 5,
          message: "User could not be found (COMMAND-ugjs0upun6)",
          details: [{ "@type": ERROR_DETAIL_TYPE_URL, id: "COMMAND-ugjs0upun6", message: "User could not be found" }],
        });
      }
    }
  });

  test("PERMISSION_DENIED for a caller without user.write; nothing written", async () => {
    const before = await sequenceOf(shared.ada.id);
    for (const p of protocols) {
      const o = await p.call(
        "UpdateHumanUser",
        { userId: shared.ada.id, profile: { givenName: "Gus", familyName: "Was Here" } },
        { token: shared.gus.token },
      );
      assertTypedError(o, 7, DENIED, 403);
    }
    assert.equal(await sequenceOf(shared.ada.id), before);
  });

  test("field violation: INVALID_ARGUMENT with ZITADEL's validator message and no detail", async () => {
    for (const p of protocols) {
      const o = await p.call("UpdateHumanUser", { userId: shared.ada.id, profile: { familyName: "King" } }, { token: shared.olga.token });
      assertPlainError(o, 3, GIVEN_NAME_VIOLATION, 400);
    }
  });

  test("UNAUTHENTICATED without a token: `auth header missing`, no detail", async () => {
    for (const p of protocols) {
      const o = await p.call("UpdateHumanUser", { userId: shared.ada.id, username: "nobody" }, {});
      assertPlainError(o, 16, "auth header missing", 401);
      const g = await p.call("GetUserByID", { userId: shared.ada.id }, {});
      assertPlainError(g, 16, "auth header missing", 401);
    }
  });

  test("gRPC trailers on the wire: grpc-message and grpc-status-details-bin as google.rpc.Status", async () => {
    const method = ZitadelUserService.method.updateHumanUser;
    const r = await grpcJsUnary(
      roster.port,
      method,
      { userId: UNKNOWN_USER, username: "x" },
      { authorization: `Bearer ${shared.olga.token}` },
    );
    assert.ok(r.error);
    assert.equal(r.error.code, 5);
    // grpc-js may or may not percent-decode grpc-message (stack-notes): accept both encodings.
    assert.ok(
      [r.error.details, decodeGrpcMessage(r.error.details)].includes("User could not be found (COMMAND-ugjs0upun6)"),
      r.error.details,
    );
    const bins = r.error.metadata.get("grpc-status-details-bin");
    assert.equal(bins.length, 1);
    const status = decodeStatusDetailsBin(bins[0] as Buffer);
    assert.equal(status.code, 5);
    assert.equal(status.message, "User could not be found (COMMAND-ugjs0upun6)");
    assert.deepEqual(status.details, [{ typeUrl: ERROR_DETAIL_TYPE_URL, errorDetail: NOT_FOUND }]);
  });

  test("Connect JSON error body on the wire (errors.md §4)", async () => {
    const res = await fetch(`${roster.baseUrl}/zitadel.user.v2.UserService/UpdateHumanUser`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${shared.olga.token}` },
      body: JSON.stringify({ userId: UNKNOWN_USER, username: "x" }),
    });
    assert.equal(res.status, 404);
    const body = (await res.json()) as { code: string; message: string; details: Array<{ type: string; value: string }> };
    assert.equal(body.code, "not_found");
    assert.equal(body.message, "User could not be found (COMMAND-ugjs0upun6)");
    assert.equal(body.details.length, 1);
    assert.equal(body.details[0].type, "zitadel.v1.ErrorDetail");
    const detail = fromBinary(ErrorDetailSchema, Buffer.from(body.details[0].value, "base64"));
    assert.deepEqual({ id: detail.id, message: detail.message }, NOT_FOUND);
  });
});

describe("unimplemented RPCs", () => {
  test("RPCs ZITADEL has and Roster does not: gRPC UNIMPLEMENTED", async () => {
    const grpcJs = grpcJsClient(roster.port);
    const zitadel = zitadelGrpc(roster.baseUrl);
    for (const client of [grpcJs, zitadel]) {
      const create = await client.call(
        "CreateUser",
        { organizationId: shared.acme, userType: { case: "human", value: { profile: { givenName: "A", familyName: "B" } } } },
        { token: roster.adminToken },
      );
      assert.equal(create.code, 12, `${client.name} CreateUser: ${show(create)}`);
      const passkeys = await client.call("ListPasskeys", { userId: shared.ada.id }, { token: roster.adminToken });
      assert.equal(passkeys.code, 12, `${client.name} ListPasskeys: ${show(passkeys)}`);
    }
  });

  test("every UserService RPC our proto declares is implemented: none answers UNIMPLEMENTED", async () => {
    const methods = RosterUserService.methods.map((m) => m.name);
    assert.equal(methods.length, 19);
    for (const p of protocols) {
      for (const name of methods) {
        const res = await p.call(name, { userId: "no-such-user" }, { token: roster.adminToken });
        assert.notEqual(res.code, 12, `${p.name} ${name}: ${show(res)}`);
      }
    }
  });
});

// ---------- REST ----------

/** Every route of contract.md §7 and whether it takes the body ("*"). */
const ROUTES: Array<{ rpc: string; method: string; path: (id: string) => string; body: boolean }> = [
  { rpc: "AddHumanUser", method: "POST", path: () => "/v2/users/human", body: true },
  { rpc: "GetUserByID", method: "GET", path: (id) => `/v2/users/${id}`, body: false },
  { rpc: "ListUsers", method: "POST", path: () => "/v2/users", body: true },
  { rpc: "UpdateHumanUser", method: "PUT", path: (id) => `/v2/users/human/${id}`, body: true },
  { rpc: "DeleteUser", method: "DELETE", path: (id) => `/v2/users/${id}`, body: false },
  { rpc: "SetEmail", method: "POST", path: (id) => `/v2/users/${id}/email`, body: true },
  { rpc: "ResendEmailCode", method: "POST", path: (id) => `/v2/users/${id}/email/resend`, body: true },
  { rpc: "SendEmailCode", method: "POST", path: (id) => `/v2/users/${id}/email/send`, body: true },
  { rpc: "VerifyEmail", method: "POST", path: (id) => `/v2/users/${id}/email/verify`, body: true },
  { rpc: "SetPhone", method: "POST", path: (id) => `/v2/users/${id}/phone`, body: true },
  { rpc: "RemovePhone", method: "DELETE", path: (id) => `/v2/users/${id}/phone`, body: true },
  { rpc: "ResendPhoneCode", method: "POST", path: (id) => `/v2/users/${id}/phone/resend`, body: true },
  { rpc: "VerifyPhone", method: "POST", path: (id) => `/v2/users/${id}/phone/verify`, body: true },
  { rpc: "PasswordReset", method: "POST", path: (id) => `/v2/users/${id}/password_reset`, body: true },
  { rpc: "SetPassword", method: "POST", path: (id) => `/v2/users/${id}/password`, body: true },
  { rpc: "DeactivateUser", method: "POST", path: (id) => `/v2/users/${id}/deactivate`, body: true },
  { rpc: "ReactivateUser", method: "POST", path: (id) => `/v2/users/${id}/reactivate`, body: true },
  { rpc: "LockUser", method: "POST", path: (id) => `/v2/users/${id}/lock`, body: true },
  { rpc: "UnlockUser", method: "POST", path: (id) => `/v2/users/${id}/unlock`, body: true },
];

describe("REST gateway against the real handlers", () => {
  test("every route reaches the RPC layer; body routes decode their body, the others ignore it", async () => {
    for (const r of ROUTES) {
      // an unknown user: the routes that reach a handler change nothing of the shared world
      const path = r.path(UNKNOWN_USER);
      // Without a token every route is an authenticated RPC: 401, never a routing 404/405.
      const anon = await rest(roster, r.method, path, r.method === "GET" ? {} : { body: {} });
      assert.equal(anon.status, 401, `${r.method} ${path}: ${show(anon.body)}`);
      assert.deepEqual(anon.body, { code: 16, message: "auth header missing" });
      if (r.method === "GET") continue;
      const bad = await rest(roster, r.method, path, {
        token: roster.adminToken,
        rawBody: "{not json",
        headers: { "content-type": "application/json" },
      });
      if (r.body) {
        assert.equal(bad.status, 400, `${r.rpc} must decode its body`);
        assert.equal(bad.body.code, 3);
        assert.equal(bad.body.details, undefined);
      } else {
        assert.notEqual(bad.status, 400, `${r.rpc} has no body clause: its body is ignored`);
        assert.equal(bad.body.details?.[0]?.id, NOT_FOUND.id, `${r.rpc} reached its handler: ${show(bad.body)}`);
      }
    }
  });

  test("POST /v2/users/human creates the user from the body", async () => {
    const username = `grace-${shared.tag}`;
    const res = await rest(roster, "POST", "/v2/users/human", {
      token: roster.adminToken,
      body: {
        username,
        organization: { orgId: shared.acme },
        profile: { givenName: "Grace", familyName: "Hopper" },
        email: { email: "grace@acme.example", isVerified: true },
      },
    });
    assert.equal(res.status, 200, show(res.body));
    assert.equal(res.headers.get("etag"), `"${res.body.details.sequence}"`);
    const got = await rest(roster, "GET", `/v2/users/${res.body.userId}`, { token: roster.adminToken });
    assert.equal(got.status, 200);
    assert.equal(got.body.user.username, username);
    assert.equal(got.body.user.details.resourceOwner, shared.acme);
    assert.equal(got.body.user.human.profile.givenName, "Grace");
    assert.equal(got.headers.get("etag"), `"${got.body.user.details.sequence}"`);
  });

  test("PUT /v2/users/human/{id}: the body is applied (username visible after), path overrides body userId", async () => {
    const w = await createWorld(roster);
    const username = `ada-renamed-${w.tag}`;
    const bobBefore = await inspector.user(w.bob.id);
    const res = await rest(roster, "PUT", `/v2/users/human/${w.ada.id}`, {
      token: w.olga.token,
      body: { userId: w.bob.id, username },
    });
    assert.equal(res.status, 200, show(res.body));
    assert.equal(res.headers.get("etag"), `"${res.body.details.sequence}"`);
    const ada = await rest(roster, "GET", `/v2/users/${w.ada.id}`, { token: w.olga.token });
    assert.equal(ada.body.user.username, username);
    assert.deepEqual(await inspector.user(w.bob.id), bobBefore, "Bob untouched");
  });

  test("proto field names accepted, unknown fields ignored", async () => {
    const w = await createWorld(roster);
    const res = await rest(roster, "PUT", `/v2/users/human/${w.ada.id}`, {
      token: w.olga.token,
      body: {
        mysteryTop: { a: 1 },
        profile: { given_name: "Grace", family_name: "Hopper", nick_name: "Amazing", mystery: [1, 2] },
      },
    });
    assert.equal(res.status, 200, show(res.body));
    const got = await rest(roster, "GET", `/v2/users/${w.ada.id}`, { token: w.olga.token });
    const profile = got.body.user.human.profile;
    assert.equal(profile.givenName, "Grace");
    assert.equal(profile.familyName, "Hopper");
    assert.equal(profile.nickName, "Amazing");
  });

  test("POST /v2/users/{id}/password_reset with returnCode returns verificationCode", async () => {
    const w = await createWorld(roster);
    const res = await rest(roster, "POST", `/v2/users/${w.ada.id}/password_reset`, {
      token: w.olga.token,
      body: { returnCode: {} },
    });
    assert.equal(res.status, 200, show(res.body));
    assert.match(res.body.verificationCode, /^[A-Z0-9]{6}$/);
    assert.equal(res.headers.get("etag"), `"${res.body.details.sequence}"`);
    // The code from the body works: the body really reached the handler.
    const set = await rest(roster, "POST", `/v2/users/${w.ada.id}/password`, {
      token: w.ada.token,
      body: { newPassword: { password: "Engine-Difference-2" }, verificationCode: res.body.verificationCode },
    });
    assert.equal(set.status, 200, show(set.body));
  });

  test("POST /v2/users/{id}/password applies the body", async () => {
    const w = await createWorld(roster);
    const set = await rest(roster, "POST", `/v2/users/${w.ada.id}/password`, {
      token: w.ada.token,
      body: { newPassword: { password: "Engine-Difference-2" }, currentPassword: ADA_PASSWORD },
    });
    assert.equal(set.status, 200, show(set.body));
    const again = await rest(roster, "POST", `/v2/users/${w.ada.id}/password`, {
      token: w.ada.token,
      body: { newPassword: { password: "Engine-Difference-3" }, currentPassword: ADA_PASSWORD },
    });
    assert.equal(again.status, 400, "the old password no longer matches");
    assert.equal(again.body.details[0].id, "COMMAND-3M0fs");
  });

  test("decoding errors: 400 code 3 without details, nothing written", async () => {
    const before = await sequenceOf(shared.ada.id);
    const path = `/v2/users/human/${shared.ada.id}`;
    const cases: Array<{ what: string; opts: Parameters<typeof rest>[3] }> = [
      { what: "malformed JSON", opts: { rawBody: '{"username": ', headers: { "content-type": "application/json" } } },
      { what: "wrong JSON type (string field)", opts: { body: { username: 5 } } },
      { what: "wrong JSON type (message field)", opts: { body: { profile: "Ada" } } },
      { what: "unknown enum name", opts: { body: { profile: { givenName: "A", familyName: "B", gender: "GENDER_ROBOT" } } } },
      { what: "body not an object", opts: { body: [1, 2] } },
    ];
    for (const c of cases) {
      const res = await rest(roster, "PUT", path, { token: shared.olga.token, ...c.opts });
      assert.equal(res.status, 400, `${c.what}: ${show(res.body)}`);
      assert.equal(res.body.code, 3, c.what);
      assert.equal(typeof res.body.message, "string");
      assert.ok(res.body.message.length > 0);
      assert.equal(res.body.details, undefined, c.what);
    }
    assert.equal(await sequenceOf(shared.ada.id), before);
  });

  test("GET /v2/users/human is GetUserByID of user `human`: 404 QUERY-Dfbg2", async () => {
    const res = await rest(roster, "GET", "/v2/users/human", { token: roster.adminToken });
    assert.equal(res.status, 404);
    assert.deepEqual(res.body, {
      code: 5,
      message: "User could not be found (QUERY-Dfbg2)",
      details: [{ "@type": ERROR_DETAIL_TYPE_URL, id: "QUERY-Dfbg2", message: "User could not be found" }],
    });
  });

  test("routing errors: 405 with Allow, 404 Not Found", async () => {
    const put = await rest(roster, "PUT", "/v2/users/123", { token: roster.adminToken, body: {} });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get("allow"), "GET, DELETE");
    assert.deepEqual(put.body, { code: 12, message: "Method Not Allowed" });
    for (const path of ["/v2/nothing", "/v2/users/1/2/3/4", "/"]) {
      const res = await rest(roster, "GET", path, { token: roster.adminToken });
      assert.equal(res.status, 404, path);
      assert.deepEqual(res.body, { code: 5, message: "Not Found" });
    }
  });

  test("x-zitadel-orgid naming no organization: 403 AUTH-Bs7Ds, nothing written", async () => {
    const before = await sequenceOf(shared.ada.id);
    const res = await rest(roster, "PUT", `/v2/users/human/${shared.ada.id}`, {
      token: shared.olga.token,
      headers: { "x-zitadel-orgid": UNKNOWN_USER },
      body: { username: `x-${shared.tag}` },
    });
    assert.equal(res.status, 403);
    assert.deepEqual(res.body, {
      code: 7,
      message: "Organisation doesn't exist (AUTH-Bs7Ds)",
      details: [{ "@type": ERROR_DETAIL_TYPE_URL, id: "AUTH-Bs7Ds", message: "Organisation doesn't exist" }],
    });
    assert.equal(await sequenceOf(shared.ada.id), before);
    // The existing organization passes on every protocol.
    for (const p of protocols) {
      const ok = await p.call("GetUserByID", { userId: shared.ada.id }, { token: shared.olga.token, headers: { "x-zitadel-orgid": shared.globex } });
      assert.equal(ok.code, 0, `${p.name}: ${show(ok)}`);
      const bad = await p.call("GetUserByID", { userId: shared.ada.id }, { token: shared.olga.token, headers: { "x-zitadel-orgid": UNKNOWN_USER } });
      assertTypedError(bad, 7, { id: "AUTH-Bs7Ds", message: "Organisation doesn't exist" }, 403);
    }
  });
});

// ---------- gRPC-web text mode ----------

describe("gRPC-web text mode (grpc-web's `mode: 'grpcwebtext'`)", () => {
  test("GetUserByID as the administrator: base64 response with the user, etag and OK trailer", async () => {
    const method = ZitadelUserService.method.getUserByID;
    const message = toBinary(method.input, create(method.input, { userId: shared.ada.id }));
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    frame.set(message, 5);
    const res = await fetch(`${roster.baseUrl}/zitadel.user.v2.UserService/GetUserByID`, {
      method: "POST",
      headers: {
        "content-type": "application/grpc-web-text",
        accept: "application/grpc-web-text",
        "x-grpc-web": "1",
        authorization: `Bearer ${shared.ian.token}`,
      },
      body: frame.toString("base64"),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/grpc-web-text+proto");
    assert.equal(res.headers.get("etag"), `"${await sequenceOf(shared.ada.id)}"`);
    const text = await res.text();
    assert.match(text, /^[A-Za-z0-9+/]*={0,2}$/);
    const bytes = Buffer.from(text, "base64");
    assert.equal(bytes[0], 0, "a data frame first");
    const length = bytes.readUInt32BE(1);
    const user = fromBinary(method.output, bytes.subarray(5, 5 + length)).user;
    assert.equal(user?.userId, shared.ada.id);
    assert.equal(user?.type.case, "human");
    assert.equal(user?.type.case === "human" ? user.type.value.profile?.displayName : undefined, "Ada Lovelace");
    const trailer = bytes.subarray(5 + length);
    assert.equal(trailer[0], 0x80, "then the trailer frame");
    assert.match(trailer.subarray(5).toString("latin1"), /^grpc-status: ?0\r\n/m);
  });
});

// ---------- CORS ----------

describe("CORS with ROSTER_CORS_ORIGINS", () => {
  const ALLOWED = "https://app.example";
  const EVIL = "https://evil.example";
  let corsRoster: TestRoster;
  let corsInspector: Inspector;
  let world: World;

  before(async () => {
    corsRoster = await startTestRoster({ ROSTER_CORS_ORIGINS: ALLOWED });
    corsInspector = await openInspector(corsRoster.databaseUrl);
    world = await createWorld(corsRoster);
  });
  after(async () => {
    await corsInspector?.close();
    await corsRoster?.close();
  });

  const listOf = (h: string | null) => (h ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);

  test("preflight from the allowed origin", async () => {
    for (const [path, method] of [
      ["/zitadel.user.v2.UserService/UpdateHumanUser", "POST"],
      [`/v2/users/human/${world.ada.id}`, "PUT"],
    ] as const) {
      const res = await fetch(corsRoster.baseUrl + path, {
        method: "OPTIONS",
        headers: {
          origin: ALLOWED,
          "access-control-request-method": method,
          "access-control-request-headers": "authorization, x-zitadel-orgid, if-match, content-type",
        },
      });
      assert.ok(res.status === 200 || res.status === 204, `${path}: ${res.status}`);
      assert.equal(res.headers.get("access-control-allow-origin"), ALLOWED);
      assert.ok(listOf(res.headers.get("access-control-allow-methods")).includes(method.toLowerCase()));
      const allowHeaders = listOf(res.headers.get("access-control-allow-headers"));
      for (const h of ["authorization", "x-zitadel-orgid", "if-match", "content-type", "connect-protocol-version", "x-grpc-web"]) {
        assert.ok(allowHeaders.includes(h), `allow-headers has ${h}: ${allowHeaders}`);
      }
    }
  });

  test("actual request from the allowed origin exposes etag and the gRPC status headers", async () => {
    const res = await fetch(`${corsRoster.baseUrl}/zitadel.user.v2.UserService/GetUserByID`, {
      method: "POST",
      headers: { origin: ALLOWED, "content-type": "application/json", authorization: `Bearer ${world.ada.token}` },
      body: JSON.stringify({ userId: world.ada.id }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("access-control-allow-origin"), ALLOWED);
    assert.match(res.headers.get("etag") ?? "", /^"\d+"$/);
    const exposed = listOf(res.headers.get("access-control-expose-headers"));
    for (const h of ["etag", "grpc-status", "grpc-message", "grpc-status-details-bin"]) {
      assert.ok(exposed.includes(h), `expose-headers has ${h}: ${exposed}`);
    }
  });

  test("a disallowed origin: PERMISSION_DENIED AUTH-DZG21 on every protocol, nothing written", async () => {
    const before = (await corsInspector.user(world.ada.id))?.sequence;
    const origin = { origin: EVIL };
    const clients = [
      connectClient("Connect JSON (HTTP/1.1)", createConnectTransport({ baseUrl: corsRoster.baseUrl, httpVersion: "1.1" })),
      connectClient("Connect binary (h2)", createConnectTransport({ baseUrl: corsRoster.baseUrl, httpVersion: "2", useBinaryFormat: true })),
      connectClient("gRPC-web (h1)", createGrpcWebTransport({ baseUrl: corsRoster.baseUrl, httpVersion: "1.1" })),
      restClient(corsRoster.baseUrl),
    ];
    for (const c of clients) {
      const o = await c.call(
        "UpdateHumanUser",
        { userId: world.ada.id, username: `evil-${world.tag}` },
        { token: world.olga.token, headers: origin },
      );
      assertTypedError(o, 7, { id: "AUTH-DZG21", message: 'This "Origin" is not allowed' }, 403);
    }
    const preflight = await fetch(`${corsRoster.baseUrl}/zitadel.user.v2.UserService/UpdateHumanUser`, {
      method: "OPTIONS",
      headers: { origin: EVIL, "access-control-request-method": "POST" },
    });
    assert.equal(preflight.headers.get("access-control-allow-origin"), null);
    assert.ok(preflight.status >= 400, `preflight of a disallowed origin is refused: ${preflight.status}`);
    assert.equal((await corsInspector.user(world.ada.id))?.sequence, before);
  });
});
