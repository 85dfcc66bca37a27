import { test } from "node:test";
import assert from "node:assert/strict";
import { checkPasswordLength, checkPasswordPolicy, DEFAULT_PASSWORD_POLICY, type PasswordPolicy } from "./password-policy.js";
import { DomainError } from "../errors.js";

const isError = (id: string) => (e: unknown) => e instanceof DomainError && e.id === id && e.kind === "InvalidArgument";

test("default policy is ZITADEL's: 8 bytes and all four classes", () => {
  assert.deepEqual({ ...DEFAULT_PASSWORD_POLICY }, {
    minLength: 8,
    hasLowercase: true,
    hasUppercase: true,
    hasNumber: true,
    hasSymbol: true,
  });
});

for (const pw of ["Analytical-1843", "Engine-Difference-2", "Aa1!Aa1!", "Aa1éééé"]) {
  test(`default policy accepts ${JSON.stringify(pw)}`, () => {
    assert.doesNotThrow(() => checkPasswordPolicy(pw, DEFAULT_PASSWORD_POLICY));
  });
}

const failures: Array<[string, string]> = [
  ["engine", "DOMAIN-HuJf6"], // too short, reported before the classes
  ["Aa1!", "DOMAIN-HuJf6"],
  ["weakpass", "DOMAIN-VoaRj"], // has lower, lacks upper
  ["WEAKPASS1!", "DOMAIN-co3Xw"],
  ["ÉÉÉÉAB1!", "DOMAIN-co3Xw"], // non-ASCII letters do not count as lower case
  ["weakpassA!", "DOMAIN-ZBv4H"],
  ["weakpassA1", "DOMAIN-ZDLwA"],
  ["éééé", "DOMAIN-co3Xw"], // 8 bytes: long enough, but no ASCII lower case
];

for (const [pw, id] of failures) {
  test(`default policy rejects ${JSON.stringify(pw)} with ${id}`, () => {
    assert.throws(() => checkPasswordPolicy(pw, DEFAULT_PASSWORD_POLICY), isError(id));
  });
}

test("minimum length counts UTF-8 bytes", () => {
  const policy: PasswordPolicy = { ...DEFAULT_PASSWORD_POLICY, minLength: 8 };
  assert.doesNotThrow(() => checkPasswordPolicy("éAb1!xy", policy)); // 7 characters, 8 bytes
  assert.throws(() => checkPasswordPolicy("eAb1!xy", policy), isError("DOMAIN-HuJf6")); // 7 bytes
});

test("a non-ASCII character counts as a symbol", () => {
  assert.doesNotThrow(() => checkPasswordPolicy("Abcdefg1é", DEFAULT_PASSWORD_POLICY));
});

test("disabled checks are skipped", () => {
  const lax: PasswordPolicy = { minLength: 0, hasLowercase: false, hasUppercase: false, hasNumber: false, hasSymbol: false };
  assert.doesNotThrow(() => checkPasswordPolicy("", lax));
  assert.doesNotThrow(() => checkPasswordPolicy("abc", { ...lax, hasLowercase: true, minLength: 3 }));
  assert.throws(() => checkPasswordPolicy("abc", { ...lax, hasSymbol: true }), isError("DOMAIN-ZDLwA"));
});

test("checkPasswordLength: 72 bytes pass, 73 fail, multi-byte characters count by bytes", () => {
  assert.doesNotThrow(() => checkPasswordLength("x".repeat(72)));
  assert.throws(() => checkPasswordLength("x".repeat(73)), isError("ROSTER-pw072"));
  assert.doesNotThrow(() => checkPasswordLength("é".repeat(36))); // 72 bytes
  assert.throws(() => checkPasswordLength("é".repeat(37)), isError("ROSTER-pw072")); // 37 chars, 74 bytes
  assert.throws(() => checkPasswordLength("x".repeat(80)), isError("ROSTER-pw072"));
});
