/**
 * Services and methods Roster does not declare answer UNIMPLEMENTED in the form of the protocol
 * the client speaks, as connect-go does: gRPC and gRPC-web an HTTP 200 with `grpc-status: 12`,
 * Connect an HTTP 404 with a Connect error body whose code is `unimplemented` (errors.md §8),
 * through real clients and raw requests on one Roster.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { create, type DescMethodUnary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { grpcFrame, grpcStatusOf, grpcWebStatusOf, h1Request, h2Request } from "./support/raw-protocols.js";
import { startTestRoster, type TestRoster } from "./support/roster.js";
import { HealthCheckRequestSchema } from "../src/gen/grpc/health/v1/health_pb.js";
import { ServiceDesc } from "./support/unknown-service.js";

let roster: TestRoster;

before(async () => {
  roster = await startTestRoster();
});

after(async () => {
  await roster?.close();
});

/** Procedures Roster does not serve: an unknown service, a method missing from a served service, a service without package. */
const UNKNOWN = ["/zitadel.session.v2.SessionService/ListSessions", "/zitadel.user.v2.UserService/NoSuchMethod", "/Lonely/Call"];

function grpcJsCall(path: string): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(`127.0.0.1:${roster.port}`, grpc.credentials.createInsecure());
  return new Promise<grpc.ServiceError | null>((resolve) =>
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (err) => resolve(err)),
  ).finally(() => client.close());
}

describe("undeclared services and methods", () => {
  test("grpc-js: UNIMPLEMENTED", async () => {
    for (const path of UNKNOWN) {
      const err = await grpcJsCall(path);
      assert.equal(err?.code, grpc.status.UNIMPLEMENTED, path);
    }
  });

  test("gRPC on the wire: HTTP 200, trailers-only grpc-status 12, no JSON body", async () => {
    for (const path of UNKNOWN) {
      const r = await h2Request(roster.port, { path, headers: { "content-type": "application/grpc", te: "trailers" }, body: grpcFrame(Buffer.alloc(0)) });
      assert.equal(r.failure, undefined, path);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers["content-type"], "application/grpc", path);
      assert.equal(grpcStatusOf(r).code, 12, path);
      assert.equal(r.body.length, 0, path);
    }
  });

  test("gRPC-web (binary and text, HTTP/1.1 and h2): grpc-status 12", async () => {
    for (const path of UNKNOWN) {
      for (const type of ["application/grpc-web+proto", "application/grpc-web-text"]) {
        const body = type.endsWith("text") ? Buffer.from(grpcFrame(Buffer.alloc(0)).toString("base64")) : grpcFrame(Buffer.alloc(0));
        const h1 = await h1Request(roster.port, { path, headers: { "content-type": type, "x-grpc-web": "1" }, body });
        assert.equal(h1.status, 200, `${path} ${type}`);
        assert.equal(grpcWebStatusOf(h1).code, 12, `${path} ${type}`);
        const h2 = await h2Request(roster.port, { path, headers: { "content-type": type, "x-grpc-web": "1" }, body });
        assert.equal(grpcWebStatusOf(h2).code, 12, `${path} ${type}`);
      }
    }
  });

  test("Connect POST and GET: HTTP 404 with the Connect error body", async () => {
    for (const path of UNKNOWN.slice(0, 2)) {
      for (const type of ["application/json", "application/proto"]) {
        const r = await h1Request(roster.port, { path, headers: { "content-type": type }, body: Buffer.from(type === "application/json" ? "{}" : "") });
        assert.equal(r.status, 404, `${path} ${type}`);
        assert.match(String(r.headers["content-type"]), /^application\/json/);
        assert.deepEqual(JSON.parse(r.body.toString("utf8")), { code: "unimplemented", message: "Not Found" });
      }
      const get = await h1Request(roster.port, { method: "GET", path: `${path}?connect=v1&encoding=json&message=%7B%7D` });
      assert.equal(get.status, 404, path);
      assert.deepEqual(JSON.parse(get.body.toString("utf8")), { code: "unimplemented", message: "Not Found" });
    }
  });

  test("connect-es clients of every protocol see Code.Unimplemented", async () => {
    const baseUrl = roster.baseUrl;
    const transports = {
      connect: createConnectTransport({ baseUrl, httpVersion: "1.1" }),
      "connect h2": createConnectTransport({ baseUrl, httpVersion: "2" }),
      grpc: createGrpcTransport({ baseUrl }),
      "grpc-web": createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
    };
    for (const [name, transport] of Object.entries(transports)) {
      const method = ServiceDesc.methods[0] as DescMethodUnary;
      const err = await transport.unary(method, undefined, undefined, undefined, create(HealthCheckRequestSchema), undefined).then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      assert.equal(err?.code, Code.Unimplemented, name);
    }
  });

  test("the request metrics count them under one label, not by path", async () => {
    await grpcJsCall("/made.up.Service/Method1");
    await grpcJsCall("/made.up.Service/Method2");
    const text = await (await fetch(`${roster.baseUrl}/metrics`)).text();
    assert.match(text, /roster_requests_total\{protocol="grpc",procedure="unmatched",code="unimplemented"\} \d+/);
    assert.doesNotMatch(text, /made\.up\.Service/);
  });
});
