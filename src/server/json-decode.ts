/**
 * The one JSON decoding rule for request messages, on REST, Connect JSON, gRPC-web JSON and
 * gRPC JSON alike (contract.md §3, errors.md §7): unknown fields are ignored; everything else
 * (invalid UTF-8, invalid JSON, wrong JSON types, unknown enum names, two members of one oneof)
 * is a decoding error.
 *
 * protobuf-es's `fromJson` cannot express that by itself: its `ignoreUnknownFields` also
 * ignores unknown enum names. So unknown fields are dropped first and `fromJson` runs strictly.
 */
import { fromJson, type DescMessage, type JsonObject, type JsonValue, type Message } from "@bufbuild/protobuf";

/** Why a JSON request body is not a request message; its text is the client's error message. */
export class JsonDecodeError extends Error {
  override readonly name = "JsonDecodeError";
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Parses a JSON request body. `empty` says what a body without any JSON text is: REST reads it
 * as the empty message, Connect and gRPC(-web) as a decoding error (errors.md §7).
 */
export function parseJsonBody(raw: Uint8Array, empty: "empty message" | "error"): JsonValue {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new JsonDecodeError("request body is not valid UTF-8");
  }
  if (text.trim() === "" && empty === "empty message") return {};
  try {
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    throw new JsonDecodeError(`invalid JSON in request body: ${(err as Error).message}`);
  }
}

function isObject(v: JsonValue): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Drops the keys `schema` does not know, at every depth, in place. Well-known types keep their
 * own JSON forms and are left alone.
 */
export function pruneUnknownFields(schema: DescMessage, json: JsonValue): void {
  if (!isObject(json) || schema.typeName.startsWith("google.protobuf.")) return;
  for (const key of Object.keys(json)) {
    const field = schema.fields.find((f) => f.jsonName === key || f.name === key);
    if (!field) {
      delete json[key];
      continue;
    }
    const value = json[key]!;
    if (field.fieldKind === "message") pruneUnknownFields(field.message, value);
    else if (field.fieldKind === "list" && field.listKind === "message" && Array.isArray(value)) {
      for (const item of value) pruneUnknownFields(field.message, item);
    } else if (field.fieldKind === "map" && field.mapKind === "message" && isObject(value)) {
      for (const item of Object.values(value)) pruneUnknownFields(field.message, item);
    }
  }
}

/**
 * The request message of a parsed JSON value under the rule above. `json` is pruned in place,
 * so that afterwards it decodes strictly anywhere.
 */
export function messageFromJson<Desc extends DescMessage>(schema: Desc, json: JsonValue): Message {
  if (!isObject(json)) throw new JsonDecodeError(`request body must be a JSON object for ${schema.typeName}`);
  try {
    pruneUnknownFields(schema, json);
    return fromJson(schema, json);
  } catch (err) {
    // protobuf-es errors (wrong type, unknown enum name, …) and a stack overflow on absurd nesting
    throw new JsonDecodeError(err instanceof Error ? err.message : String(err));
  }
}
