/**
 * REST gateway (contract.md §7.1): routes come from the `google.api.http` annotations of the
 * registered services. A matched request is decoded from JSON and sent through the in-process
 * Connect transport, so auth, validation, error mapping and handlers exist once.
 */
import type { DescField, DescMessage, DescMethodUnary, DescService, JsonObject, JsonValue } from "@bufbuild/protobuf";
import { getOption, hasOption, ScalarType, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import type { Logger } from "pino";
import { http } from "../gen/google/api/annotations_pb.js";
import type { HttpRule } from "../gen/google/api/http_pb.js";
import { internalConnectError, restErrorFromConnect, type RestErrorBody } from "./error-mapping.js";
import { codeName, requestLogOf, type NodeRequest, type NodeResponse } from "./interceptors/logging.js";
import { JsonDecodeError, messageFromJson, parseJsonBody } from "./json-decode.js";

/** Request headers the RPC layer reads (contract.md §2, auth.md §8). */
const FORWARDED_HEADERS = ["authorization", "x-zitadel-orgid", "if-match", "origin"] as const;

interface Route {
  httpMethod: string;
  method: DescMethodUnary;
  /** Fields bound by the template's variables, in path order. */
  pathFields: DescField[];
  /** "*" (whole message), a field name, or "" (no body). */
  body: string;
}

interface Node {
  literals: Map<string, Node>;
  variable?: Node;
  routes: Route[];
}

interface Match {
  route: Route;
  values: string[];
}

function newNode(): Node {
  return { literals: new Map(), routes: [] };
}

/** Every (method, path, body) binding of a rule, its additional bindings included (also read by openapi.ts). */
export function bindingsOf(rule: HttpRule): Array<{ httpMethod: string; path: string; body: string }> {
  const out: Array<{ httpMethod: string; path: string; body: string }> = [];
  const p = rule.pattern;
  switch (p.case) {
    case "get":
    case "put":
    case "post":
    case "delete":
    case "patch":
      out.push({ httpMethod: p.case.toUpperCase(), path: p.value, body: rule.body });
      break;
    case "custom":
      out.push({ httpMethod: p.value.kind.toUpperCase(), path: p.value.path, body: rule.body });
      break;
  }
  for (const extra of rule.additionalBindings) out.push(...bindingsOf(extra));
  return out;
}

function fieldByName(schema: DescMessage, name: string, where: string): DescField {
  const field = schema.fields.find((f) => f.name === name);
  if (!field) throw new Error(`${where}: ${schema.typeName} has no field "${name}"`);
  return field;
}

export const VARIABLE = /^\{([A-Za-z_][A-Za-z0-9_]*)(?:=\*)?\}$/;

/** The route table: a segment trie, built once at start. */
export class RouteTable {
  private readonly root = newNode();

  add(method: DescMethodUnary, httpMethod: string, template: string, body: string): void {
    const where = `${method.parent.typeName}.${method.name} ${httpMethod} ${template}`;
    if (!template.startsWith("/") || template.includes(":")) throw new Error(`${where}: unsupported path template`);
    const pathFields: DescField[] = [];
    let node = this.root;
    for (const segment of template.slice(1).split("/")) {
      const variable = VARIABLE.exec(segment);
      if (variable) {
        pathFields.push(fieldByName(method.input, variable[1], where));
        node = node.variable ??= newNode();
      } else if (segment.includes("{") || segment.includes("*")) {
        throw new Error(`${where}: unsupported path segment "${segment}"`);
      } else {
        let next = node.literals.get(segment);
        if (!next) node.literals.set(segment, (next = newNode()));
        node = next;
      }
    }
    if (body !== "" && body !== "*") fieldByName(method.input, body, where);
    node.routes.push({ httpMethod, method, pathFields, body });
  }

  /** Every route whose template matches the path, literal segments before variables. */
  match(segments: string[]): Match[] {
    const out: Match[] = [];
    const walk = (node: Node, i: number, values: string[]): void => {
      if (i === segments.length) {
        for (const route of node.routes) out.push({ route, values });
        return;
      }
      const literal = node.literals.get(segments[i]);
      if (literal) walk(literal, i + 1, values);
      if (node.variable && segments[i] !== "") walk(node.variable, i + 1, [...values, segments[i]]);
    };
    walk(this.root, 0, []);
    return out;
  }
}

export function buildRouteTable(services: DescService[]): RouteTable {
  const table = new RouteTable();
  for (const service of services) {
    for (const method of service.methods) {
      if (method.methodKind !== "unary" || !hasOption(method, http)) continue;
      for (const b of bindingsOf(getOption(method, http))) table.add(method as DescMethodUnary, b.httpMethod, b.path, b.body);
    }
  }
  return table;
}

/** A path or query value as the JSON value protojson expects for the field. */
function jsonOfText(field: DescField, text: string): JsonValue {
  const scalar = field.fieldKind === "scalar" || field.fieldKind === "list" ? field.scalar : undefined;
  if (field.fieldKind === "enum" || (field.fieldKind === "list" && field.listKind === "enum")) {
    return /^-?\d+$/.test(text) ? Number(text) : text;
  }
  switch (scalar) {
    case ScalarType.BOOL:
      if (text === "true" || text === "false") return text === "true";
      throw new JsonDecodeError(`invalid value for bool field ${field.name}: "${text}"`);
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
    case ScalarType.FLOAT:
    case ScalarType.DOUBLE:
      return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
    default:
      return text;
  }
}

/** A field a path or query parameter can set: a scalar or enum, or a list of them. */
export function isTopLevelScalar(field: DescField): boolean {
  return (
    field.fieldKind === "scalar" ||
    field.fieldKind === "enum" ||
    (field.fieldKind === "list" && (field.listKind === "scalar" || field.listKind === "enum"))
  );
}

function setJsonField(obj: JsonObject, field: DescField, value: JsonValue): void {
  delete obj[field.name];
  obj[field.jsonName] = value;
}

function parseBody(raw: Buffer): JsonValue {
  return parseJsonBody(raw, "empty message");
}

function isObject(v: JsonValue): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Path variables override body fields; query parameters fill top-level scalars when there is no body "*". */
function requestJson(route: Route, pathValues: string[], query: URLSearchParams, raw: Buffer): JsonObject {
  const input = route.method.input;
  let obj: JsonObject = {};
  if (route.body === "*") {
    const parsed = parseBody(raw);
    if (!isObject(parsed)) throw new JsonDecodeError(`request body must be a JSON object for ${input.typeName}`);
    obj = parsed;
  } else {
    if (route.body !== "") obj[fieldByName(input, route.body, "body").jsonName] = parseBody(raw);
    for (const field of input.fields) {
      if (!isTopLevelScalar(field) || route.pathFields.includes(field)) continue;
      const values = [...query.getAll(field.jsonName), ...(field.jsonName === field.name ? [] : query.getAll(field.name))];
      if (values.length === 0) continue;
      const json = values.map((v) => jsonOfText(field, v));
      setJsonField(obj, field, field.fieldKind === "list" ? json : json[json.length - 1]);
    }
  }
  route.pathFields.forEach((field, i) => {
    let text: string;
    try {
      text = decodeURIComponent(pathValues[i]);
    } catch {
      throw new JsonDecodeError(`invalid percent-encoding in path segment "${pathValues[i]}"`);
    }
    setJsonField(obj, field, jsonOfText(field, text));
  });
  return obj;
}

async function readBody(req: NodeRequest, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function tooLarge(maxBytes: number): ConnectError {
  return new ConnectError(`request body larger than ${maxBytes} bytes`, Code.ResourceExhausted);
}

function send(res: NodeResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { ...headers, "content-type": "application/json", "content-length": String(Buffer.byteLength(payload)) });
  res.end(payload);
}

export interface GatewayOptions {
  logger: Logger;
  services: DescService[];
  transport: Transport;
  maxRequestBytes: number;
}

export type NodeHandler = (req: NodeRequest, res: NodeResponse) => void;

export function createGateway(opts: GatewayOptions): NodeHandler {
  const table = buildRouteTable(opts.services);

  const routingError = (res: NodeResponse, status: number, body: RestErrorBody, headers?: Record<string, string>) =>
    send(res, status, body, headers);

  async function serve(req: NodeRequest, res: NodeResponse): Promise<void> {
    const record = requestLogOf(req);
    if (record) record.protocol = "rest";
    const url = new URL(req.url ?? "/", "http://gateway.invalid");
    const matches = table.match(url.pathname.slice(1).split("/"));
    if (matches.length === 0) {
      if (record) record.code = codeName(Code.NotFound);
      return routingError(res, 404, { code: Code.NotFound, message: "Not Found" });
    }
    const chosen = matches.find((m) => m.route.httpMethod === req.method);
    if (!chosen) {
      if (record) record.code = codeName(Code.Unimplemented);
      const allow = [...new Set(matches.map((m) => m.route.httpMethod))].join(", ");
      return routingError(res, 405, { code: Code.Unimplemented, message: "Method Not Allowed" }, { allow });
    }
    const { method } = chosen.route;
    if (record) record.procedure = `/${method.parent.typeName}/${method.name}`;

    try {
      const raw = await readBody(req, opts.maxRequestBytes);
      let message;
      try {
        // unknown fields ignored, unknown enum names refused, as on every protocol
        message = messageFromJson(method.input, requestJson(chosen.route, chosen.values, url.searchParams, raw));
      } catch (err) {
        throw new ConnectError(err instanceof Error ? err.message : String(err), Code.InvalidArgument);
      }
      const headers = new Headers();
      for (const name of FORWARDED_HEADERS) {
        const value = req.headers[name];
        if (typeof value === "string") headers.set(name, value);
      }
      const abort = new AbortController();
      const onClose = () => {
        if (!res.writableEnded) abort.abort();
      };
      res.once("close", onClose);
      const response = await opts.transport.unary(method, abort.signal, undefined, headers, message, undefined);
      const etag = response.header.get("etag");
      if (record) record.code = "ok";
      send(res, 200, toJson(method.output, response.message), etag ? { etag } : {});
    } catch (err) {
      let connectErr: ConnectError;
      if (err instanceof ConnectError) {
        connectErr = err;
      } else {
        opts.logger.error({ err, procedure: record?.procedure }, "unexpected error in REST gateway");
        connectErr = internalConnectError();
      }
      if (record) record.code = codeName(connectErr.code);
      const { status, body, headers } = restErrorFromConnect(connectErr);
      if (!res.headersSent) send(res, status, body, headers);
      else res.end();
    }
  }

  return (req, res) => {
    serve(req, res).catch((err: unknown) => {
      opts.logger.error({ err }, "REST gateway failed to answer");
      if (!res.headersSent) send(res, 500, restErrorFromConnect(internalConnectError()).body);
      else res.destroy();
    });
  };
}
