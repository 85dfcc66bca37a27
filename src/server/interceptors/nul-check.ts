/**
 * PostgreSQL's text type cannot hold U+0000, and any query that carries one fails. So a NUL
 * character in any string of a request (at any depth: a path id, a profile name, a metadata
 * key) is refused as a field violation naming the field (errors.md §6), before any check that
 * reads stored data: right after authentication, ahead of the permission check that precedes the
 * field rules for AddHumanUser (auth.md §5), and ahead of the field rules themselves.
 *
 * The walk is cheap: which fields of a message type can hold a string at some depth is decided
 * once per type, and only those are visited.
 */
import { ScalarType, type DescField, type DescMessage, type Message } from "@bufbuild/protobuf";
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import type { Interceptor } from "@connectrpc/connect";
import { FieldViolation } from "../../domain/errors.js";
import { formatSegments, goFieldName, goMessageName, type Segment } from "./validation.js";

export const NUL_REASON = "value must not contain NUL characters";
const NUL = "\u0000";

/** Per message type: the fields that can hold a string, directly or inside nested messages. */
const textFieldsByType = new Map<string, DescField[]>();

function isTextScalar(scalar: ScalarType | undefined): boolean {
  return scalar === ScalarType.STRING;
}

function directlyHoldsText(field: DescField): boolean {
  switch (field.fieldKind) {
    case "scalar":
      return isTextScalar(field.scalar);
    case "list":
      return field.listKind === "scalar" && isTextScalar(field.scalar);
    case "map":
      return isTextScalar(field.mapKey) || (field.mapKind === "scalar" && isTextScalar(field.scalar));
    default:
      return false;
  }
}

function messageOf(field: DescField): DescMessage | undefined {
  if (field.fieldKind === "message") return field.message;
  if (field.fieldKind === "list" && field.listKind === "message") return field.message;
  if (field.fieldKind === "map" && field.mapKind === "message") return field.message;
  return undefined;
}

/** Fills `textFieldsByType` for every message type reachable from `root` (recursive types included). */
function planFor(root: DescMessage): DescField[] {
  const known = textFieldsByType.get(root.typeName);
  if (known) return known;
  const reachable = new Map<string, DescMessage>();
  const pending = [root];
  while (pending.length > 0) {
    const desc = pending.pop()!;
    if (reachable.has(desc.typeName)) continue;
    reachable.set(desc.typeName, desc);
    for (const field of desc.fields) {
      const nested = messageOf(field);
      if (nested) pending.push(nested);
    }
  }
  // a type holds text when one of its fields does, directly or through a type that holds text
  const holds = new Set<string>();
  for (const [name, desc] of reachable) if (desc.fields.some(directlyHoldsText)) holds.add(name);
  for (let changed = true; changed; ) {
    changed = false;
    for (const [name, desc] of reachable) {
      if (holds.has(name)) continue;
      if (desc.fields.some((f) => holds.has(messageOf(f)?.typeName ?? ""))) {
        holds.add(name);
        changed = true;
      }
    }
  }
  for (const [name, desc] of reachable) {
    if (textFieldsByType.has(name)) continue;
    const fields = desc.fields.filter((f) => directlyHoldsText(f) || holds.has(messageOf(f)?.typeName ?? ""));
    textFieldsByType.set(name, fields);
  }
  return textFieldsByType.get(root.typeName)!;
}

function showKey(key: unknown): string {
  return String(key).split(NUL).join("\\u0000");
}

/** Depth-first in declaration order: the path to the first string holding a NUL, if any. */
function findNul(msg: ReflectMessage, trail: Segment[]): Segment[] | undefined {
  for (const field of planFor(msg.desc)) {
    if (!msg.isSet(field)) continue;
    const here = (index?: string): Segment[] => [...trail, { message: goMessageName(msg.desc), member: goFieldName(field.name), index }];
    switch (field.fieldKind) {
      case "scalar":
        if ((msg.get(field) as string).includes(NUL)) return here();
        break;
      case "message": {
        const found = findNul(msg.get(field), here());
        if (found) return found;
        break;
      }
      case "list": {
        const list = msg.get(field);
        for (let i = 0; i < list.size; i++) {
          const item = list.get(i);
          const found =
            field.listKind === "message" ? findNul(item as ReflectMessage, here(`[${i}]`)) : (item as string).includes(NUL) ? here(`[${i}]`) : undefined;
          if (found) return found;
        }
        break;
      }
      case "map":
        for (const [key, value] of msg.get(field)) {
          const at = here(`[${showKey(key)}]`);
          if (typeof key === "string" && key.includes(NUL)) return at;
          const found = field.mapKind === "message" ? findNul(value as ReflectMessage, at) : typeof value === "string" && value.includes(NUL) ? at : undefined;
          if (found) return found;
        }
        break;
    }
  }
  return undefined;
}

/** Throws a FieldViolation naming the first string of `message` that holds a NUL. */
export function checkNoNul(schema: DescMessage, message: Message): void {
  if (planFor(schema).length === 0) return;
  const path = findNul(reflect(schema, message), []);
  if (path) throw new FieldViolation(formatSegments(path, NUL_REASON));
}

export function createNulCheckInterceptor(): Interceptor {
  return (next) => async (req) => {
    if (!req.stream) checkNoNul(req.method.input, req.message);
    return next(req);
  };
}
