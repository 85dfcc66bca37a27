/**
 * roster.selfservice.v1.SelfService through real clients over real sockets, without a token:
 * what it does with the right code, that a wrong one is counted, that it answers nothing about the
 * user, and that dropping the token requirement for it dropped it nowhere else.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { hasOption, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import bcrypt from "bcrypt";
import {
  GetPasswordPolicyResponseSchema,
  ResetPasswordWithCodeResponseSchema,
  SelfService,
  VerifyEmailWithCodeResponseSchema,
} from "../src/gen/roster/selfservice/v1/self_service_pb.js";
import { http } from "../src/gen/google/api/annotations_pb.js";
import { ErrorDetailSchema } from "../src/gen/zitadel/message_pb.js";
import { UserService } from "../src/gen/zitadel/user/v2/user_service_pb.js";
import { assertOk, createWorld, rest, type World } from "./support/fixtures.js";
import { openInspector, type Inspector } from "./support/inspect.js";
import { startTestRoster, type TestRoster } from "./support/roster.js";

const NEW_PASSWORD = "Difference-Engine-3";

let roster: TestRoster;
let inspector: Inspector;
let w: World;
let transports: Record<string, Transport>;

before(async () => {
  roster = await startTestRoster();
  inspector = await openInspector(roster.databaseUrl);
  w = await createWorld(roster);
  transports = {
    "grpc-web": createGrpcWebTransport({ baseUrl: roster.baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
    connect: createConnectTransport({ baseUrl: roster.baseUrl, httpVersion: "1.1" }),
    grpc: createGrpcTransport({ baseUrl: roster.baseUrl }),
  };
});
after(async () => {
  await inspector?.close();
  await roster?.close();
});

const client = (protocol: string): Client<typeof SelfService> => createClient(SelfService, transports[protocol]);

async function refusal(p: Promise<unknown>): Promise<{ code: Code; id?: string; message: string }> {
  try {
    await p;
  } catch (e) {
    const ce = ConnectError.from(e);
    return { code: ce.code, id: ce.findDetails(ErrorDetailSchema)[0]?.id, message: ce.rawMessage };
  }
  assert.fail("expected the call to fail");
}

async function emailCodeFor(userId: string, email: string): Promise<string> {
  const res = await rest(roster, "PUT", `/v2/users/human/${userId}`, { token: roster.adminToken, body: { email: { email, returnCode: {} } } });
  assertOk(res);
  return res.body.emailCode as string;
}

async function resetCodeFor(userId: string): Promise<string> {
  const res = await rest(roster, "POST", `/v2/users/${userId}/password_reset`, { token: roster.adminToken, body: { returnCode: {} } });
  assertOk(res);
  return res.body.verificationCode as string;
}

const sequenceOf = async (userId: string) => (await inspector.user(userId))!.sequence;

describe("SelfService without a token", () => {
  test("declares exactly its three RPCs", () => {
    assert.deepEqual(SelfService.methods.map((m) => m.name).sort(), ["GetPasswordPolicy", "ResetPasswordWithCode", "VerifyEmailWithCode"]);
  });

  test("GetPasswordPolicy: the deployment's policy (the test deployment's defaults)", async () => {
    const p = await client("grpc-web").getPasswordPolicy({});
    assert.deepEqual(
      { min: p.minLength, max: p.maxLength, lower: p.requiresLowercase, upper: p.requiresUppercase, number: p.requiresNumber, symbol: p.requiresSymbol },
      { min: 8, max: 72, lower: true, upper: true, number: true, symbol: true },
    );
    assert.equal(GetPasswordPolicyResponseSchema.typeName, "roster.selfservice.v1.GetPasswordPolicyResponse");
  });

  for (const protocol of ["grpc-web", "connect", "grpc"]) {
    test(`VerifyEmailWithCode over ${protocol}: the right code verifies; the answer is empty and has no ETag`, async () => {
      const email = `ada-${protocol}@verify.example`;
      const code = await emailCodeFor(w.bob.id, email);
      assert.equal((await inspector.user(w.bob.id))!.emailVerified, false);
      let etag: string | null | undefined;
      const r = await client(protocol).verifyEmailWithCode({ userId: w.bob.id, verificationCode: code }, { onHeader: (h) => (etag = h.get("etag")) });
      assert.equal(toBinary(VerifyEmailWithCodeResponseSchema, r).length, 0);
      assert.equal(etag, null);
      const stored = (await inspector.user(w.bob.id))!;
      assert.equal(stored.email, email);
      assert.equal(stored.emailVerified, true);
      const last = (await inspector.events(w.bob.id)).at(-1)!;
      assert.equal(last.type, "user.human.email.verified");
      assert.equal(last.actorId, w.bob.id);
    });
  }

  test("VerifyEmailWithCode with a wrong code: COMMAND-eis9R, one attempt recorded (sequence + 1)", async () => {
    const code = await emailCodeFor(w.bob.id, "bob-wrong@verify.example");
    const before = await sequenceOf(w.bob.id);
    const r = await refusal(client("grpc-web").verifyEmailWithCode({ userId: w.bob.id, verificationCode: code === "ZZZZZZ" ? "YYYYYY" : "ZZZZZZ" }));
    assert.deepEqual([r.code, r.id], [Code.InvalidArgument, "COMMAND-eis9R"]);
    assert.equal(await sequenceOf(w.bob.id), before + 1);
    assert.equal((await inspector.code(w.bob.id, "email"))?.failedAttempts, 1);
    assert.equal((await inspector.user(w.bob.id))!.emailVerified, false);
  });

  test("ResetPasswordWithCode: the right code sets the password, which then works as current_password", async () => {
    const code = await resetCodeFor(w.ada.id);
    const r = await client("grpc-web").resetPasswordWithCode({ userId: w.ada.id, verificationCode: code, newPassword: NEW_PASSWORD });
    assert.equal(toBinary(ResetPasswordWithCodeResponseSchema, r).length, 0);
    assert.ok(await bcrypt.compare(NEW_PASSWORD, (await inspector.user(w.ada.id))!.passwordHash!));
    const set = await rest(roster, "POST", `/v2/users/${w.ada.id}/password`, {
      token: w.ada.token,
      body: { newPassword: { password: "Another-Engine-4" }, currentPassword: NEW_PASSWORD },
    });
    assertOk(set);
  });

  test("ResetPasswordWithCode with a wrong code: CODE-woT0xc, counted, password unchanged", async () => {
    await resetCodeFor(w.bob.id);
    const hash = (await inspector.user(w.bob.id))!.passwordHash;
    const before = await sequenceOf(w.bob.id);
    const r = await refusal(client("connect").resetPasswordWithCode({ userId: w.bob.id, verificationCode: "WRONG1", newPassword: NEW_PASSWORD }));
    assert.deepEqual([r.code, r.id], [Code.InvalidArgument, "CODE-woT0xc"]);
    assert.equal(await sequenceOf(w.bob.id), before + 1);
    assert.equal((await inspector.code(w.bob.id, "password_reset"))?.failedAttempts, 1);
    assert.equal((await inspector.user(w.bob.id))!.passwordHash, hash);
  });

  test("field rules apply: an empty user id or code is INVALID_ARGUMENT naming the field", async () => {
    const a = await refusal(client("grpc-web").verifyEmailWithCode({ userId: "", verificationCode: "ABC123" }));
    assert.equal(a.code, Code.InvalidArgument);
    assert.match(a.message, /UserId/);
    const b = await refusal(client("grpc-web").resetPasswordWithCode({ userId: w.ada.id, verificationCode: "", newPassword: NEW_PASSWORD }));
    assert.equal(b.code, Code.InvalidArgument);
    assert.match(b.message, /VerificationCode/);
  });

  test("an unknown user is not found, whatever token comes along (a token grants nothing here)", async () => {
    const variants: Record<string, string>[] = [{}, { authorization: `Bearer ${roster.adminToken}` }, { authorization: "Bearer garbage" }];
    for (const headers of variants) {
      const r = await refusal(client("grpc-web").verifyEmailWithCode({ userId: "999999999999999999", verificationCode: "ABC123" }, { headers }));
      assert.deepEqual([r.code, r.id], [Code.NotFound, "COMMAND-ugjs0upun6"]);
    }
  });

  test("the other services still require a token", async () => {
    const users = createClient(UserService, transports["grpc-web"]);
    const r = await refusal(users.getUserByID({ userId: w.ada.id }));
    assert.equal(r.code, Code.Unauthenticated);
    const reset = await refusal(users.passwordReset({ userId: w.ada.id, medium: { case: "returnCode", value: {} } }));
    assert.equal(reset.code, Code.Unauthenticated);
  });

  test("the self-service RPCs have no REST binding (the gateway builds no route for them)", () => {
    for (const method of SelfService.methods) assert.equal(hasOption(method, http), false, method.name);
  });
});
