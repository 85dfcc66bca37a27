/**
 * `GET /openapi.json`: an OpenAPI 3.1 document of the REST API that an OpenAPI validator
 * accepts, that covers every google.api.http binding, and whose every operation, called as
 * documented, is routed (never the gateway's 404/405) and answers with the documented shape:
 * the response schema on 200, the error schema otherwise.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { hasOption } from "@bufbuild/protobuf";
import { http } from "../src/gen/google/api/annotations_pb.js";
import { OrganizationService } from "../src/gen/zitadel/org/v2/org_service_pb.js";
import { SelfService } from "../src/gen/roster/selfservice/v1/self_service_pb.js";
import { UserService } from "../src/gen/zitadel/user/v2/user_service_pb.js";
import { newHuman, rest } from "./support/fixtures.js";
import { startTestRoster, type TestRoster } from "./support/roster.js";

type Schema = Record<string, unknown>;
interface Operation {
  operationId: string;
  parameters?: Array<{ name: string; in: string; required?: boolean; schema: Schema }>;
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
  security?: unknown[];
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; securitySchemes: Record<string, Schema> };
  security: unknown[];
}

let roster: TestRoster;
let doc: Document;

before(async () => {
  roster = await startTestRoster();
  const res = await fetch(`${roster.baseUrl}/openapi.json`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  doc = (await res.json()) as Document;
});

after(async () => {
  await roster?.close();
});

/**
 * The subset of JSON Schema the document uses: $ref, type (one or several), properties (and no
 * property the schema does not name, unless additionalProperties allows it), items, enum,
 * pattern, format date-time. Returns the problems found.
 */
function check(value: unknown, schema: Schema, where: string, problems: string[] = []): string[] {
  if (typeof schema.$ref === "string") {
    const name = schema.$ref.replace("#/components/schemas/", "");
    const target = doc.components.schemas[name];
    if (!target) problems.push(`${where}: dangling ${schema.$ref}`);
    else check(value, target, where, problems);
    return problems;
  }
  const types = schema.type === undefined ? undefined : ([] as string[]).concat(schema.type as string | string[]);
  const typeOf = value === null ? "null" : Array.isArray(value) ? "array" : Number.isInteger(value) ? "integer" : typeof value;
  if (types && !types.includes(typeOf) && !(typeOf === "integer" && types.includes("number"))) {
    problems.push(`${where}: ${JSON.stringify(value)} is not ${types.join("|")}`);
    return problems;
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) problems.push(`${where}: ${JSON.stringify(value)} not in enum`);
  if (typeof value === "string" && typeof schema.pattern === "string" && !new RegExp(schema.pattern).test(value)) problems.push(`${where}: "${value}" !~ ${schema.pattern}`);
  if (typeof value === "string" && schema.format === "date-time" && Number.isNaN(Date.parse(value))) problems.push(`${where}: "${value}" is no date-time`);
  if (typeOf === "array" && schema.items) (value as unknown[]).forEach((v, i) => check(v, schema.items as Schema, `${where}[${i}]`, problems));
  if (typeOf === "object") {
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (props[k]) check(v, props[k], `${where}.${k}`, problems);
      else if (typeof schema.additionalProperties === "object") check(v, schema.additionalProperties as Schema, `${where}.${k}`, problems);
      else if (schema.additionalProperties !== true && schema.properties) problems.push(`${where}: undocumented property "${k}"`);
    }
    for (const k of (schema.required ?? []) as string[]) if (!(k in (value as object))) problems.push(`${where}: missing "${k}"`);
  }
  return problems;
}

describe("the OpenAPI document", () => {
  test("is valid OpenAPI 3.1 (@seriousme/openapi-schema-validator)", async () => {
    assert.equal(doc.openapi, "3.1.0");
    const result = await new Validator().validate(doc as never);
    assert.equal(result.valid, true, JSON.stringify(result.errors));
  });

  test("documents every REST route with its parameters, bearer auth and the error schema", () => {
    const ops = Object.values(doc.paths).flatMap((methods) => Object.values(methods));
    const annotated = [UserService, OrganizationService, SelfService].flatMap((s) => s.methods.filter((m) => hasOption(m, http)).map((m) => `${s.name}_${m.name}`));
    assert.ok(annotated.length >= 19);
    assert.deepEqual(ops.map((o) => o.operationId).sort(), annotated.sort());
    const get = doc.paths["/v2/users/{userId}"]?.get;
    assert.equal(get?.operationId, "UserService_GetUserByID");
    assert.deepEqual(get?.parameters?.find((p) => p.in === "path"), { name: "userId", in: "path", required: true, schema: { type: "string" } });
    // the body of a route with path parameters: the request message without them
    const update = doc.paths["/v2/users/human/{userId}"]?.put?.requestBody?.content["application/json"]?.schema;
    assert.equal(update?.$ref, "#/components/schemas/UserService_UpdateHumanUserBody");
    const updateBody = doc.components.schemas.UserService_UpdateHumanUserBody as { properties: Record<string, Schema> };
    assert.equal(updateBody.properties.userId, undefined);
    assert.ok(updateBody.properties.username && updateBody.properties.profile);
    assert.equal(doc.paths["/v2/users/human"]?.post?.requestBody?.content["application/json"]?.schema.$ref, "#/components/schemas/zitadel.user.v2.AddHumanUserRequest");
    assert.deepEqual(doc.components.securitySchemes.bearerAuth, { type: "http", scheme: "bearer", description: "A personal access token or a JWT access token." });
    assert.deepEqual(doc.security, [{ bearerAuth: [] }]);
    for (const op of ops) assert.equal(op.responses.default?.content?.["application/json"]?.schema.$ref, "#/components/schemas/Error", op.operationId);
    // protojson: JSON names, Timestamp as date-time, uint64 as a decimal string, enums by name
    const details = doc.components.schemas["zitadel.object.v2.Details"] as { properties: Record<string, Schema> };
    assert.deepEqual(details.properties.changeDate, { type: "string", format: "date-time" });
    assert.equal(details.properties.sequence?.type, "string");
    assert.equal(details.properties.resourceOwner?.type, "string");
    const state = doc.components.schemas["zitadel.user.v2.UserState"] as { type: string; enum: string[] };
    assert.equal(state.type, "string");
    assert.ok(state.enum.includes("USER_STATE_ACTIVE"));
  });

  test("every documented operation is routed and answers with the documented shape", async () => {
    const statuses = new Map<string, number>();
    for (const [template, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        // each operation on a user of its own, so that deleting or locking one changes no other
        const added = await rest(roster, "POST", "/v2/users/human", { token: roster.adminToken, body: newHuman({}, "openapi") });
        assert.equal(added.status, 200, JSON.stringify(added.body));
        const values: Record<string, string> = { userId: added.body.userId as string };
        let path = template;
        for (const p of op.parameters ?? []) {
          if (p.in !== "path") continue;
          assert.ok(values[p.name], `${op.operationId}: no value for path parameter ${p.name}`);
          path = path.replace(`{${p.name}}`, encodeURIComponent(values[p.name]!));
        }
        const headers: Record<string, string> = op.security?.length === 0 ? {} : { authorization: `Bearer ${roster.adminToken}` };
        let body: string | undefined;
        if (op.requestBody) {
          headers["content-type"] = "application/json";
          body = "{}";
        }
        const res = await fetch(`${roster.baseUrl}${path}`, { method: method.toUpperCase(), headers, body });
        const json = (await res.json()) as Record<string, unknown>;
        const label = `${op.operationId} ${method.toUpperCase()} ${path} → ${res.status} ${JSON.stringify(json)}`;
        assert.ok(res.status !== 405, label);
        assert.ok(!(res.status === 404 && json.message === "Not Found"), `routing 404: ${label}`);
        const documented = op.responses[String(res.status)] ?? op.responses.default;
        const schema = documented?.content?.["application/json"]?.schema;
        assert.ok(schema, label);
        assert.deepEqual(check(json, schema, op.operationId), [], label);
        statuses.set(op.operationId, res.status);
      }
    }
    // the reads and the state changes that need no body beyond the path succeed
    for (const id of ["UserService_GetUserByID", "UserService_ListUsers", "UserService_DeleteUser", "UserService_LockUser", "UserService_DeactivateUser", "OrganizationService_ListOrganizations"]) {
      assert.equal(statuses.get(id), 200, `${id}: ${statuses.get(id)}`);
    }
  });

  test("a successful response with nested messages, timestamps and enums matches its schema", async () => {
    const added = await rest(roster, "POST", "/v2/users/human", {
      token: roster.adminToken,
      body: newHuman({ phone: { phone: "+41791234567", isVerified: true } }, "shape"),
    });
    const got = await rest(roster, "GET", `/v2/users/${added.body.userId as string}`, { token: roster.adminToken });
    assert.equal(got.status, 200);
    assert.ok(got.body.details?.changeDate, JSON.stringify(got.body));
    assert.deepEqual(check(got.body, doc.paths["/v2/users/{userId}"]!.get!.responses["200"]!.content!["application/json"]!.schema, "GetUserByID"), []);
    const list = await rest(roster, "POST", "/v2/users", { token: roster.adminToken, body: {} });
    assert.equal(list.status, 200);
    assert.ok(list.body.result.length > 0);
    assert.deepEqual(check(list.body, doc.paths["/v2/users"]!.post!.responses["200"]!.content!["application/json"]!.schema, "ListUsers"), []);
  });
});
