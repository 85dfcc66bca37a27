/**
 * Field rules (contract.md §4): protovalidate first, then the email rule that lives in code.
 * Only the first violation is reported, worded the way ZITADEL's validator words it
 * (errors.md §6), as a FieldViolation.
 */
import type { DescField, DescMessage, DescOneof, Message } from "@bufbuild/protobuf";
import { getOption, hasOption } from "@bufbuild/protobuf";
import { reflect, type Path, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import { createValidator, type Violation } from "@bufbuild/protovalidate";
import { field as fieldRulesExt, type FieldRules } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import type { Interceptor } from "@connectrpc/connect";
import { FieldViolation } from "../../domain/errors.js";
import { isEmailFieldValid } from "../../domain/users/email.js";

/** One step of a ZITADEL violation path: `<Message>.<Field>[index]`. */
export interface Segment {
  message: string;
  member: string;
  index?: string;
}

const EMBEDDED = "embedded message failed validation";

/** Go's generated names, which ZITADEL's messages use: `user_id` → `UserId`. */
export function goFieldName(protoName: string): string {
  return protoName
    .split("_")
    .map((part, i) => {
      if (part === "") return i === 0 ? "X" : "_";
      if (/^[a-z]/.test(part)) return part[0].toUpperCase() + part.slice(1);
      return i === 0 ? part : `_${part}`;
    })
    .join("");
}

/** Nested messages are `Outer_Inner` in Go. */
export function goMessageName(desc: DescMessage): string {
  const pkg = desc.file.proto.package;
  const local = pkg ? desc.typeName.slice(pkg.length + 1) : desc.typeName;
  return local.split(".").join("_");
}

export function formatSegments(segments: Segment[], reason: string): string {
  return segments
    .map((s, i) => {
      const head = `invalid ${s.message}.${s.member}${s.index ?? ""}`;
      return `${head}: ${i === segments.length - 1 ? reason : EMBEDDED}`;
    })
    .join(" | caused by: ");
}

function segmentsOfPath(path: Path): Segment[] {
  const segments: Segment[] = [];
  for (const item of path) {
    switch (item.kind) {
      case "field":
        segments.push({ message: goMessageName(item.parent), member: goFieldName(item.name) });
        break;
      case "oneof":
        segments.push({ message: goMessageName(item.parent), member: goFieldName(item.name) });
        break;
      case "extension":
        segments.push({ message: goMessageName(item.extendee), member: goFieldName(item.name) });
        break;
      case "list_sub":
        if (segments.length > 0) segments[segments.length - 1].index = `[${item.index}]`;
        break;
      case "map_sub":
        if (segments.length > 0) segments[segments.length - 1].index = `[${String(item.key)}]`;
        break;
    }
  }
  return segments;
}

function lastField(path: Path): DescField | DescOneof | undefined {
  for (let i = path.length - 1; i >= 0; i--) {
    const item = path[i];
    if (item.kind === "field" || item.kind === "oneof") return item;
  }
  return undefined;
}

/** The rules that apply to the violating value: for a list element, the `repeated.items` rules. */
function rulesOf(path: Path): FieldRules | undefined {
  const member = lastField(path);
  if (!member || member.kind !== "field" || !hasOption(member, fieldRulesExt)) return undefined;
  const rules = getOption(member, fieldRulesExt);
  const elementAccess = path[path.length - 1].kind === "list_sub";
  if (elementAccess && rules.type.case === "repeated" && rules.type.value.items) return rules.type.value.items;
  return rules;
}

function lengthReason(min: bigint | undefined, max: bigint | undefined, unit: "runes" | "bytes"): string | undefined {
  // `min_len: 0` is written out in some rules; it constrains nothing.
  if (min === 0n) min = undefined;
  if (min !== undefined && max !== undefined) return `value length must be between ${min} and ${max} ${unit}, inclusive`;
  if (max !== undefined) return `value length must be at most ${max} ${unit}`;
  if (min !== undefined) return `value length must be at least ${min} ${unit}`;
  return undefined;
}

function reasonOf(v: Violation): string {
  const rules = rulesOf(v.field);
  switch (v.ruleId) {
    case "required":
      return "value is required";
    case "enum.defined_only":
      return "value must be one of the defined enum values";
    case "bool.const":
      return rules?.type.case === "bool" && rules.type.value.const !== undefined
        ? `value must equal ${rules.type.value.const}`
        : v.message;
    case "string.min_len":
    case "string.max_len":
      return (rules?.type.case === "string" && lengthReason(rules.type.value.minLen, rules.type.value.maxLen, "runes")) || v.message;
    case "bytes.min_len":
    case "bytes.max_len":
      return (rules?.type.case === "bytes" && lengthReason(rules.type.value.minLen, rules.type.value.maxLen, "bytes")) || v.message;
    default:
      return v.message;
  }
}

export function formatViolation(v: Violation): string {
  return formatSegments(segmentsOfPath(v.field), reasonOf(v));
}

/** Fields whose email rule is checked in code (protovalidate has no RFC 5322 mailbox rule). */
const EMAIL_FIELDS = new Set(["zitadel.user.v2.SetHumanEmail.email", "zitadel.user.v2.SetEmailRequest.email"]);

/**
 * Where a violation sits in the order the field rules are checked: per level, the field's index
 * in declaration order (oneof rules come after all fields), then the element's index.
 */
type Position = number[];

function positionOfPath(path: Path): Position {
  const position: Position = [];
  for (const item of path) {
    switch (item.kind) {
      case "field":
        position.push(item.parent.fields.indexOf(item));
        break;
      case "oneof":
        position.push(item.parent.fields.length);
        break;
      case "extension":
        position.push(Number.MAX_SAFE_INTEGER);
        break;
      case "list_sub":
        position.push(item.index);
        break;
      case "map_sub":
        position.push(0);
        break;
    }
  }
  return position;
}

/** True when `a` is checked before `b`; a rule on the same field as the email rule comes first. */
function isBefore(a: Position, b: Position): boolean {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] < b[i];
  }
  return a.length <= b.length;
}

interface EmailViolation {
  segments: Segment[];
  position: Position;
}

/** Whether a message of this type can contain an email field at any depth. */
function canHoldEmail(desc: DescMessage, visiting = new Set<string>()): boolean {
  if (visiting.has(desc.typeName)) return false; // this path is a cycle; other paths decide
  visiting.add(desc.typeName);
  const holds = desc.fields.some(
    (f) => EMAIL_FIELDS.has(`${desc.typeName}.${f.name}`) || (f.message !== undefined && canHoldEmail(f.message, visiting)),
  );
  visiting.delete(desc.typeName);
  return holds;
}

/** Depth-first in declaration order, like the field rules: the first invalid email field, if any. */
function findInvalidEmail(msg: ReflectMessage, trail: Segment[], at: Position): EmailViolation | undefined {
  for (const [fieldIndex, field] of msg.fields.entries()) {
    if (!msg.isSet(field)) continue;
    const here = (index?: string): Segment[] => [
      ...trail,
      { message: goMessageName(msg.desc), member: goFieldName(field.name), index },
    ];
    const position = [...at, fieldIndex];
    switch (field.fieldKind) {
      case "scalar":
        if (EMAIL_FIELDS.has(`${msg.desc.typeName}.${field.name}`) && !isEmailFieldValid(msg.get(field) as string)) {
          return { segments: here(), position };
        }
        break;
      case "message": {
        const found = findInvalidEmail(msg.get(field), here(), position);
        if (found) return found;
        break;
      }
      case "list":
        if (field.listKind === "message") {
          const list = msg.get(field);
          for (let i = 0; i < list.size; i++) {
            const found = findInvalidEmail(list.get(i) as ReflectMessage, here(`[${i}]`), [...position, i]);
            if (found) return found;
          }
        }
        break;
      case "map":
        if (field.mapKind === "message") {
          for (const [key, value] of msg.get(field)) {
            const found = findInvalidEmail(value as ReflectMessage, here(`[${String(key)}]`), [...position, 0]);
            if (found) return found;
          }
        }
        break;
    }
  }
  return undefined;
}

/** Whether a message of this type can contain, at some depth, a message of a type among its ancestors. */
function hasCycle(desc: DescMessage, ancestors: string[] = []): boolean {
  if (ancestors.includes(desc.typeName)) return true;
  const next = [...ancestors, desc.typeName];
  return desc.fields.some((f) => f.message !== undefined && (next.includes(f.message.typeName) || hasCycle(f.message, next)));
}

interface NestedViolation {
  segments: Segment[];
  position: Position;
  reason: string;
}

type Validator = ReturnType<typeof createValidator>;

/**
 * protovalidate (1.3) leaves out the rules of a message that recurs inside itself below its first
 * level: its planner prunes the cycle while that type is still being planned, so a SearchQuery
 * inside OrQuery, AndQuery or NotQuery is not checked at all. Here every sub-message reached
 * through such a cycle is validated on its own, depth-first in declaration order, and the first
 * violation of each is placed at its position in the whole request; the earliest one is returned.
 */
function findNestedViolation(validator: Validator, msg: ReflectMessage, trail: Segment[], at: Position, ancestors: string[]): NestedViolation | undefined {
  let best: NestedViolation | undefined;
  const consider = (v: NestedViolation | undefined) => {
    if (v && (!best || !isBefore(best.position, v.position))) best = v;
  };
  const visit = (sub: ReflectMessage, segments: Segment[], position: Position) => {
    if (ancestors.includes(sub.desc.typeName)) {
      const result = validator.validate(sub.desc, sub.message);
      if (result.kind === "error") throw result.error;
      const first = result.kind === "invalid" ? result.violations[0] : undefined;
      if (first) {
        consider({
          segments: [...segments, ...segmentsOfPath(first.field)],
          position: [...position, ...positionOfPath(first.field)],
          reason: reasonOf(first),
        });
      }
    }
    consider(findNestedViolation(validator, sub, segments, position, [...ancestors, sub.desc.typeName]));
  };
  for (const [fieldIndex, field] of msg.fields.entries()) {
    if (field.fieldKind === "scalar" || field.fieldKind === "enum" || !msg.isSet(field)) continue;
    const here = (index?: string): Segment[] => [...trail, { message: goMessageName(msg.desc), member: goFieldName(field.name), index }];
    const position = [...at, fieldIndex];
    if (field.fieldKind === "message") {
      visit(msg.get(field), here(), position);
    } else if (field.fieldKind === "list" && field.listKind === "message") {
      const list = msg.get(field);
      for (let i = 0; i < list.size; i++) visit(list.get(i) as ReflectMessage, here(`[${i}]`), [...position, i]);
    } else if (field.fieldKind === "map" && field.mapKind === "message") {
      for (const [key, value] of msg.get(field)) visit(value as ReflectMessage, here(`[${String(key)}]`), [...position, 0]);
    }
  }
  return best;
}

export interface RequestValidator {
  /** Throws a FieldViolation for the first broken rule; other failures throw plain errors. */
  validate(schema: DescMessage, message: Message): void;
}

export function createRequestValidator(): RequestValidator {
  const validator = createValidator({ failFast: true });
  const emailReach = new Map<string, boolean>();
  const cyclic = new Map<string, boolean>();
  return {
    validate(schema, message) {
      const result = validator.validate(schema, message);
      if (result.kind === "error") throw result.error;
      // the reflection walks only for requests that can carry an email address, or a cycle, at all
      let reach = emailReach.get(schema.typeName);
      if (reach === undefined) emailReach.set(schema.typeName, (reach = canHoldEmail(schema)));
      let cycle = cyclic.get(schema.typeName);
      if (cycle === undefined) cyclic.set(schema.typeName, (cycle = hasCycle(schema)));
      const email = reach ? findInvalidEmail(reflect(schema, message), [], []) : undefined;
      const nested = cycle ? findNestedViolation(validator, reflect(schema, message), [], [], [schema.typeName]) : undefined;
      const first = result.kind === "invalid" ? result.violations[0] : undefined;
      const candidates: NestedViolation[] = [];
      if (first) candidates.push({ segments: segmentsOfPath(first.field), position: positionOfPath(first.field), reason: reasonOf(first) });
      if (email) candidates.push({ segments: email.segments, position: email.position, reason: "value must be a valid email address" });
      if (nested) candidates.push(nested);
      // the earliest in checking order; on the same position the protovalidate rule, then the email rule
      const winner = candidates.reduce<NestedViolation | undefined>((w, c) => (w && isBefore(w.position, c.position) ? w : c), undefined);
      if (winner) throw new FieldViolation(formatSegments(winner.segments, winner.reason));
    },
  };
}

export function createValidationInterceptor(validator: RequestValidator = createRequestValidator()): Interceptor {
  return (next) => async (req) => {
    if (!req.stream) validator.validate(req.method.input, req.message);
    return next(req);
  };
}
