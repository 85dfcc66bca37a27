/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha) on the API port: `buf curl` without
 * `--schema` lists and calls the API by asking the server, and a raw grpc-js bidirectional
 * stream checks every request kind, one response per request in order, and that the files sent
 * form a complete descriptor set (every dependency included).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { create, createFileRegistry, fromBinary, getOption, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { http } from "../src/gen/google/api/annotations_pb.js";
import {
  ServerReflectionRequestSchema,
  ServerReflectionResponseSchema,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
} from "../src/gen/grpc/reflection/v1/reflection_pb.js";
import {
  ServerReflectionRequestSchema as AlphaRequestSchema,
  ServerReflectionResponseSchema as AlphaResponseSchema,
} from "../src/gen/grpc/reflection/v1alpha/reflection_pb.js";
import { newHuman, rest } from "./support/fixtures.js";
import { startTestRoster, type TestRoster } from "./support/roster.js";

const run = promisify(execFile);
const BUF = path.join(path.dirname(createRequire(import.meta.url).resolve("@bufbuild/buf/package.json")), "bin", "buf");

let roster: TestRoster;
let userId: string;

before(async () => {
  roster = await startTestRoster();
  const added = await rest(roster, "POST", "/v2/users/human", { token: roster.adminToken, body: newHuman({}, "reflected") });
  assert.equal(added.status, 200, JSON.stringify(added.body));
  userId = added.body.userId as string;
});

after(async () => {
  await roster?.close();
});

async function bufCurl(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BUF, "curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], { timeout: 60_000 });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    return { stdout: e.stdout ?? "", stderr: e.stderr ?? "", code: typeof e.code === "number" ? e.code : 1 };
  }
}

describe("buf curl without --schema", () => {
  test("--list-services and --list-methods (v1, and v1alpha)", async () => {
    for (const protocol of ["grpc-v1", "grpc-v1alpha"]) {
      const services = await bufCurl(["--reflect-protocol", protocol, "--list-services", roster.baseUrl]);
      assert.equal(services.code, 0, services.stderr);
      assert.deepEqual(services.stdout.trim().split("\n").sort(), [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "roster.selfservice.v1.SelfService",
        "zitadel.org.v2.OrganizationService",
        "zitadel.user.v2.UserService",
      ]);
      const methods = await bufCurl(["--reflect-protocol", protocol, "--list-methods", roster.baseUrl]);
      assert.equal(methods.code, 0, methods.stderr);
      const lines = methods.stdout.trim().split("\n");
      for (const m of ["zitadel.user.v2.UserService/GetUserByID", "zitadel.user.v2.UserService/UpdateHumanUser", "zitadel.org.v2.OrganizationService/ListOrganizations", "grpc.health.v1.Health/Watch"]) {
        assert.ok(lines.includes(m), `${protocol}: ${m} missing from ${methods.stdout}`);
      }
    }
  });

  test("calls GetUserByID with a JSON request it encodes from the reflected schema", async () => {
    const r = await bufCurl([
      "-H",
      `authorization: Bearer ${roster.adminToken}`,
      "-d",
      JSON.stringify({ userId }),
      `${roster.baseUrl}/zitadel.user.v2.UserService/GetUserByID`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.parse(r.stdout) as { user: { userId: string; username: string; human?: { profile?: { givenName?: string } } } };
    assert.equal(body.user.userId, userId);
    assert.match(body.user.username, /^reflected-/);
    assert.equal(body.user.human?.profile?.givenName, "Grace");
  });

  test("an error keeps its code; the health service is callable too", async () => {
    const missing = await bufCurl(["-H", `authorization: Bearer ${roster.adminToken}`, "-d", '{"userId":"1"}', `${roster.baseUrl}/zitadel.user.v2.UserService/GetUserByID`]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stdout + missing.stderr, /not_found/);
    const health = await bufCurl(["-d", "{}", `${roster.baseUrl}/grpc.health.v1.Health/Check`]);
    assert.equal(health.code, 0, health.stderr);
    assert.deepEqual(JSON.parse(health.stdout), { status: "SERVING" });
  });
});

/** One bidirectional reflection stream over grpc-js; `ask` sends one request and waits for its answer. */
function openStream(version: "v1" | "v1alpha") {
  const client = new grpc.Client(`127.0.0.1:${roster.port}`, grpc.credentials.createInsecure());
  const call = client.makeBidiStreamRequest(
    `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
    (m: ServerReflectionRequest) =>
      // v1alpha has the same messages under another package: identical bytes
      Buffer.from(version === "v1" ? toBinary(ServerReflectionRequestSchema, m) : toBinary(AlphaRequestSchema, fromBinary(AlphaRequestSchema, toBinary(ServerReflectionRequestSchema, m)))),
    (b: Buffer) => (version === "v1" ? fromBinary(ServerReflectionResponseSchema, b) : fromBinary(ServerReflectionResponseSchema, toBinary(AlphaResponseSchema, fromBinary(AlphaResponseSchema, b)))),
  );
  const pending: Array<(r: ServerReflectionResponse) => void> = [];
  call.on("data", (r: ServerReflectionResponse) => pending.shift()?.(r));
  const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
  call.on("error", () => {});
  return {
    ask(messageRequest: ServerReflectionRequest["messageRequest"]): Promise<ServerReflectionResponse> {
      return new Promise((resolve) => {
        pending.push(resolve);
        call.write(create(ServerReflectionRequestSchema, { host: "roster", messageRequest }));
      });
    },
    async end(): Promise<grpc.StatusObject> {
      call.end();
      const s = await status;
      client.close();
      return s;
    },
  };
}

function fileNames(res: ServerReflectionResponse): string[] {
  assert.equal(res.messageResponse.case, "fileDescriptorResponse", JSON.stringify(res.messageResponse));
  return res.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
}

describe("reflection over a raw grpc-js stream", () => {
  for (const version of ["v1", "v1alpha"] as const) {
    test(`${version}: every request kind on one stream, answered in order`, async () => {
      const stream = openStream(version);
      const collected = new Map<string, Uint8Array>();
      const keep = (res: ServerReflectionResponse) => {
        if (res.messageResponse.case !== "fileDescriptorResponse") return;
        for (const b of res.messageResponse.value.fileDescriptorProto) collected.set(fromBinary(FileDescriptorProtoSchema, b).name, b);
      };

      const list = await stream.ask({ case: "listServices", value: "" });
      assert.equal(list.validHost, "roster");
      assert.equal(list.originalRequest?.messageRequest.case, "listServices");
      assert.equal(list.messageResponse.case, "listServicesResponse");
      assert.ok(list.messageResponse.value.service.some((s) => s.name === "zitadel.user.v2.UserService"));

      const bySymbol = await stream.ask({ case: "fileContainingSymbol", value: "zitadel.user.v2.UserService" });
      keep(bySymbol);
      const first = fileNames(bySymbol);
      assert.equal(first[0], "zitadel/user/v2/user_service.proto");
      for (const dep of ["google/api/annotations.proto", "google/protobuf/descriptor.proto", "buf/validate/validate.proto", "google/protobuf/timestamp.proto", "zitadel/object/v2/object.proto"]) {
        assert.ok(first.includes(dep), `${dep} missing from ${first.join(", ")}`);
      }
      // a method, a nested message and an enum value resolve to their files
      assert.equal(fileNames(await stream.ask({ case: "fileContainingSymbol", value: "zitadel.user.v2.UserService.GetUserByID" }))[0], "zitadel/user/v2/user_service.proto");
      assert.equal(fileNames(await stream.ask({ case: "fileContainingSymbol", value: "google.protobuf.Timestamp" }))[0], "google/protobuf/timestamp.proto");

      // asked again: the file itself, without the dependencies this stream has already received
      assert.deepEqual(fileNames(await stream.ask({ case: "fileByFilename", value: "zitadel/user/v2/user_service.proto" })), ["zitadel/user/v2/user_service.proto"]);

      const org = await stream.ask({ case: "fileContainingSymbol", value: "zitadel.org.v2.OrganizationService" });
      keep(org);
      const health = await stream.ask({ case: "fileByFilename", value: "grpc/health/v1/health.proto" });
      keep(health);
      assert.deepEqual(fileNames(health), ["grpc/health/v1/health.proto"]);

      const ext = await stream.ask({ case: "fileContainingExtension", value: { $typeName: "grpc.reflection.v1.ExtensionRequest", containingType: "google.protobuf.MethodOptions", extensionNumber: 72295728 } });
      assert.equal(fileNames(ext)[0], "google/api/annotations.proto");
      const numbers = await stream.ask({ case: "allExtensionNumbersOfType", value: "google.protobuf.MethodOptions" });
      assert.equal(numbers.messageResponse.case, "allExtensionNumbersResponse");
      assert.ok(numbers.messageResponse.value.extensionNumber.includes(72295728));

      for (const unknown of [
        { case: "fileContainingSymbol", value: "no.such.Symbol" },
        { case: "fileByFilename", value: "no/such.proto" },
        { case: "fileContainingExtension", value: { $typeName: "grpc.reflection.v1.ExtensionRequest", containingType: "google.protobuf.MethodOptions", extensionNumber: 1 } },
      ] as const) {
        const res = await stream.ask(unknown as ServerReflectionRequest["messageRequest"]);
        assert.equal(res.messageResponse.case, "errorResponse", unknown.case);
        assert.equal(res.messageResponse.value.errorCode, grpc.status.NOT_FOUND);
      }
      assert.equal((await stream.end()).code, grpc.status.OK);

      // the files received form a complete set: it links, and google.api.http reads from it
      const protos = new Map([...collected].map(([name, b]) => [name, fromBinary(FileDescriptorProtoSchema, b)]));
      // dependencies before their importers; a missing one fails here
      const ordered: FileDescriptorProto[] = [];
      const visit = (name: string) => {
        const file = protos.get(name);
        assert.ok(file, `${name} was never sent`);
        if (ordered.includes(file)) return;
        for (const dep of file.dependency) visit(dep);
        ordered.push(file);
      };
      for (const name of protos.keys()) visit(name);
      const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: ordered }));
      const service = registry.getService("zitadel.user.v2.UserService");
      assert.ok(service);
      const get = service.methods.find((m) => m.name === "GetUserByID");
      assert.ok(get);
      const rule = getOption(get, http);
      assert.deepEqual(rule.pattern, { case: "get", value: "/v2/users/{user_id}" });
      assert.ok(registry.getService("zitadel.org.v2.OrganizationService"));
      assert.ok(registry.getService("grpc.health.v1.Health"));
    });
  }

  test("no token is needed, and an unauthenticated API call still is refused", async () => {
    const stream = openStream("v1");
    const list = await stream.ask({ case: "listServices", value: "*" });
    assert.equal(list.messageResponse.case, "listServicesResponse");
    await stream.end();
    const denied = await bufCurl(["-d", JSON.stringify({ userId }), `${roster.baseUrl}/zitadel.user.v2.UserService/GetUserByID`]);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stdout + denied.stderr, /unauthenticated/);
  });
});
