import { test } from "node:test";
import assert from "node:assert/strict";
import { parseUrlTemplate, renderUrlTemplate } from "./url-template.js";
import { DomainError } from "../errors.js";

const values = { userId: "111", code: "ABC123", orgId: "222" };
const isError = (id: string) => (e: unknown) => e instanceof DomainError && e.id === id && e.kind === "InvalidArgument";

const rendered: Array<[string, string]> = [
  [
    "https://id.acme.example/verify?user={{.UserID}}&code={{.Code}}&org={{.OrgID}}",
    "https://id.acme.example/verify?user=111&code=ABC123&org=222",
  ],
  ["https://x.example/{{ .Code }}", "https://x.example/ABC123"],
  ["https://x.example/{{\t.Code\t}}", "https://x.example/ABC123"],
  ["https://x.example/{{.Code}}/{{.Code}}", "https://x.example/ABC123/ABC123"],
  ["https://x.example/static", "https://x.example/static"],
  ["HTTP://x.example/?a=}}&c={{.Code}}", "HTTP://x.example/?a=}}&c=ABC123"],
  ["http://{{.OrgID}}.x.example/{{.UserID}}", "http://222.x.example/111"],
];

for (const [template, expected] of rendered) {
  test(`renders ${JSON.stringify(template)}`, () => {
    assert.equal(renderUrlTemplate(parseUrlTemplate(template), values), expected);
    assert.equal(renderUrlTemplate(template, values), expected);
  });
}

const malformed = [
  "https://x.example/{{.Code",
  "https://x.example/{{.Code}",
  "https://x.example/{{}}",
  "https://x.example/{{ }}",
  "https://x.example/{{\t}}",
  "https://x.example/{{.Code}}{{",
];

for (const template of malformed) {
  test(`malformed ${JSON.stringify(template)} → DOMAIN-oGh5e`, () => {
    assert.throws(() => parseUrlTemplate(template), isError("DOMAIN-oGh5e"));
  });
}

const unsupported = [
  "https://id.acme.example/v?u={{.UserID}}&c={{.Code}}&l={{.Lang}}",
  "https://x.example/{{.LoginName}}",
  "https://x.example/{{.code}}",
  "https://x.example/{{- .Code}}",
  "https://x.example/{{.Code -}}",
  "https://x.example/{{.Code | urlquery}}",
  "https://x.example/{{urlquery .Code}}",
  "https://x.example/{{if .Code}}x{{end}}",
  "https://x.example/{{$x := .Code}}",
  "https://x.example/{{/* comment */}}",
  "https://x.example/{{.}}",
  "https://x.example/{{\n.Code}}",
  "https://x.example/{{.constructor}}",
  "javascript:alert({{.Code}})",
  "/verify?code={{.Code}}",
  "verify/{{.Code}}",
  "https:x.example/{{.Code}}",
  " https://x.example/{{.Code}}",
  "ftp://x.example/{{.Code}}",
  "{{.Code}}://x.example",
  "https://x.example:{{.UserID}}/",
  "",
];

for (const template of unsupported) {
  test(`unsupported ${JSON.stringify(template)} → DOMAIN-ieYa7`, () => {
    assert.throws(() => parseUrlTemplate(template), isError("DOMAIN-ieYa7"));
  });
}

test("rendering a string template validates it first", () => {
  assert.throws(() => renderUrlTemplate("https://x.example/{{.Lang}}", values), isError("DOMAIN-ieYa7"));
});
