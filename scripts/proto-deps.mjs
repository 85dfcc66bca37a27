// Populates .proto-deps/ with the third-party .proto files our contract imports, so that
// `buf lint` and `buf generate` run offline without registry dependencies.
//
// - google/api/{annotations,http,field_behavior}.proto are copied from google-proto-files
//   (the package is far too large to be a buf module itself).
// - buf/validate/validate.proto ships in no package: it is re-printed from the descriptor
//   embedded in @bufbuild/protovalidate. Only the structure needed to compile against it is
//   printed (messages, fields, oneofs, enums, extensions); the CEL rule definitions are left
//   out because generated code links to the runtime's own copy of the descriptor.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isFieldSet } from "@bufbuild/protobuf";
import { FieldDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { file_buf_validate_validate } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = join(root, ".proto-deps");
const require = createRequire(import.meta.url);
const googleProtoFilesDir = dirname(require.resolve("google-proto-files/package.json"));

const GOOGLE_API_FILES = ["google/api/annotations.proto", "google/api/http.proto", "google/api/field_behavior.proto"];

// Writes only when the content changed, so repeated runs leave mtimes (and buf's cache) alone.
async function writeIfChanged(path, content) {
  const existing = await readFile(path, "utf8").catch(() => undefined);
  if (existing === content) return;
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
}

// google.protobuf.FieldDescriptorProto.Type values → proto keywords.
const SCALAR_TYPES = {
  1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32", 6: "fixed64", 7: "fixed32",
  8: "bool", 9: "string", 12: "bytes", 13: "uint32", 15: "sfixed32", 16: "sfixed64",
  17: "sint32", 18: "sint64",
};
const TYPE_STRING = 9;
const TYPE_GROUP = 10;
const TYPE_MESSAGE = 11;
const TYPE_BYTES = 12;
const TYPE_ENUM = 14;
const LABEL_REPEATED = 3;
const LABEL_REQUIRED = 2;
const MAX_FIELD_NUMBER = 536870911;

function typeName(field) {
  if (field.type === TYPE_MESSAGE || field.type === TYPE_ENUM) return field.typeName; // fully qualified, leading dot
  if (field.type === TYPE_GROUP) throw new Error(`groups are not supported (${field.name})`);
  const name = SCALAR_TYPES[field.type];
  if (!name) throw new Error(`unknown field type ${field.type} (${field.name})`);
  return name;
}

function quote(s) {
  return JSON.stringify(s);
}

function fieldLine(field, inOneof) {
  let label = "";
  if (!inOneof) {
    label = field.label === LABEL_REPEATED ? "repeated " : field.label === LABEL_REQUIRED ? "required " : "optional ";
  }
  const opts = [];
  if (isFieldSet(field, FieldDescriptorProtoSchema.field.defaultValue)) {
    opts.push(`default = ${field.type === TYPE_STRING || field.type === TYPE_BYTES ? quote(field.defaultValue) : field.defaultValue}`);
  }
  if (field.options?.deprecated) opts.push("deprecated = true");
  const suffix = opts.length ? ` [${opts.join(", ")}]` : "";
  return `${label}${typeName(field)} ${field.name} = ${field.number}${suffix};`;
}

function rangeText(start, endExclusive) {
  const end = endExclusive - 1;
  if (end === start) return String(start);
  return `${start} to ${end >= MAX_FIELD_NUMBER ? "max" : end}`;
}

function printEnum(e, indent) {
  const lines = [`${indent}enum ${e.name} {`];
  for (const v of e.value) lines.push(`${indent}  ${v.name} = ${v.number};`);
  lines.push(`${indent}}`);
  return lines;
}

function printMessage(msg, indent) {
  const inner = indent + "  ";
  const lines = [`${indent}message ${msg.name} {`];
  for (const e of msg.enumType) lines.push(...printEnum(e, inner));
  for (const n of msg.nestedType) lines.push(...printMessage(n, inner));
  const printedOneofs = new Set();
  for (const field of msg.field) {
    // Descriptors are proto2 messages: an unset oneof_index reads as 0, so ask for presence.
    if (!isFieldSet(field, FieldDescriptorProtoSchema.field.oneofIndex)) {
      lines.push(inner + fieldLine(field, false));
      continue;
    }
    const oneofIndex = field.oneofIndex;
    if (printedOneofs.has(oneofIndex)) continue;
    printedOneofs.add(oneofIndex);
    lines.push(`${inner}oneof ${msg.oneofDecl[oneofIndex].name} {`);
    const members = msg.field.filter(
      (f) => isFieldSet(f, FieldDescriptorProtoSchema.field.oneofIndex) && f.oneofIndex === oneofIndex,
    );
    for (const member of members) {
      lines.push(`${inner}  ${fieldLine(member, true)}`);
    }
    lines.push(`${inner}}`);
  }
  for (const r of msg.reservedRange) lines.push(`${inner}reserved ${rangeText(r.start, r.end)};`);
  if (msg.reservedName.length) lines.push(`${inner}reserved ${msg.reservedName.map(quote).join(", ")};`);
  for (const r of msg.extensionRange) lines.push(`${inner}extensions ${rangeText(r.start, r.end)};`);
  if (msg.extension.length) lines.push(...printExtensions(msg.extension, inner));
  lines.push(`${indent}}`);
  return lines;
}

function printExtensions(extensions, indent) {
  const lines = [];
  const byExtendee = new Map();
  for (const ext of extensions) {
    const list = byExtendee.get(ext.extendee) ?? [];
    list.push(ext);
    byExtendee.set(ext.extendee, list);
  }
  for (const [extendee, list] of byExtendee) {
    lines.push(`${indent}extend ${extendee} {`);
    for (const ext of list) lines.push(`${indent}  ${fieldLine(ext, false)}`);
    lines.push(`${indent}}`);
  }
  return lines;
}

function printFile(file) {
  const syntax = file.syntax === "" || file.syntax === undefined ? "proto2" : file.syntax;
  if (syntax !== "proto2" && syntax !== "proto3") throw new Error(`unsupported syntax ${syntax}`);
  const lines = [
    "// Generated by scripts/proto-deps.mjs from the descriptor embedded in @bufbuild/protovalidate.",
    "// Structure only (no CEL rule definitions). Do not edit.",
    `syntax = ${quote(syntax)};`,
    "",
    `package ${file.package};`,
    "",
  ];
  for (const dep of file.dependency) lines.push(`import ${quote(dep)};`);
  lines.push("");
  if (file.options?.goPackage) lines.push(`option go_package = ${quote(file.options.goPackage)};`, "");
  for (const e of file.enumType) lines.push(...printEnum(e, ""), "");
  for (const m of file.messageType) lines.push(...printMessage(m, ""), "");
  lines.push(...printExtensions(file.extension, ""));
  return lines.join("\n") + "\n";
}

async function main() {
  for (const rel of GOOGLE_API_FILES) {
    const content = await readFile(join(googleProtoFilesDir, rel), "utf8");
    await writeIfChanged(join(outDir, rel), content);
  }
  const validate = file_buf_validate_validate.proto;
  await writeIfChanged(join(outDir, validate.name), printFile(validate));
}

await main();
