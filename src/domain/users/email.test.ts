import { test } from "node:test";
import assert from "node:assert/strict";
import { checkPlainAddress, isEmailFieldValid, isHostName } from "./email.js";
import { DomainError } from "../errors.js";

const fieldValid = [
  "ada@king.example",
  "ada.lovelace+test@acme.example",
  "first.o'neil@sub-domain.example.co",
  '"john doe"@example.com',
  '"a\\"b"@example.com',
  "ada@localhost",
  "ada@123.example",
  "jürgen@example.ch",
  "Ada <ada@king.example>",
  '"Lovelace, Ada" <ada@king.example>',
  "Ada A. Lovelace <ada@king.example>",
  "<ada@king.example>",
  " ada@king.example ",
  "ada@king.example (Ada)",
  `${"a".repeat(64)}@example.com`,
  `x@${"a".repeat(63)}.example`,
];

const fieldInvalid = [
  "",
  "ada",
  "ada@",
  "@king.example",
  "ada@@king.example",
  "ada@king..example",
  ".ada@king.example",
  "ada.@king.example",
  "ada..b@king.example",
  "ada@king.example.",
  "ada@-king.example",
  "ada@king-.example",
  "ada@king_x.example",
  "ada@[192.0.2.1]",
  "ada@bücher.example",
  "ada lovelace@king.example",
  "ada@king.example, bob@king.example",
  "Ada <ada@king.example",
  "Ada ada@king.example",
  "Ada <ada@king.example> x",
  '"unterminated@king.example',
  '""@king.example',
  "ada@king.example (unclosed",
  "ada\n@king.example",
  "ada@king.example\r\n",
  `${"a".repeat(65)}@example.com`,
  `x@${"a".repeat(64)}.example`,
  `${"a".repeat(60)}@${Array(4).fill("b".repeat(63)).join(".")}`,
  "Group: ada@king.example;",
];

for (const value of fieldValid) {
  test(`field rule accepts ${JSON.stringify(value)}`, () => {
    assert.equal(isEmailFieldValid(value), true);
  });
}

for (const value of fieldInvalid) {
  test(`field rule rejects ${JSON.stringify(value)}`, () => {
    assert.equal(isEmailFieldValid(value), false);
  });
}

test("local part is limited in bytes, not characters", () => {
  assert.equal(isEmailFieldValid(`${"ü".repeat(32)}@example.com`), true);
  assert.equal(isEmailFieldValid(`${"ü".repeat(33)}@example.com`), false);
});

test("the whole address is limited to 254 bytes", () => {
  const domain = [63, 63, 63, 57].map((n) => "d".repeat(n)).join("."); // 249 chars
  assert.equal(isEmailFieldValid(`abcd@${domain}`), true); // 254
  assert.equal(isEmailFieldValid(`abcde@${domain}`), false); // 255
});

test("host names: label and length limits", () => {
  assert.equal(isHostName("a"), true);
  assert.equal(isHostName("a-b.c"), true);
  assert.equal(isHostName(""), false);
  assert.equal(isHostName("a..b"), false);
  assert.equal(isHostName(`${"a.".repeat(126)}a`), true); // 253
  assert.equal(isHostName(`${"a.".repeat(126)}ab`), false); // 254
});

const isError = (id: string) => (e: unknown) => e instanceof DomainError && e.id === id && e.kind === "InvalidArgument";

test("checkPlainAddress returns a bare address", () => {
  assert.equal(checkPlainAddress("ada@king.example"), "ada@king.example");
  assert.equal(checkPlainAddress('"john doe"@example.com'), '"john doe"@example.com');
});

test("checkPlainAddress: an angle address without display name is plain (like Go's net/mail)", () => {
  assert.equal(checkPlainAddress("<ada@king.example>"), "ada@king.example");
});

for (const value of ["Ada <ada@king.example>", '"Ada" <ada@king.example>', "ada@king.example (Ada)", "Minnie <minnie@example.com>"]) {
  test(`checkPlainAddress rejects display name in ${JSON.stringify(value)} with EMAIL-599GV`, () => {
    assert.throws(() => checkPlainAddress(value), isError("EMAIL-599GV"));
  });
}

for (const value of ["ada", "ada@", "Ada <ada@king.example", ""]) {
  test(`checkPlainAddress rejects unparsable ${JSON.stringify(value)} with EMAIL-599BI`, () => {
    assert.throws(() => checkPlainAddress(value), isError("EMAIL-599BI"));
  });
}
