/**
 * The OpenAPI 3.1 document of the REST API (`GET /openapi.json`), built at start from the same
 * `google.api.http` annotations the gateway routes by (gateway.ts): one operation per binding,
 * path parameters, query parameters (top-level scalars, where the body is not "*"), request
 * bodies and response schemas from the message descriptors in protojson form (JSON names,
 * 64-bit integers as strings, enums by name, well-known types in their JSON mapping), ZITADEL's
 * error body (errors.md §4) for every failure, and bearer authentication.
 */
import type { DescEnum, DescField, DescMessage, DescService } from "@bufbuild/protobuf";
import { getOption, hasOption, ScalarType } from "@bufbuild/protobuf";
import { http } from "../gen/google/api/annotations_pb.js";
import { bindingsOf, isTopLevelScalar, VARIABLE } from "./gateway.js";

type Schema = Record<string, unknown>;

export interface OpenApiOptions {
  /** Services with `google.api.http` annotations; the others add nothing. */
  services: DescService[];
  /** Services called without a token (no security requirement). */
  tokenless?: Set<string>;
  title?: string;
  version?: string;
}

const ERROR_SCHEMA = "Error";

/** protojson's mapping of the well-known types (https://protobuf.dev/programming-guides/json/). */
const WELL_KNOWN: Record<string, Schema> = {
  "google.protobuf.Timestamp": { type: "string", format: "date-time" },
  "google.protobuf.Duration": { type: "string", pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$" },
  "google.protobuf.FieldMask": { type: "string" },
  "google.protobuf.Struct": { type: "object", additionalProperties: true },
  "google.protobuf.Value": {},
  "google.protobuf.ListValue": { type: "array", items: {} },
  "google.protobuf.NullValue": { type: "null" },
  "google.protobuf.Empty": { type: "object" },
  "google.protobuf.Any": {
    type: "object",
    properties: { "@type": { type: "string" } },
    required: ["@type"],
    additionalProperties: true,
  },
  "google.protobuf.DoubleValue": { type: ["number", "null"] },
  "google.protobuf.FloatValue": { type: ["number", "null"] },
  "google.protobuf.Int64Value": { type: ["string", "null"], format: "int64" },
  "google.protobuf.UInt64Value": { type: ["string", "null"], format: "uint64" },
  "google.protobuf.Int32Value": { type: ["integer", "null"], format: "int32" },
  "google.protobuf.UInt32Value": { type: ["integer", "null"], format: "uint32" },
  "google.protobuf.BoolValue": { type: ["boolean", "null"] },
  "google.protobuf.StringValue": { type: ["string", "null"] },
  "google.protobuf.BytesValue": { type: ["string", "null"], contentEncoding: "base64" },
};

function scalarSchema(scalar: ScalarType): Schema {
  switch (scalar) {
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BYTES:
      return { type: "string", contentEncoding: "base64" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32" };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", format: "uint32", minimum: 0 };
    // protojson writes 64-bit integers as decimal strings (and reads numbers too)
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { type: "string", format: "int64", pattern: "^-?[0-9]+$" };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: "string", format: "uint64", pattern: "^[0-9]+$" };
    case ScalarType.FLOAT:
      return { type: "number", format: "float" };
    case ScalarType.DOUBLE:
      return { type: "number", format: "double" };
  }
}

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

class Schemas {
  readonly components: Record<string, Schema> = {};

  message(message: DescMessage): Schema {
    const known = WELL_KNOWN[message.typeName];
    if (known) return known;
    if (!(message.typeName in this.components)) {
      const properties: Record<string, Schema> = {};
      const schema: Schema = { type: "object", properties };
      this.components[message.typeName] = schema; // before the fields: messages may recurse
      for (const field of message.fields) properties[field.jsonName] = this.field(field);
      const oneofs = message.oneofs.filter((o) => !o.fields.every((f) => f.proto.proto3Optional));
      if (oneofs.length > 0) {
        schema.description = oneofs
          .map((o) => `At most one of ${o.fields.map((f) => `\`${f.jsonName}\``).join(", ")} (oneof \`${o.name}\`).`)
          .join(" ");
      }
    }
    return ref(message.typeName);
  }

  /** The request message without the fields the path binds (they are path parameters). */
  body(message: DescMessage, pathFields: DescField[], name: string): Schema {
    const full = this.message(message);
    if (pathFields.length === 0) return full;
    const properties: Record<string, Schema> = {};
    for (const field of message.fields) if (!pathFields.includes(field)) properties[field.jsonName] = this.field(field);
    const described = this.components[message.typeName]?.description;
    this.components[name] = { type: "object", properties, ...(described ? { description: described } : {}) };
    return ref(name);
  }

  enumeration(e: DescEnum): Schema {
    if (e.typeName === "google.protobuf.NullValue") return { type: "null" };
    if (!(e.typeName in this.components)) {
      this.components[e.typeName] = { type: "string", enum: e.values.map((v) => v.name) };
    }
    return ref(e.typeName);
  }

  field(field: DescField): Schema {
    switch (field.fieldKind) {
      case "scalar":
        return scalarSchema(field.scalar);
      case "enum":
        return this.enumeration(field.enum);
      case "message":
        return this.message(field.message);
      case "list":
        return {
          type: "array",
          items:
            field.listKind === "scalar" ? scalarSchema(field.scalar) : field.listKind === "enum" ? this.enumeration(field.enum) : this.message(field.message),
        };
      case "map":
        return {
          type: "object",
          additionalProperties:
            field.mapKind === "scalar" ? scalarSchema(field.scalar) : field.mapKind === "enum" ? this.enumeration(field.enum) : this.message(field.message),
        };
    }
  }
}

export function buildOpenApiDocument(opts: OpenApiOptions): Record<string, unknown> {
  const schemas = new Schemas();
  const paths: Record<string, Record<string, unknown>> = {};
  const operationIds = new Set<string>();
  const tags: Array<{ name: string; description: string }> = [];

  for (const service of opts.services) {
    let tagged = false;
    for (const method of service.methods) {
      if (method.methodKind !== "unary" || !hasOption(method, http)) continue;
      if (!tagged) {
        tags.push({ name: service.name, description: `${service.typeName} (also on gRPC, gRPC-web and Connect)` });
        tagged = true;
      }
      for (const binding of bindingsOf(getOption(method, http))) {
        const input = method.input;
        const pathFields: DescField[] = [];
        const path =
          "/" +
          binding.path
            .slice(1)
            .split("/")
            .map((segment) => {
              const variable = VARIABLE.exec(segment);
              if (!variable) return segment;
              const field = input.fields.find((f) => f.name === variable[1])!;
              pathFields.push(field);
              return `{${field.jsonName}}`;
            })
            .join("/");
        let operationId = `${service.name}_${method.name}`;
        for (let n = 2; operationIds.has(operationId); n++) operationId = `${service.name}_${method.name}_${n}`;
        operationIds.add(operationId);

        const parameters: Schema[] = pathFields.map((field) => ({
          name: field.jsonName,
          in: "path",
          required: true,
          schema: schemas.field(field),
        }));
        let requestBody: Schema | undefined;
        if (binding.body === "*") {
          requestBody = { required: true, content: { "application/json": { schema: schemas.body(input, pathFields, `${service.name}_${method.name}Body`) } } };
        } else {
          const bodyField = binding.body === "" ? undefined : input.fields.find((f) => f.name === binding.body);
          if (bodyField) requestBody = { required: true, content: { "application/json": { schema: schemas.field(bodyField) } } };
          for (const field of input.fields) {
            if (!isTopLevelScalar(field) || pathFields.includes(field) || field === bodyField) continue;
            parameters.push({ name: field.jsonName, in: "query", required: false, schema: schemas.field(field) });
          }
        }
        parameters.push({
          name: "x-zitadel-orgid",
          in: "header",
          required: false,
          description: "The organization the request acts in (default: the caller's).",
          schema: { type: "string" },
        });

        const tokenless = opts.tokenless?.has(service.typeName) ?? false;
        const operation: Schema = {
          operationId,
          tags: [service.name],
          summary: `${method.name} (${service.typeName}/${method.name})`,
          parameters,
          ...(requestBody ? { requestBody } : {}),
          responses: {
            "200": { description: "OK", content: { "application/json": { schema: schemas.message(method.output) } } },
            default: {
              description: "An error: `code` is the gRPC status code, the HTTP status follows from it.",
              content: { "application/json": { schema: ref(ERROR_SCHEMA) } },
            },
          },
          ...(tokenless ? { security: [] } : {}),
        };
        (paths[path] ??= {})[binding.httpMethod.toLowerCase()] = operation;
      }
    }
  }

  schemas.components[ERROR_SCHEMA] = {
    type: "object",
    description: "google.rpc.Status in JSON, as ZITADEL answers errors on REST.",
    properties: {
      code: { type: "integer", format: "int32", description: "gRPC status code (5 = NOT_FOUND, …)." },
      message: { type: "string", description: "English text; ends with the error ID in parentheses when there is one." },
      details: {
        type: "array",
        items: {
          type: "object",
          properties: {
            "@type": { type: "string", examples: ["type.googleapis.com/zitadel.v1.ErrorDetail"] },
            id: { type: "string" },
            message: { type: "string" },
          },
          required: ["@type"],
          additionalProperties: true,
        },
      },
    },
    required: ["code", "message"],
  };

  return {
    openapi: "3.1.0",
    info: {
      title: opts.title ?? "Roster",
      version: opts.version ?? "v2",
      description: "REST mapping of the API (google.api.http annotations). The same RPCs answer on gRPC, gRPC-web and Connect on the same port.",
    },
    servers: [{ url: "/" }],
    tags,
    paths,
    components: {
      schemas: schemas.components,
      securitySchemes: {
        bearerAuth: { type: "http", scheme: "bearer", description: "A personal access token or a JWT access token." },
      },
    },
    security: [{ bearerAuth: [] }],
  };
}
